"""The marks the hosted-model wrapper leaves on what it returns, for the plugins to read.

A leaf module (no imports), so a plugin that reads a mark does not pull in LiteLLM, and the
writer (`llm/resilient.py`) and the readers (`plugins/llm_usage.py`, `plugins/tool_errors.py`)
share one spelling.
"""

# Key of `LlmResponse.custom_metadata` holding the usage record of the call that ended.
CALL_METADATA_KEY = "llm_call"
# Key of a function call's arguments marking arguments that were not a JSON object.
INVALID_ARGUMENTS_KEY = "_invalid_json_arguments"
