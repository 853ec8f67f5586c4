"""The ADK agent and app. `adk web`, `adk api_server` and `main.py` all serve `app` from here."""

from __future__ import annotations

import asyncio

from google.adk.agents import LlmAgent
from google.adk.agents.readonly_context import ReadonlyContext
from google.adk.apps import App
from google.genai import types

from data_science.config import APP_NAME, Settings, get_settings
from data_science.model_view import MAX_NAME_CHARACTERS, for_model, summary_redactor
from data_science.models.selection import build_model
from data_science.plugins.attachments import AttachmentIntakePlugin
from data_science.plugins.context_budget import ContextBudgetPlugin
from data_science.plugins.interrupted_calls import InterruptedCallsPlugin
from data_science.plugins.llm_usage import LlmUsagePlugin
from data_science.plugins.observability import ObservabilityPlugin
from data_science.plugins.tool_errors import ToolErrorsPlugin
from data_science.prompts import render_instruction
from data_science.tools import ALL_TOOLS
from data_science.workspace import Workspace, describe_catalogue


async def session_instruction(context: ReadonlyContext) -> str:
    """The instruction with this session's datasets, so the model knows about new uploads."""
    workspace = Workspace(get_settings(), context.user_id, context.session.id)
    records = await asyncio.to_thread(workspace.items)
    redactor = await summary_redactor(workspace)
    catalogue = for_model(describe_catalogue(records), redactor, limit=MAX_NAME_CHARACTERS)
    return render_instruction(catalogue, summary_mode=redactor is not None)


def build_agent(settings: Settings) -> LlmAgent:
    return LlmAgent(
        name="data_scientist",
        description="Profiles, charts and models the person's uploaded data with tested tools.",
        model=build_model(settings),
        instruction=session_instruction,
        tools=list(ALL_TOOLS),
        generate_content_config=types.GenerateContentConfig(
            temperature=settings.LLM_TEMPERATURE, max_output_tokens=settings.LLM_MAX_TOKENS
        ),
    )


def build_app(settings: Settings) -> App:
    """The ADK app with its plugins; creates the data directories every entry point needs."""
    settings.create_data_dirs()
    # Observability first: the other plugins' log lines then carry the turn's ids. The usage
    # plugin before the context budget: a call it refuses need not be fitted.
    return App(
        name=APP_NAME,
        root_agent=build_agent(settings),
        plugins=[
            ObservabilityPlugin(),
            InterruptedCallsPlugin(settings),
            AttachmentIntakePlugin(),
            LlmUsagePlugin(settings),
            ContextBudgetPlugin(settings),
            ToolErrorsPlugin(settings),
        ],
    )


app = build_app(get_settings())
root_agent = app.root_agent
