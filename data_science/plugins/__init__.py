"""ADK plugins registered on the app (so `adk web`, `adk api_server` and main.py all run them)."""
