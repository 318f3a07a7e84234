"""What test modules share: the real command line (`cli`), workspace set-up (`workspace`), real servers
(`servers`) and a scripted model (`scripted`). Fixtures live in tests/conftest.py; nothing imports it."""
