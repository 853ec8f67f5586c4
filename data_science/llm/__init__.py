"""The language model's side: choosing it, the resilient hosted wrapper, what it may see of data."""
