"""Choosing the language model, and the embedded offline model."""
