"""The data-science agent, an ADK agent package: `adk web` and `adk api_server` load `agent.app`."""
