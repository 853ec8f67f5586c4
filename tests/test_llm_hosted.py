"""The hosted-model path, end to end: the real app, the real LiteLLM client, real HTTP to a fake
provider on 127.0.0.1 (tests/fake_llm.py), and assertions on what went over the wire.

Most tests run the app in-process over ASGI (fast, and its metrics and monkeypatches are
visible); one runs `main.py` in its own process.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import litellm
import pandas as pd
import pytest
from prometheus_client import REGISTRY

from data_science.config import Settings, load_settings
from data_science.llm.resilient import UNAVAILABLE_MESSAGE
from tests.conftest import LiveServer
from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Slow, Status, Text, ToolCalls

APP = "data_science"
API_KEY = "sk-fake-test-key-1234"
HOSTED_ENV = {
    "LLM_MODEL": "openai/gpt-4o",  # in LiteLLM's price map, so costs are real estimates
    "OPENAI_API_KEY": API_KEY,
    "LLM_RETRY_BASE_SECONDS": "0.01",
    "LLM_TIMEOUT_SECONDS": "5",
    "LOG_LEVEL": "WARNING",
}
CLEARED = ("LLM_MODEL", "OPENAI_API_KEY", "USE_GEMINI", "GOOGLE_API_KEY", "SESSION_SERVICE_URI")


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@dataclass
class Chat:
    """One chat session of user alice on the in-process app."""

    http: httpx.AsyncClient
    settings: Settings
    session_id: str
    user: str = "alice"

    async def say(self, text: str, *, stream: bool = False) -> list[dict[str, Any]]:
        """One turn through POST /run (or /run_sse when streaming); the events."""
        body = {
            "app_name": APP,
            "user_id": self.user,
            "session_id": self.session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]},
            "streaming": stream,
        }
        response = await self.http.post("/run_sse" if stream else "/run", json=body)
        assert response.status_code == 200, response.text
        if not stream:
            return list(response.json())
        return [
            json.loads(line.removeprefix("data: "))
            for line in response.text.splitlines()
            if line.startswith("data: ")
        ]

    async def upload(self, path: Path) -> str:
        with path.open("rb") as handle:
            response = await self.http.post(
                "/api/uploads",
                data={"user_id": self.user, "session_id": self.session_id},
                files={"file": (path.name, handle, "text/csv")},
            )
        assert response.status_code == 201, response.text
        return str(response.json()["file_id"])

    async def stored(self) -> dict[str, Any]:
        url = f"/apps/{APP}/users/{self.user}/sessions/{self.session_id}"
        response = await self.http.get(url)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def audit(self, action: str) -> list[dict[str, Any]]:
        lines = self.settings.audit_log_path.read_text(encoding="utf-8").splitlines()
        return [record for line in lines if (record := json.loads(line))["action"] == action]


@asynccontextmanager
async def hosted_chat(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, base: str, **env: str
) -> AsyncIterator[Chat]:
    """The real app in-process, configured for a hosted model at `base`, with a new session."""
    from data_science.server.app import create_app

    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    settings_env = {**HOSTED_ENV, "LLM_API_BASE": base, "DATA_DIR": str(tmp_path / "data"), **env}
    for name, value in settings_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", timeout=120
    ) as http:
        created = await http.post(f"/apps/{APP}/users/alice/sessions", json={})
        assert created.status_code == 200, created.text
        yield Chat(http, settings, created.json()["id"])


def final_text(events: list[dict[str, Any]]) -> str:
    texts = [
        part["text"]
        for event in events
        if not event.get("partial") and event.get("content")
        for part in event["content"].get("parts", [])
        if part.get("text")
    ]
    return texts[-1] if texts else ""


def function_responses(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """call id -> the tool result the app recorded for it."""
    return {
        part["functionResponse"]["id"]: part["functionResponse"]["response"]
        for event in events
        if not event.get("partial") and event.get("content")
        for part in event["content"].get("parts", [])
        if part.get("functionResponse")
    }


def result_of(request: Recorded, call_id: str) -> dict[str, Any]:
    """The tool result for `call_id` as the model received it in `request`."""
    results = request.tool_results()
    assert call_id in results, f"no tool message for {call_id}: {sorted(results)}"
    return dict(json.loads(results[call_id]))


def penguin_like_csv(tmp_path: Path, rows: int = 60) -> Path:
    path = tmp_path / "birds.csv"
    pd.DataFrame(
        {
            "species": [("Adelie", "Gentoo", "Chinstrap")[i % 3] for i in range(rows)],
            "mass": [3000 + 17 * i for i in range(rows)],
            "wing": [180 + i % 25 for i in range(rows)],
        }
    ).to_csv(path, index=False)
    return path


def sample(name: str, labels: dict[str, str]) -> float:
    """The sum of `name`'s samples whose labels include `labels` (OpenTelemetry adds more)."""
    return sum(
        point.value
        for metric in REGISTRY.collect()
        for point in metric.samples
        if point.name == name and labels.items() <= point.labels.items()
    )


