"""parity: specialize a small local model on one narrow task and prove how close it got."""

__version__ = "0.1.0"
