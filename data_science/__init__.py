"""The data-science agent: an ADK agent package (`adk web` / `adk api_server` load `agent`)."""

from data_science import agent

__all__ = ["agent"]