# Tool calls -------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_parallel_tool_calls_are_all_run_and_each_answered_under_its_own_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM, stream: bool
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        dataset = await chat.upload(penguin_like_csv(tmp_path))
        fake.script(
            ToolCalls(
                [
                    Call("list_data_files", {}, id="call_list"),
                    Call("analyze_dataset", {"dataset_id": dataset}, id="call_profile"),
                    Call(
                        "value_counts", {"dataset_id": dataset, "column": "species"}, id="call_vc"
                    ),
                ]
            ),
            Text("Three species, 20 birds each."),
        )
        events = await chat.say("what is in my file?", stream=stream)
    first, second = fake.chat_requests()
    assert first.body.get("stream", False) is stream
    assert final_text(events) == "Three species, 20 birds each."
    assert set(second.assistant_tool_call_ids()) == {"call_list", "call_profile", "call_vc"}
    assert result_of(second, "call_list")["datasets"][0]["id"] == dataset
    assert result_of(second, "call_profile")["status"] == "ok"
    counts = {row["value"]: row["count"] for row in result_of(second, "call_vc")["values"]}
    assert counts == {"Adelie": 20, "Gentoo": 20, "Chinstrap": 20}


async def test_a_call_to_an_unknown_tool_is_answered_with_an_error_result_naming_the_real_tools(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        fake.script(
            ToolCalls([Call("run_shell", {"command": "cat /etc/passwd"}, id="call_shell")]),
            Text("I cannot do that."),
        )
        events = await chat.say("run a shell command")
        audited = chat.audit("tool")
    result = result_of(fake.chat_requests()[1], "call_shell")
    assert result["status"] == "error" and result["error"] == "unknown_tool"
    assert "list_data_files" in result["message"]
    assert final_text(events) == "I cannot do that."
    assert [(r["tool"], r["outcome"]) for r in audited] == [("run_shell", "unknown_tool")]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_arguments_that_are_not_json_are_answered_with_an_error_and_good_calls_still_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM, stream: bool
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        fake.script(
            ToolCalls(
                [
                    Call("preview_rows", '{"dataset_id": "ds_1", "n": 5', id="call_cut"),
                    Call("list_data_files", {}, id="call_fine"),
                ]
            ),
            Text("Let me try that again."),
        )
        events = await chat.say("show me rows", stream=stream)
    second = fake.chat_requests()[1]
    broken = result_of(second, "call_cut")
    assert broken["error"] == "invalid_arguments"
    assert "not a JSON object" in broken["message"] and '"n": 5' in broken["message"]
    assert result_of(second, "call_fine")["status"] == "ok"
    assert final_text(events) == "Let me try that again."


async def test_arguments_that_do_not_fit_the_tool_are_answered_with_invalid_arguments(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        dataset = await chat.upload(penguin_like_csv(tmp_path))
        fake.script(
            ToolCalls(
                [
                    Call("preview_rows", {"dataset_id": dataset, "n": "lots"}, id="call_type"),
                    Call("preview_rows", {"n": 3}, id="call_missing"),
                    Call("preview_rows", {"dataset_id": dataset, "colour": "red"}, id="call_extra"),
                    Call("preview_rows", {"dataset_id": dataset, "n": "3"}, id="call_coerced"),
                ]
            ),
            Text("Fixed."),
        )
        await chat.say("preview")
    second = fake.chat_requests()[1]
    wrong_type = result_of(second, "call_type")
    assert wrong_type["error"] == "invalid_arguments" and "'n'" in wrong_type["message"]
    missing = result_of(second, "call_missing")
    assert missing["error"] == "invalid_arguments" and "dataset_id" in missing["message"]
    extra = result_of(second, "call_extra")
    assert extra["error"] == "invalid_arguments" and "'colour'" in extra["message"]
    assert "dataset_id, n, position, columns" in extra["message"]
    coerced = result_of(second, "call_coerced")  # "3" is a fine int: converted, not refused
    assert coerced["status"] == "ok" and len(coerced["rows"]) == 3


async def test_a_tool_that_raises_gives_the_model_an_error_result_and_leaves_an_audit_record(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    from data_science.tools import data

    def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        monkeypatch.setattr(data, "describe_catalogue", broken)
        fake.script(ToolCalls([Call("list_data_files", {}, id="call_boom")]), Text("Sorry."))
        events = await chat.say("list my files")
        audited = chat.audit("tool")
    result = result_of(fake.chat_requests()[1], "call_boom")
    assert result["error"] == "internal_error" and "RuntimeError" in result["message"]
    assert "disk on fire" not in json.dumps(events)  # no exception text or trace in the chat
    assert final_text(events) == "Sorry."
    assert [(r["tool"], r["outcome"]) for r in audited] == [("list_data_files", "internal_error")]


# Faults -----------------------------------------------------------------------------------


async def test_a_429_is_retried_after_the_seconds_its_retry_after_header_asks_for(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        fake.script(Status(429, {"Retry-After": "1"}), Text("Here I am."))
        events = await chat.say("hello")
    first, second = fake.chat_requests()
    assert final_text(events) == "Here I am."
    assert second.received_at - first.received_at >= 0.95  # backoff alone would be ~0.01 s


async def test_a_retry_after_given_as_an_http_date_is_honoured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        when = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
        fake.script(Status(503, {"Retry-After": when}), Text("Back."))
        events = await chat.say("hello")
    first, second = fake.chat_requests()
    assert final_text(events) == "Back."
    assert second.received_at - first.received_at >= 0.9  # the date has whole seconds


async def test_a_retry_after_longer_than_the_cap_waits_only_the_cap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_RETRY_MAX_SECONDS="0.3"
    ) as chat:
        fake.script(Status(429, {"Retry-After": "3600"}), Text("Quick."))
        events = await chat.say("hello")
    first, second = fake.chat_requests()
    assert final_text(events) == "Quick."
    assert 0.25 <= second.received_at - first.received_at < 3


async def test_server_errors_are_retried_with_backoff_then_answered_plainly_and_the_chat_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_MAX_RETRIES="2", LLM_RETRY_BASE_SECONDS="0.2"
    ) as chat:
        fake.script(Status(500), Status(502), Status(500))
        failed = await chat.say("describe my data")
        attempts = fake.chat_requests()
        fake.script(Text("All good now."))
        recovered = await chat.say("try again")
        outcomes = [record["outcome"] for record in chat.audit("llm.call")]
    assert len(attempts) == 3  # the first try and LLM_MAX_RETRIES=2 retries, no more
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # 0.2 x 2^n, halved at most by the jitter
    assert final_text(failed) == UNAVAILABLE_MESSAGE
    assert not any(event.get("errorCode") or event.get("errorMessage") for event in failed)
    assert "Traceback" not in json.dumps(failed)
    assert final_text(recovered) == "All good now."
    assert outcomes == ["server_error", "ok"]


async def test_an_answer_slower_than_the_timeout_is_abandoned_and_asked_for_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_TIMEOUT_SECONDS="0.5", LLM_MAX_RETRIES="1"
    ) as chat:
        fake.script(Slow(30, Text("Too late.")), Text("On time."))
        started = time.monotonic()
        events = await chat.say("hello")
        elapsed = time.monotonic() - started
    assert final_text(events) == "On time."
    assert len(fake.chat_requests()) == 2
    assert elapsed < 5


async def test_a_stream_that_stalls_after_the_limit_gets_the_plain_reply(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_TIMEOUT_SECONDS="0.4", LLM_MAX_RETRIES="1"
    ) as chat:
        fake.script(Slow(30, Text("never")), Slow(30, Text("never")))
        events = await chat.say("hello", stream=True)
    assert final_text(events) == UNAVAILABLE_MESSAGE
    assert len(fake.chat_requests()) == 2


async def test_the_call_cap_stops_a_tool_loop_with_a_message_and_the_next_turn_starts_afresh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    def loop_forever(_: Recorded) -> Reply:
        return ToolCalls([Call("list_data_files", {})])

    fake.responder = loop_forever
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_MAX_CALLS_PER_TURN="4"
    ) as chat:
        events = await chat.say("list my files")
        looped = len(fake.chat_requests())
        fake.script(Text("Fresh turn."))
        again = await chat.say("hello")
    assert looped == 4
    assert "after 4 model calls" in final_text(events)
    assert "LLM_MAX_CALLS_PER_TURN" in final_text(events)
    assert final_text(again) == "Fresh turn."


