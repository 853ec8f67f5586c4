"""The audit trail: one record per action, hash-chained, and a command that verifies the chain."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext

from data_science.config import Settings, load_settings
from data_science.observability.audit import GENESIS, AuditLog, audit_log, verify_chain
from data_science.tools import impute_missing, value_counts
from tests.conftest import PROJECT_ROOT, add_dataset


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def canonical_hash(record: dict) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def verify(path: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """`uv run python verify_audit.py [PATH]`, as an operator runs it."""
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "verify_audit.py"), *([str(path)] if path else [])],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=PROJECT_ROOT,
    )


def write_chain(path: Path, settings: Settings, count: int) -> None:
    log = AuditLog(path, settings)
    for number in range(count):
        log.record("test", user_id="alice", number=number, note="é ünïcode")


# The chain ----------------------------------------------------------------------------------


def test_each_record_links_to_the_previous_and_hashes_its_canonical_json(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, settings, 3)
    chain = records(path)
    assert chain[0]["prev"] == GENESIS
    assert [r["prev"] for r in chain[1:]] == [r["hash"] for r in chain[:-1]]
    assert all(r["hash"] == canonical_hash(r) for r in chain)
    assert all(r["user"] != "alice" and r["action"] == "test" for r in chain)
    assert verify_chain(path).intact and verify_chain(path).records == 3


def test_a_new_process_continues_the_chain_from_the_last_line(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, settings, 2)
    restarted = AuditLog(path, settings)  # what a fresh process builds
    restarted.record("after_restart")
    chain = records(path)
    assert chain[2]["prev"] == chain[1]["hash"]
    assert verify_chain(path).records == 3


def test_writers_in_threads_and_separate_logs_on_one_file_keep_one_chain(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    # Two AuditLog objects share no lock: only the file lock keeps them in order, as it does
    # for two processes.
    logs = [AuditLog(path, settings), AuditLog(path, settings)]

    def append(log: AuditLog, worker: int) -> None:
        for number in range(50):
            log.record("concurrent", worker=worker, number=number)

    threads = [threading.Thread(target=append, args=(logs[i % 2], i)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = verify_chain(path)
    assert report.intact and report.records == 200


def test_a_torn_last_line_is_reported_and_the_next_record_starts_a_new_line(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, settings, 2)
    with path.open("a") as handle:
        handle.write('{"action": "half-writ')  # a crash in the middle of a write
    AuditLog(path, settings).record("after_crash")
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[3])["action"] == "after_crash"
    report = verify_chain(path)
    assert (report.records, report.broken_line) == (2, 3)
    assert "not valid JSON" in (report.problem or "")


def test_fields_the_log_sets_itself_cannot_be_passed(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hash"):
        AuditLog(tmp_path / "audit.jsonl", settings).record("x", hash="forged")


def test_audit_log_path_is_configurable(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "elsewhere" / "trail.jsonl"
    monkeypatch.setenv("AUDIT_LOG_PATH", str(target))
    configured = load_settings()
    audit_log(configured).record("moved")
    assert records(target)[0]["action"] == "moved"
    assert not settings.audit_log_path.exists()


# verify_audit.py ----------------------------------------------------------------------------


def test_verify_passes_an_intact_chain_and_an_empty_file(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, settings, 4)
    result = verify(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 records checked, chain intact" in result.stdout
    path.write_text("")
    empty = verify(path)
    assert empty.returncode == 0 and "0 records checked" in empty.stdout


def test_verify_reads_the_configured_path_by_default(settings: Settings, tmp_path: Path) -> None:
    write_chain(settings.audit_log_path, settings, 2)
    result = verify(DATA_DIR=str(settings.DATA_DIR))
    assert result.returncode == 0 and "2 records checked" in result.stdout
    assert str(settings.audit_log_path) in result.stdout


@pytest.mark.parametrize(
    ("damage", "line", "reason"),
    [
        ("edit", 3, "the record was edited"),
        ("delete", 3, "a record before it was deleted"),
        ("delete_first", 1, "a record before it was deleted"),
        ("swap", 2, "a record before it was deleted, inserted or moved"),
        ("malformed", 2, "not valid JSON"),
        ("not_a_record", 4, "not an audit record"),
    ],
)
def test_verify_finds_the_first_damaged_line_and_fails(
    settings: Settings, tmp_path: Path, damage: str, line: int, reason: str
) -> None:
    path = tmp_path / "audit.jsonl"
    write_chain(path, settings, 5)
    lines = path.read_text().splitlines(keepends=True)
    if damage == "edit":
        record = json.loads(lines[2])
        record["number"] = 99  # its hash and the next record's prev stay as they were
        lines[2] = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
    elif damage == "delete":
        del lines[2]
    elif damage == "delete_first":
        del lines[0]
    elif damage == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    elif damage == "malformed":
        lines[1] = lines[1][:40] + "\n"
    else:
        lines[3] = '["just", "a", "list"]\n'
    path.write_text("".join(lines))
    result = verify(path)
    assert result.returncode == 1
    assert f"chain BROKEN at line {line}" in result.stdout and reason in result.stdout
    assert f"{line - 1} records before it verified" in result.stdout


def test_verify_says_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    result = verify(tmp_path / "missing.jsonl")
    assert result.returncode == 2 and "No such file" in result.stderr


# Tool records -------------------------------------------------------------------------------


async def test_tool_records_name_columns_and_ids_but_never_cell_values(
    tool_context: ToolContext, settings: Settings
) -> None:
    frame = pd.DataFrame({"city": ["Oslo", None, "SECRET-CITY"], "n": [1, 2, 3]})
    dataset_id = add_dataset(tool_context, frame, "cities")
    filled = await impute_missing(
        dataset_id, tool_context, columns=["city"], strategy="constant", fill_value="SECRET-FILL"
    )
    assert filled["status"] == "ok"
    missing = await value_counts(dataset_id, "no_such_column", tool_context)
    assert missing["error"] == "unknown_column"
    chain = [r for r in records(settings.audit_log_path) if r["action"] == "tool"]
    assert [(r["tool"], r["outcome"]) for r in chain] == [
        ("impute_missing", "ok"),
        ("value_counts", "unknown_column"),
    ]
    arguments = chain[0]["arguments"]
    assert arguments["dataset_id"] == dataset_id and arguments["columns"] == ["city"]
    assert arguments["strategy"] == "constant" and arguments["fill_value"] == {"chars": 11}
    assert chain[1]["arguments"]["column"] == "no_such_column"
    assert all(r["duration_ms"] >= 0 and r["session_id"] == tool_context.session.id for r in chain)
    text = settings.audit_log_path.read_text()
    assert "SECRET" not in text and "Oslo" not in text
    assert verify_chain(settings.audit_log_path).intact
