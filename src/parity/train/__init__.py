"""Training tracks: datasets built from the corpus (never the ruler), LoRA recipes on TRL + PEFT,
adapters registered in the store, and export of a merged GGUF for llama.cpp."""