# Wire -------------------------------------------------------------------------------------


async def test_temperature_max_tokens_base_url_and_key_reach_the_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_TEMPERATURE="0.7", LLM_MAX_TOKENS="321"
    ) as chat:
        fake.script(Text("Hi."))
        await chat.say("hello")
    (request,) = fake.chat_requests()
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.body["model"] == "gpt-4o"
    assert request.body["temperature"] == 0.7
    assert request.body["max_completion_tokens"] == 321
    assert request.messages[0]["role"] == "system"
    assert request.messages[-1] == {"role": "user", "content": "hello"}


def summary_csv(tmp_path: Path) -> tuple[Path, list[str]]:
    """100 rows whose text cells are all unique and easy to spot anywhere."""
    names = [f"Qzx{i:03d}Vorn" for i in range(100)]
    path = tmp_path / "customers.csv"
    pd.DataFrame(
        {
            "name": names,
            "city": [f"Blyth{i:03d}wick" for i in range(100)],
            "plan": [("basic", "plus")[i % 2] for i in range(100)],
            "spend": [round(10 + i * 1.5, 1) for i in range(100)],
        }
    ).to_csv(path, index=False)
    return path, names + [f"Blyth{i:03d}wick" for i in range(100)]


def inspect_then_answer(dataset: str) -> Any:
    def respond(request: Recorded) -> Reply:
        if request.messages[-1]["role"] == "tool":
            return Text("Done.")
        return ToolCalls(
            [
                Call("analyze_dataset", {"dataset_id": dataset}),
                Call("preview_rows", {"dataset_id": dataset, "n": 10}),
            ]
        )

    return respond


