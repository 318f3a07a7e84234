"""What test modules share: the real command line (`cli`), workspace set-up (`workspace`), real servers
(`servers`), llama-cpp-python itself (`llama`), experiments written straight into a store (`store`) and a
scripted model (`scripted`). Fixtures live in tests/conftest.py; nothing imports it."""
