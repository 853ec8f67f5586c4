"""Code execution in the product: who is offered `run_python`, and the real app with a scripted
hosted model (tests/fake_llm.py) choosing it, its result reaching the chat, hostile code answered
with clear errors while the server keeps serving. Where user namespaces do not work, the tool
is not offered and the log says why (a real namespace without them, not a stand-in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from google.adk.agents.invocation_context import InvocationContext
from google.adk.agents.readonly_context import ReadonlyContext
from google.adk.sessions.in_memory_session_service import InMemorySessionService

from data_science.agent import build_agent
from data_science.config import Settings
from data_science.tools import code as code_tool
from tests.conftest import call_error
from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Text, ToolCalls
from tests.test_llm_hosted import fake, final_text, function_responses, hosted_chat

__all__ = ["fake"]  # the fixture, used by name

PROJECT_ROOT = Path(__file__).resolve().parents[1]
HOSTED = {"LLM_MODEL": "openai/gpt-4o", "OPENAI_API_KEY": "sk-fake-test-key-1234"}


def tool_names(settings: Settings) -> set[str]:
    return {getattr(tool, "__name__", "") for tool in build_agent(settings).tools}


@pytest.mark.parametrize(
    ("changes", "offered"),
    [
        ({}, False),  # the offline model
        (HOSTED, True),
        ({**HOSTED, "SUMMARY_MODE_ONLY": True}, False),
        ({**HOSTED, "ENABLE_CODE_EXECUTION": False}, False),
    ],
    ids=["offline", "hosted", "hosted-summary-mode", "hosted-disabled"],
)
async def test_run_python_goes_to_hosted_models_only_and_the_instruction_says_when(
    settings: Settings, changes: dict[str, Any], offered: bool
) -> None:
    configured = settings.model_copy(update=changes)
    names = tool_names(configured)
    assert ("run_python" in names) is offered
    assert {"list_data_files", "train", "plot"} <= names  # everything else, as before
    agent = build_agent(configured)
    sessions = InMemorySessionService()
    session = await sessions.create_session(app_name="data_science", user_id="alice")
    invocation = InvocationContext(
        session_service=sessions, invocation_id="i", agent=agent, session=session
    )
    instruction, _ = await agent.canonical_instruction(ReadonlyContext(invocation))
    assert ("`run_python`" in instruction) is offered


WITHOUT_USER_NAMESPACES = """
import os, sys
open("/proc/sys/user/max_user_namespaces", "w").write("0")  # as a locked-down container
os.execv(sys.executable, [sys.executable, "-c", sys.argv[1]])
"""
BUILD_AGENT = """
import json
from data_science.agent import build_agent
from data_science.config import load_settings
from data_science.observability.logging import configure_logging
settings = load_settings()
configure_logging(settings)
print(json.dumps(sorted(tool.__name__ for tool in build_agent(settings).tools)))
"""


def test_without_user_namespaces_the_tool_is_not_offered_and_the_log_says_why(
    tmp_path: Path,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    finished = subprocess.run(
        [
            *["unshare", "--user", "--map-root-user", sys.executable, "-c"],
            *[WITHOUT_USER_NAMESPACES, BUILD_AGENT],
        ],
        cwd=PROJECT_ROOT,
        env={**environment, **HOSTED, "DATA_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    tools = json.loads(finished.stdout)
    assert "run_python" not in tools and "train" in tools
    [line] = [
        record
        for text in finished.stderr.splitlines()
        if text.startswith("{")
        and (record := json.loads(text))["event"] == "code_execution.unavailable"
    ]
    assert line["level"] == "warning"
    assert "user namespaces do not work here" in line["reason"]


async def test_the_tool_itself_refuses_where_the_sandbox_does_not_work(
    tool_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The probe's verdict comes from the real broken environment in the test above; here only
    # the tool's own answer to it, should a call arrive anyway.
    monkeypatch.setattr(code_tool, "sandbox_problem", lambda: "bubblewrap was not found")
    refused = await call_error(
        code_tool.run_python,
        tool_context,
        "code_execution_unavailable",
        says=["verify_production.py", "other tools"],
        code="print(1)",
    )
    assert "bubblewrap" not in refused["message"]  # operators' details stay in the log


# The real app with a scripted hosted model ---------------------------------------------------


def birds_csv(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "species": [("Adelie", "Gentoo", "Chinstrap")[i % 3] for i in range(90)],
            "mass": [3000 + (37 * i) % 1100 for i in range(90)],
        }
    )
    path = tmp_path / "birds.csv"
    frame.to_csv(path, index=False)
    return path, frame


MAD_CODE = """
import json
import matplotlib.pyplot as plt
mad = df.groupby("species")["mass"].apply(lambda s: (s - s.median()).abs().median())
save_dataset(mad.rename("mass_mad"), "mass MAD by species")
mad.plot.bar()
save_chart("Mass MAD by species")
print(json.dumps(mad.round(3).to_dict()))
"""


def chooses_run_python(dataset: str) -> Any:
    """A hosted model that writes code when the request fits no tool, then reports its output."""

    def respond(request: Recorded) -> Reply:
        results = request.tool_results()
        if "call_code" in results:
            printed = json.loads(results["call_code"])["stdout"][-1]
            return Text(f"Median absolute deviation of mass by species: {printed}")
        offered = {tool["function"]["name"] for tool in request.body.get("tools", [])}
        system = request.messages[0]["content"] if request.messages else ""
        if "run_python" not in offered and "open_tools" in offered and "`run_python`" in system:
            return ToolCalls([Call("open_tools", {"families": ["code"]})])  # its family first
        if "run_python" in offered and "`run_python`" in json.dumps(system):
            arguments = {"code": MAD_CODE, "dataset_ids": [dataset]}
            return ToolCalls([Call("run_python", arguments, id="call_code")])
        return Text("I have no tool for that.")

    return respond


async def test_a_hosted_model_writes_code_for_what_no_tool_does_and_the_result_reaches_the_chat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    path, frame = birds_csv(tmp_path)
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        dataset = await chat.upload(path)
        fake.responder = chooses_run_python(dataset)
        events = await chat.say("what is the median absolute deviation of mass per species?")
        result = function_responses(events)["call_code"]
        expected = frame.groupby("species")["mass"].apply(lambda s: (s - s.median()).abs().median())
        assert json.loads(result["stdout"][-1]) == expected.round(3).to_dict()
        assert final_text(events).startswith("Median absolute deviation of mass by species: {")
        [chart] = result["charts"]
        artifact = await chat.http.get(
            f"/apps/data_science/users/alice/sessions/{chat.session_id}/artifacts/{chart['chart']}"
        )
        assert (
            artifact.status_code == 200 and artifact.json()["inlineData"]["mimeType"] == "image/png"
        )

        # The dataset it saved is a dataset like any other: the next turn profiles it.
        [made] = result["datasets"]
        fake.responder = lambda _: Text("done")
        fake.script(
            ToolCalls([Call("analyze_dataset", {"dataset_id": made["dataset_id"]}, id="c2")]),
            Text("Three species."),
        )
        events = await chat.say("describe that new table")
        profile = function_responses(events)["c2"]
        assert profile["status"] == "ok" and profile["rows"] == 3
        records = chat.audit("tool")
    code_record = next(record for record in records if record["tool"] == "run_python")
    assert code_record["outcome"] == "ok"
    assert code_record["arguments"]["code"] == {"chars": len(MAD_CODE)}  # never the code itself


HOSTILE = {
    "host_file": "print(open('/etc/passwd').read())",
    "data_dir": "import os\nprint(os.listdir(DATA_DIR))",
    "secret": "import os\nprint(os.environ['OPENAI_API_KEY'])",
    "other_port": "import socket\nsocket.create_connection(('127.0.0.1', PORT), timeout=2)",
    "endless": "while True:\n    pass",
    "write_outside": "import sysconfig\nopen(sysconfig.get_path('purelib') + '/evil.py', 'w')",
}


async def test_hostile_code_through_the_app_gets_clear_errors_and_the_server_keeps_serving(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, CODE_TIMEOUT_SECONDS="10"
    ) as chat:
        places = {"PORT": str(fake.port), "DATA_DIR": repr(str(chat.settings.DATA_DIR))}
        calls = []
        for name, code in HOSTILE.items():
            for place, value in places.items():
                code = code.replace(place, value)
            calls.append(Call("run_python", {"code": code}, id=name))
        fake.script(ToolCalls(calls), Text("None of that worked."))
        events = await chat.say("try some things")
        results = function_responses(events)
        assert final_text(events) == "None of that worked."
        errors = {name: (result["error"], result["message"]) for name, result in results.items()}
        assert {name: error for name, (error, _) in errors.items()} == {
            name: ("timeout" if name == "endless" else "code_failed") for name in HOSTILE
        }
        for name, needle in [
            ("host_file", "FileNotFoundError"),
            ("data_dir", "FileNotFoundError"),
            ("secret", "KeyError: 'OPENAI_API_KEY'"),
            ("other_port", "ConnectionRefusedError"),
            ("write_outside", "Read-only file system"),
        ]:
            assert needle in errors[name][1], errors[name]
        assert "sk-fake" not in json.dumps(results)
        assert (await chat.http.get("/healthz")).status_code == 200
        fake.script(Text("still here"))
        assert final_text(await chat.say("hello")) == "still here"