@pytest.mark.parametrize("summary_only", [True, False], ids=["summary-only", "samples-allowed"])
async def test_in_summary_mode_no_cell_value_reaches_the_model_and_otherwise_only_a_few_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM, summary_only: bool
) -> None:
    path, cells = summary_csv(tmp_path)
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, SUMMARY_MODE_ONLY=str(summary_only).lower()
    ) as chat:
        dataset = await chat.upload(path)
        fake.responder = inspect_then_answer(dataset)
        events = await chat.say("describe the customers and show some rows")
    requests = fake.chat_requests()
    assert len(requests) == 2 and final_text(events) == "Done."
    wire = b"\n".join(request.raw for request in requests).decode()
    seen = [cell for cell in cells if cell in wire]
    if summary_only:
        assert seen == []
    else:
        rows_seen = {cell[4:7] for cell in seen}  # the row number inside each value
        assert 0 < len(rows_seen) <= 15, sorted(rows_seen)  # preview's 10 and the profile's few


# Token bounds -----------------------------------------------------------------------------


async def test_a_large_tool_result_is_shortened_for_the_model_but_kept_whole_in_the_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    wide = tmp_path / "wide.csv"
    pd.DataFrame({f"measurement_{i:03d}": [i, i + 1] for i in range(300)}).to_csv(wide, index=False)
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_TOOL_RESULT_MAX_CHARS="2000"
    ) as chat:
        await chat.upload(wide)
        fake.script(ToolCalls([Call("list_data_files", {}, id="call_wide")]), Text("300 columns."))
        await chat.say("what columns are there?")
        stored = await chat.stored()
    sent = fake.chat_requests()[1].tool_results()["call_wide"]
    assert len(sent) <= 2000
    assert "_truncated" in sent and "more items left out" in sent
    kept = function_responses(stored["events"])["call_wide"]
    assert len(kept["datasets"][0]["columns"]) == 300


