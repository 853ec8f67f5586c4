"""The ADK agent and app. `main.py` (through `server/app.py`), `adk web` and `adk api_server`
all serve an app built by `build_app(settings)`.

The server builds it from the settings it was given. `adk web .` and `adk api_server .` look for
a module attribute `app` (or `root_agent`) instead: those two are built on first access (a
PEP 562 module `__getattr__`) from `load_settings()`, so importing this module builds nothing,
creates no directory and changes no ADK flag.
"""

from __future__ import annotations

import functools
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.agents.readonly_context import ReadonlyContext
from google.adk.apps import App
from google.adk.models.base_llm import BaseLlm
from google.genai import types
from pydantic import Field

from data_science.config import APP_NAME, Settings, load_settings
from data_science.llm.model_view import MAX_NAME_CHARACTERS, for_model, summary_redactor
from data_science.llm.selection import build_model
from data_science.observability.logging import get_logger
from data_science.offline.model import OfflineModel
from data_science.plugins.attachments import AttachmentIntakePlugin
from data_science.plugins.context_budget import ContextBudgetPlugin
from data_science.plugins.interrupted_calls import InterruptedCallsPlugin
from data_science.plugins.llm_usage import LlmUsagePlugin
from data_science.plugins.observability import ObservabilityPlugin
from data_science.plugins.tool_errors import ToolErrorsPlugin
from data_science.plugins.tool_families import ToolFamiliesPlugin
from data_science.prompts import render_instruction
from data_science.runtime import workers
from data_science.runtime.sandbox import sandbox_problem
from data_science.runtime.threads import run_blocking
from data_science.storage.workspace import Workspace, describe_catalogue
from data_science.tools import ALL_TOOLS, HOSTED_ONLY_TOOLS, ROUTER_TOOLS
from data_science.tools.router import offered_families

ENTRY_POINTS = frozenset({"app", "root_agent"})  # what ADK's agent loader looks for
log = get_logger(__name__)


class DataScientist(LlmAgent):
    """The agent, holding the settings it was built from.

    ADK hands each tool the running invocation, this agent included, through its `ToolContext`
    (as it hands it the session and the artifact store); the tools read their settings there
    (`tools.base.settings_for`). So the settings never appear in a tool's signature, which ADK
    turns into the declaration the model sees, and no tool falls back on a process-wide copy.
    """

    settings: Settings = Field(exclude=True, repr=False)


async def session_instruction(
    settings: Settings, families: dict[str, list[str]], context: ReadonlyContext
) -> str:
    """The instruction with the agent's tool families and this session's datasets, so the
    model knows about new uploads."""
    workspace = Workspace(settings, context.user_id, context.session.id)
    records = await run_blocking(workspace.items)
    redactor = await summary_redactor(workspace)
    catalogue = for_model(describe_catalogue(records), redactor, limit=MAX_NAME_CHARACTERS)
    return render_instruction(catalogue, families, summary_mode=redactor is not None)


def offers_code_execution(settings: Settings, model: BaseLlm) -> bool:
    """Whether the agent gets `run_python`: a hosted model, ENABLE_CODE_EXECUTION on, summary
    mode off (code could print cells), and a sandbox that works here, probed once a process.

    Where the sandbox does not work the tool is simply not offered (and the log says why):
    code never runs unsandboxed.
    """
    if isinstance(model, OfflineModel):
        return False
    if not settings.ENABLE_CODE_EXECUTION or settings.SUMMARY_MODE_ONLY:
        return False
    if (problem := sandbox_problem()) is not None:
        log.warning("code_execution.unavailable", reason=problem)
        return False
    return True


def build_agent(settings: Settings) -> DataScientist:
    """The agent. A hosted model also gets `open_tools`: it is sent only the declarations of the
    tool families it opened (plugins/tool_families.py); the offline model reads none of them."""
    model = build_model(settings)
    hosted = not isinstance(model, OfflineModel)
    code_execution = offers_code_execution(settings, model)
    tools = [
        *ALL_TOOLS,
        *(HOSTED_ONLY_TOOLS if code_execution else []),
        *(ROUTER_TOOLS if hosted else []),
    ]
    families = offered_families({function.__name__ for function in tools})
    return DataScientist(
        name="data_scientist",
        description="Profiles, charts and models the person's uploaded data with tested tools.",
        model=model,
        instruction=functools.partial(session_instruction, settings, families),
        tools=[*tools],
        generate_content_config=types.GenerateContentConfig(
            temperature=settings.LLM_TEMPERATURE, max_output_tokens=settings.LLM_MAX_TOKENS
        ),
        settings=settings,
    )


def build_app(settings: Settings) -> App:
    """The ADK app with its plugins; creates the data directories every entry point needs."""
    settings.create_data_dirs()
    # Observability first: the other plugins' log lines then carry the turn's ids. Tool families
    # before the usage plugin, which then counts the request as it is sent, and before the tool
    # errors, so that even a refused call opens its family. The usage plugin before the context
    # budget: a call it refuses need not be fitted.
    return App(
        name=APP_NAME,
        root_agent=build_agent(settings),
        plugins=[
            ObservabilityPlugin(settings),
            InterruptedCallsPlugin(settings),
            AttachmentIntakePlugin(settings),
            ToolFamiliesPlugin(settings),
            LlmUsagePlugin(settings),
            ContextBudgetPlugin(settings),
            ToolErrorsPlugin(settings),
        ],
    )


def __getattr__(name: str) -> Any:
    """`app` and `root_agent` for ADK's agent loader, built once, when it first asks."""
    if name not in ENTRY_POINTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    app = build_app(load_settings())
    globals().update(app=app, root_agent=app.root_agent)
    # `adk web` and `adk api_server` run none of main.py's start-up: start the worker processes
    # now (in the background), so that the first request does not wait for them.
    workers.start_warm_up()
    return globals()[name]
