"""Logs, audit trail and metrics of the real app after one known sequence of requests.

One server (`main.py` in its own process, offline model) serves the sequence once; each test
then checks one product of it: the log lines on its stderr, the audit file, the /metrics text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from data_science.observability.logging import USER_LABEL_CHARS
from tests.conftest import PROJECT_ROOT, LiveServer

APP = "data_science"
USER = "carol.raw-user-id@example.org"
CELL_VALUE = "ZEBRA-CELL-VALUE-42"
FAKE_KEY = "sk-ant-fake-0123456789abcdefghijklmnop"
PII_SECRET = "pii-secret-for-the-test-0123456789abcdef"
LINE_FIELDS = {"time", "level", "event", "request_id", "session_id", "user"}
PAGE = b"<!DOCTYPE html><html><body>not a table</body></html>"
FILES_ROUTE = "/api/users/{user_id}/sessions/{session_id}/files"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Run:
    """What the sequence sent and got back, and where the server left its traces."""

    session_id: str
    uploaded_bytes: int
    tools_called: list[str]
    turn_events: str
    metrics_before: Samples
    metrics_after: Samples
    metrics_text: str
    log_text: str
    audit_path: Path
    user_label: str


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("operations")
    notes = tmp / "notes.csv"
    rows = [f"{i},{CELL_VALUE if i == 1 else 'plain'},{i * 1.5}" for i in range(1, 40)]
    notes.write_text("id,note,amount\n" + "\n".join(rows) + "\n")
    small = tmp / "small.csv"
    small.write_text("a,b\n1,2\n3,4\n")
    server = LiveServer(
        tmp / "data", {"ANTHROPIC_API_KEY": FAKE_KEY, "PII_HASH_SECRET": PII_SECRET}
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            before = http.get("/metrics")
            assert before.headers["content-type"].startswith("text/plain; version=")
            created = http.post(
                f"/apps/{APP}/users/{USER}/sessions", json={}, headers={"X-Request-ID": "req-1"}
            )
            assert created.headers["X-Request-ID"] == "req-1"
            session_id = created.json()["id"]
            fields = {"user_id": USER, "session_id": session_id}
            for path in (small, notes):  # the turn describes the latest: notes.csv
                upload = http.post(
                    "/api/uploads", data=fields, files={"file": (path.name, path.read_bytes())}
                )
                assert upload.status_code == 201, upload.text
            # Refused before any byte is stored (its name), and after all arrived (its content).
            for name, content in (("tool.exe", b"MZ\x90\x00"), ("page.csv", PAGE)):
                refused = http.post("/api/uploads", data=fields, files={"file": (name, content)})
                assert refused.status_code == 415
            for _ in range(3):
                assert http.get(f"/api/users/{USER}/sessions/{session_id}/files").is_success
            turn = http.post(
                "/run",
                json={
                    "app_name": APP,
                    "user_id": USER,
                    "session_id": session_id,
                    "new_message": {"role": "user", "parts": [{"text": "describe the data"}]},
                },
            )
            assert turn.status_code == 200, turn.text
            forged = http.get("/healthz", headers={"X-Request-ID": "forged id <script>"})
            assert forged.headers["X-Request-ID"] != "forged id <script>"
            # The turn's request is measured once its chat lease is released, just after the
            # answer is sent (server/turn_lock.py): give that a moment before the one scrape.
            time.sleep(2)
            after = http.get("/metrics").text
    finally:
        server.stop()
    label = hmac.new(PII_SECRET.encode(), USER.encode(), hashlib.sha256).hexdigest()
    yield Run(
        session_id=session_id,
        uploaded_bytes=notes.stat().st_size + small.stat().st_size,
        tools_called=[
            part["functionResponse"]["name"]
            for event in turn.json()
            for part in event.get("content", {}).get("parts", [])
            if "functionResponse" in part
        ],
        turn_events=turn.text,
        metrics_before=parse(before.text),
        metrics_after=parse(after),
        metrics_text=after,
        log_text=server.log_path.read_text(),
        audit_path=tmp / "data" / "audit.jsonl",
        user_label=label[:USER_LABEL_CHARS],
    )


def test_the_turn_called_tools_whose_results_held_a_cell_value(run: Run) -> None:
    assert run.tools_called == ["list_data_files", "analyze_dataset"]
    # The value reached the model: the logs and the audit trail below must still not hold it.
    assert CELL_VALUE in run.turn_events


# Logs ---------------------------------------------------------------------------------------


def test_every_log_line_is_json_with_time_level_event_and_ids(run: Run) -> None:
    lines = [json.loads(line) for line in run.log_text.splitlines()]
    assert lines and all(line.keys() >= LINE_FIELDS for line in lines)
    requests = [line for line in lines if line["event"] == "http.request"]
    create = next(line for line in requests if line["request_id"] == "req-1")
    assert create["route"] == "/apps/{app_name}/users/{user_id}/sessions"
    assert (create["user"], create["status"]) == (run.user_label, 200)
    by_route = {
        route: [line for line in requests if line["route"] == route]
        for route in ("/api/uploads", FILES_ROUTE, "/run")
    }
    assert [line["status"] for line in by_route["/api/uploads"]] == [201, 201, 415, 415]
    for line in [line for group in by_route.values() for line in group]:
        assert (line["user"], line["session_id"]) == (run.user_label, run.session_id)
    assert all(len(line["request_id"]) == 32 for line in requests if line["route"] == "/healthz")

    # Lines written inside the turn, by the tool and by the pipeline carry the same ids.
    turn_request = by_route["/run"][0]["request_id"]
    tool_line = next(line for line in lines if line.get("tool") == "analyze_dataset")
    turn_line = next(line for line in lines if line["event"] == "agent.turn")
    for line in (tool_line, turn_line):
        assert line["request_id"] == turn_request
        assert (line["user"], line["session_id"]) == (run.user_label, run.session_id)
    assert (tool_line["event"], tool_line["outcome"]) == ("tool", "ok")
    rejections = [line for line in lines if line["event"] == "upload.rejected"]
    assert [line["code"] for line in rejections] == ["extension_not_allowed", "content_mismatch"]
    assert all(line["user"] == run.user_label for line in rejections)


@pytest.mark.parametrize(
    "secret", [USER, CELL_VALUE, FAKE_KEY, PII_SECRET], ids=["user", "cell", "key", "pii"]
)
def test_no_log_line_holds_a_raw_user_id_a_cell_value_or_a_secret(run: Run, secret: str) -> None:
    assert secret not in run.log_text


# Audit trail --------------------------------------------------------------------------------


def verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "verify_audit.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_audit_trail_has_one_chained_record_per_action(run: Run) -> None:
    text = run.audit_path.read_text()
    warm_up, *chain = (json.loads(line) for line in text.splitlines())
    # The start-up warm-up turn runs one tool under its own user.
    assert (warm_up["tool"], warm_up["user"] != run.user_label) == ("list_data_files", True)
    assert [(r["action"], r.get("outcome"), r.get("reason") or r.get("tool")) for r in chain] == [
        ("upload", "accepted", None),
        ("upload", "accepted", None),
        ("upload", "rejected", "extension_not_allowed"),
        ("upload", "rejected", "content_mismatch"),
        ("tool", "ok", "list_data_files"),
        ("tool", "ok", "analyze_dataset"),
    ]
    assert {r["user"] for r in chain} == {run.user_label}
    assert chain[-1]["arguments"] == {"dataset_id": chain[1]["file_id"]}
    assert chain[-1]["session_id"] == run.session_id and chain[-1]["duration_ms"] > 0
    for secret in (USER, CELL_VALUE, FAKE_KEY, PII_SECRET):
        assert secret not in text
    result = verify(run.audit_path)
    assert result.returncode == 0 and "7 records checked, chain intact" in result.stdout


def test_the_audit_chain_fails_after_a_line_is_edited_or_deleted(run: Run, tmp_path: Path) -> None:
    lines = run.audit_path.read_text().splitlines(keepends=True)
    edited = json.loads(lines[1])
    edited["size_bytes"] += 1
    copy = tmp_path / "edited.jsonl"
    copy.write_text("".join([lines[0], json.dumps(edited) + "\n", *lines[2:]]))
    result = verify(copy)
    assert result.returncode == 1
    assert "chain BROKEN at line 2: its content does not match its `hash`" in result.stdout
    copy.write_text("".join([*lines[:3], *lines[4:]]))
    result = verify(copy)
    assert result.returncode == 1 and "chain BROKEN at line 4" in result.stdout
    assert "a record before it was deleted" in result.stdout


# Metrics ------------------------------------------------------------------------------------


def delta(run: Run, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    return run.metrics_after.get(key, 0.0) - run.metrics_before.get(key, 0.0)


def requests(run: Run, method: str, route: str, status: int) -> float:
    return delta(
        run,
        "http_server_request_duration_seconds_count",
        http_request_method=method,
        http_route=route,
        http_response_status_code=str(status),
    )


def test_upload_counters_moved_by_exactly_the_uploads_sent(run: Run) -> None:
    assert delta(run, "dsagent_uploads_total", outcome="accepted", reason="none") == 2
    for reason in ("extension_not_allowed", "content_mismatch"):
        assert delta(run, "dsagent_uploads_total", outcome="rejected", reason=reason) == 1
    assert delta(run, "dsagent_upload_bytes_total", outcome="accepted") == run.uploaded_bytes
    # The .exe was refused by its name before a byte was stored; the page after it arrived.
    assert delta(run, "dsagent_upload_bytes_total", outcome="rejected") == len(PAGE)


def test_request_counters_moved_by_route_template_method_and_status(run: Run) -> None:
    assert requests(run, "GET", FILES_ROUTE, 200) == 3
    assert requests(run, "POST", "/api/uploads", 201) == 2
    assert requests(run, "POST", "/api/uploads", 415) == 2
    assert requests(run, "POST", "/run", 200) == 1
    assert requests(run, "POST", "/apps/{app_name}/users/{user_id}/sessions", 200) == 1
    # /metrics counts itself: the first scrape shows up in the second.
    assert requests(run, "GET", "/metrics", 200) == 1


def test_tool_turn_and_session_metrics_moved_by_the_one_turn(run: Run) -> None:
    for tool in ("list_data_files", "analyze_dataset"):
        assert delta(run, "dsagent_tool_calls_total", tool=tool, outcome="ok") == 1
        assert delta(run, "dsagent_tool_duration_seconds_count", tool=tool) == 1
    turns = delta(
        run, "dsagent_operation_duration_seconds_count", operation="agent.turn", outcome="ok"
    )
    assert turns == 1
    assert run.metrics_after[("dsagent_active_sessions", frozenset())] == 0


def test_adk_genai_metrics_are_served_by_the_opentelemetry_conventions(run: Run) -> None:
    def moved(name: str, **labels: str) -> float:
        def total(samples: Samples) -> float:
            return sum(
                value
                for (metric, metric_labels), value in samples.items()
                if metric == name and labels.items() <= dict(metric_labels).items()
            )

        return total(run.metrics_after) - total(run.metrics_before)

    tool = moved("gen_ai_execute_tool_duration_seconds_count", gen_ai_tool_name="analyze_dataset")
    assert tool == 1
    # The offline model's three calls of the turn: list the files, profile one, explain it.
    calls = moved(
        "gen_ai_client_operation_duration_seconds_count", gen_ai_operation_name="generate_content"
    )
    assert calls == 3
    assert "# TYPE gen_ai_client_operation_duration_seconds histogram" in run.metrics_text


def test_no_metric_label_holds_a_user_id_a_session_id_or_a_concrete_path(run: Run) -> None:
    assert USER not in run.metrics_text and run.session_id not in run.metrics_text
    routes = {
        dict(labels)["http_route"]
        for name, labels in run.metrics_after
        if name.startswith("http_server_request_duration_seconds")
    }
    assert FILES_ROUTE in routes
    assert all("{user_id}" in route for route in routes if "/users/" in route)