async def test_thirty_turns_keep_the_request_size_flat_without_splitting_calls_from_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    def tool_then_text(request: Recorded) -> Reply:
        if request.messages[-1]["role"] == "tool":
            return Text("Here are the first rows. " * 8)
        return ToolCalls([Call("preview_rows", {"dataset_id": dataset, "n": 10})])

    fake.responder = tool_then_text
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_HISTORY_MAX_CHARS="12000"
    ) as chat:
        dataset = await chat.upload(penguin_like_csv(tmp_path))
        for turn in range(30):
            events = await chat.say(f"turn {turn}: show me the first rows again")
            assert final_text(events).startswith("Here are the first rows.")
    requests = fake.chat_requests()
    assert len(requests) == 60
    opening = [len(requests[2 * turn].raw) for turn in range(30)]  # each turn's first call
    assert opening[2] > opening[0]  # the history does grow at first...
    assert opening[29] <= opening[9] * 1.05  # ...then stays flat
    last = requests[-1]
    assert last.messages[0]["role"] == "system"
    assert "turn 29: show me the first rows again" in json.dumps(last.messages)
    assert set(last.assistant_tool_call_ids()) == set(last.tool_results())


# Cost -------------------------------------------------------------------------------------


async def test_every_call_records_tokens_and_cost_in_the_session_metrics_and_audit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    price = litellm.model_cost["gpt-4o"]
    per_call = 1000 * price["input_cost_per_token"] + 100 * price["output_cost_per_token"]
    labels = {"gen_ai_request_model": "openai/gpt-4o"}
    # The GenAI conventions' histogram, with the operation and provider attributes they name.
    input_labels = {
        **labels,
        "gen_ai_token_type": "input",
        "gen_ai_operation_name": "generate_content",
        "gen_ai_provider_name": "openai",
    }
    before_input = sample("gen_ai_client_token_usage_sum", input_labels)
    before_calls = sample("gen_ai_client_operation_duration_seconds_count", labels)
    before_cost = sample("dsagent_llm_cost_usd_total", labels)
    async with hosted_chat(monkeypatch, tmp_path, fake.openai_base) as chat:
        fake.script(
            ToolCalls([Call("list_data_files", {})], usage=(1000, 100)),
            Text("Nothing yet.", usage=(1000, 100)),
        )
        await chat.say("secret-sounding question about my files", stream=True)
        state = (await chat.stored())["state"]
        audited = chat.audit("llm.call")
        audit_text = chat.settings.audit_log_path.read_text(encoding="utf-8")
    assert state["llm_usage"]["calls"] == 2
    assert state["llm_usage"]["input_tokens"] == 2000
    assert state["llm_usage"]["output_tokens"] == 200
    assert state["llm_usage"]["cost_usd"] == pytest.approx(2 * per_call)
    assert sample("gen_ai_client_token_usage_sum", input_labels) - before_input == 2000
    assert sample("gen_ai_client_operation_duration_seconds_count", labels) - before_calls == 2
    assert sample("dsagent_llm_cost_usd_total", labels) - before_cost == pytest.approx(2 * per_call)
    assert [(r["model"], r["input_tokens"], r["output_tokens"], r["outcome"]) for r in audited] == [
        ("openai/gpt-4o", 1000, 100, "ok")
    ] * 2
    assert audited[0]["cost_usd"] == pytest.approx(per_call)
    assert "secret-sounding" not in audit_text


