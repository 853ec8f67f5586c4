"""Pick the model the agent talks to, from the settings."""

from __future__ import annotations

from google.adk.models.base_llm import BaseLlm

from data_science.config import Settings
from data_science.offline.model import OfflineModel


def model_name(settings: Settings) -> str:
    """The LiteLLM model string in use, or 'offline'."""
    if settings.LLM_MODEL:
        return settings.LLM_MODEL
    if settings.USE_GEMINI:
        return f"gemini/{settings.GEMINI_MODEL}"
    if settings.OPENAI_API_KEY:
        return f"openai/{settings.OPENAI_MODEL}"
    return OfflineModel().model


def build_model(settings: Settings) -> BaseLlm:
    """LLM_MODEL wins; then USE_GEMINI; then OPENAI_API_KEY; with none, the offline model.

    Every hosted model goes through LiteLLM, so temperature and max tokens (set on the agent's
    generation config) reach any provider the same way; `ResilientLiteLlm` adds retries, a
    deadline and a plain reply when the provider cannot answer.
    """
    name = model_name(settings)
    if name == OfflineModel().model:
        return OfflineModel()
    keys = {"gemini/": settings.GOOGLE_API_KEY, "openai/": settings.OPENAI_API_KEY}
    api_key = next((key for prefix, key in keys.items() if name.startswith(prefix)), None)
    # Other providers read their own variables (ANTHROPIC_API_KEY, …) inside LiteLLM.
    extra = {"api_key": api_key} if api_key else {}
    if settings.LLM_API_BASE:
        extra["api_base"] = settings.LLM_API_BASE
    # Imported here: LiteLLM takes seconds to import, and the offline model never needs it.
    from data_science.llm.resilient import ResilientLiteLlm, RetryPolicy

    return ResilientLiteLlm(name, policy=RetryPolicy.from_settings(settings), **extra)
