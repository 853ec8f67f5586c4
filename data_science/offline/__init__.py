"""The embedded offline model: a rule-based `BaseLlm` (intents read requests, replies explain)."""