async def test_a_session_over_its_budget_makes_no_more_calls_and_says_how_to_raise_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM
) -> None:
    price = litellm.model_cost["gpt-4o"]
    one_call = 1000 * price["input_cost_per_token"]
    async with hosted_chat(
        monkeypatch, tmp_path, fake.openai_base, LLM_SESSION_BUDGET_USD=str(one_call * 1.5)
    ) as chat:
        fake.script(Text("First.", usage=(1000, 0)), Text("Second.", usage=(1000, 0)))
        first = await chat.say("one")
        second = await chat.say("two")
        third = await chat.say("three")
    assert final_text(first) == "First." and final_text(second) == "Second."
    assert len(fake.chat_requests()) == 2  # the third turn never reached the provider
    assert "budget" in final_text(third) and "LLM_SESSION_BUDGET_USD" in final_text(third)


# Gemini -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_gemini_goes_through_its_own_rest_api_with_retries_tools_and_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM, stream: bool
) -> None:
    async with hosted_chat(
        monkeypatch,
        tmp_path,
        fake.gemini_base,
        LLM_MODEL="",
        OPENAI_API_KEY="",
        USE_GEMINI="true",
        GOOGLE_API_KEY="gemini-fake-key",
        LLM_TEMPERATURE="0.4",
        LLM_MAX_TOKENS="555",
    ) as chat:
        fake.script(
            Status(429, {"Retry-After": "0.2"}),
            ToolCalls([Call("list_data_files", {})]),
            Text("You have no files yet."),
        )
        events = await chat.say("list my files", stream=stream)
        usage = (await chat.stored())["state"]["llm_usage"]
    throttled, called, answered = fake.chat_requests()
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    assert called.path == f"/v1beta/models/gemini-2.5-flash:{method}"
    assert called.headers["x-goog-api-key"] == "gemini-fake-key"
    assert called.received_at - throttled.received_at >= 0.18
    config = called.body["generationConfig"]
    assert config["temperature"] == 0.4 and config["max_output_tokens"] == 555
    response = answered.body["contents"][-1]["parts"][0]["function_response"]
    assert response["name"] == "list_data_files" and response["response"]["status"] == "ok"
    assert final_text(events) == "You have no files yet."
    assert usage["calls"] == 2 and usage["cost_usd"] > 0


# The app in its own process -----------------------------------------------------------------


async def test_the_served_app_streams_a_hosted_turn_and_reports_its_tokens_at_metrics(
    tmp_path: Path, fake: FakeLLM
) -> None:
    server = LiveServer(tmp_path / "data", {**HOSTED_ENV, "LLM_API_BASE": fake.openai_base}).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            session = (await http.post(f"/apps/{APP}/users/bob/sessions", json={})).json()
            fake.script(
                ToolCalls([Call("list_data_files", {}, id="call_live")], usage=(700, 7)),
                Text("Nothing uploaded yet.", usage=(800, 8)),
            )
            body = {
                "app_name": APP,
                "user_id": "bob",
                "session_id": session["id"],
                "new_message": {"role": "user", "parts": [{"text": "list my files"}]},
                "streaming": True,
            }
            reply = await http.post("/run_sse", json=body)
            metrics = (await http.get("/metrics")).text
    finally:
        server.stop()
    events = [
        json.loads(line.removeprefix("data: "))
        for line in reply.text.splitlines()
        if line.startswith("data: ")
    ]
    assert final_text(events) == "Nothing uploaded yet."
    assert result_of(fake.chat_requests()[1], "call_live")["status"] == "ok"
    assert "# TYPE gen_ai_client_token_usage histogram" in metrics
    (input_tokens,) = [
        line
        for line in metrics.splitlines()
        if line.startswith("gen_ai_client_token_usage_sum{") and 'gen_ai_token_type="input"' in line
    ]
    assert 'gen_ai_request_model="openai/gpt-4o"' in input_tokens
    assert 'gen_ai_operation_name="generate_content"' in input_tokens
    assert input_tokens.endswith(" 1500.0")


# Ollama -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["json", "ndjson"])
async def test_ollama_gets_its_own_chat_api_with_the_settings_and_tool_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeLLM, stream: bool
) -> None:
    async with hosted_chat(
        monkeypatch,
        tmp_path,
        f"http://127.0.0.1:{fake.port}",
        LLM_MODEL="ollama_chat/llama3.1",
        OPENAI_API_KEY="",
        LLM_TEMPERATURE="0.3",
        LLM_MAX_TOKENS="77",
    ) as chat:
        fake.script(ToolCalls([Call("list_data_files", {})]), Text("No files yet."))
        events = await chat.say("list my files", stream=stream)
        usage = (await chat.stored())["state"]["llm_usage"]
    called, answered = fake.chat_requests()
    assert called.path == "/api/chat" and called.body["model"] == "llama3.1"
    assert called.body["options"]["temperature"] == 0.3
    assert called.body["options"]["num_predict"] == 77
    tool_message = answered.body["messages"][-1]
    assert tool_message["role"] == "tool" and '"status": "ok"' in tool_message["content"]
    assert final_text(events) == "No files yet."
    assert usage["calls"] == 2 and usage["input_tokens"] > 0 and usage["cost_usd"] == 0.0


# The pure pieces ----------------------------------------------------------------------------


def test_retry_after_reads_seconds_milliseconds_and_http_dates_and_ignores_nonsense() -> None:
    from data_science.llm.resilient import retry_after_seconds

    class Throttled(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.litellm_response_headers = headers

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    in_five = format_datetime(now + timedelta(seconds=5), usegmt=True)
    assert retry_after_seconds(Throttled({"Retry-After": "2.5"}), now) == 2.5
    assert retry_after_seconds(Throttled({"retry-after-ms": "1500"}), now) == 1.5
    assert retry_after_seconds(Throttled({"Retry-After": in_five}), now) == 5.0
    past = format_datetime(now - timedelta(hours=1), usegmt=True)
    assert retry_after_seconds(Throttled({"Retry-After": past}), now) == 0.0
    assert retry_after_seconds(Throttled({"Retry-After": "soon"}), now) is None
    assert retry_after_seconds(ValueError("no headers"), now) is None


def test_fitting_the_history_drops_whole_turns_and_never_a_call_without_its_result() -> None:
    from google.genai import types

    from data_science.plugins.context_budget import DROPPED_NOTE, fit_history

    def turn(number: int) -> list[types.Content]:
        call = types.FunctionCall(id=f"c{number}", name="preview_rows", args={"n": 10})
        result = types.FunctionResponse(
            id=f"c{number}", name="preview_rows", response={"status": "ok", "rows": ["x" * 50] * 40}
        )
        return [
            types.Content(role="user", parts=[types.Part(text=f"question {number}")]),
            types.Content(role="model", parts=[types.Part(function_call=call)]),
            types.Content(role="user", parts=[types.Part(function_response=result)]),
            types.Content(role="model", parts=[types.Part(text=f"answer {number}")]),
        ]

    history = [content for number in range(20) for content in turn(number)]
    fitted = fit_history(history, max_chars=3000, result_max_chars=1000)
    size = sum(len(content.model_dump_json(exclude_none=True)) for content in fitted)
    assert size <= 3000
    assert fitted[0].role == "user" and fitted[0].parts[0].text == DROPPED_NOTE
    calls = {p.function_call.id for c in fitted for p in c.parts or [] if p.function_call}
    results = {p.function_response.id for c in fitted for p in c.parts or [] if p.function_response}
    assert calls == results and "c19" in calls
    assert fitted[-1].parts[0].text == "answer 19"
    assert history[2].parts[0].function_response.response["rows"] == ["x" * 50] * 40  # untouched
