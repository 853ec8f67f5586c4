"""Retention: the sweep removes sessions and files older than DATA_RETENTION_DAYS (and what a
crash left behind), audits each removal, keeps everything younger; the app runs it on a schedule.

Ages are made by moving timestamps into the past, never by waiting.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from google.adk.artifacts.file_artifact_service import FileArtifactService
from google.genai import types
from sqlalchemy import text

from data_science.config import APP_NAME, Settings
from data_science.server.data_stores import DataStores
from data_science.server.retention import STALE_WORK_SECONDS, sweep
from data_science.storage.session_store import open_session_store
from data_science.storage.workspace import META_FILE, Workspace
from tests.conftest import LiveServer, store_frame

DAY = 86_400
TABLE = pd.DataFrame({"a": [1, 2, 3]})


@pytest.fixture
async def stores(settings: Settings) -> AsyncIterator[DataStores]:
    current = Settings(DATA_DIR=settings.DATA_DIR, DATA_RETENTION_DAYS=1)
    sessions = open_session_store(current)
    yield DataStores(current, sessions, FileArtifactService(current.artifacts_dir))
    await sessions.close()


def age(path: Path, seconds: float) -> None:
    """Make `path` look `seconds` old."""
    then = time.time() - seconds
    os.utime(path, (then, then))


async def age_session(stores: DataStores, session_id: str, seconds: float) -> None:
    then = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=seconds)
    async with stores.sessions.db_engine.begin() as connection:
        await connection.execute(
            text("UPDATE sessions SET update_time = :then WHERE id = :id"),
            {"then": then.strftime("%Y-%m-%d %H:%M:%S.%f"), "id": session_id},
        )


async def eventually(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        await asyncio.sleep(0.2)


def audit_records(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(line) for line in settings.audit_log_path.read_text().splitlines()]


async def test_the_sweep_removes_old_sessions_and_files_and_keeps_young_ones(
    stores: DataStores,
) -> None:
    settings = stores.settings
    old = await stores.sessions.create_session(app_name=APP_NAME, user_id="alice")
    young = await stores.sessions.create_session(app_name=APP_NAME, user_id="alice")
    old_space = Workspace(settings, "alice", old.id)
    young_space = Workspace(settings, "alice", young.id)
    store_frame(old_space, TABLE, "in old session.csv")
    expired = store_frame(young_space, TABLE, "expired.csv")
    fresh = store_frame(young_space, TABLE, "fresh.csv")
    chart = types.Part.from_bytes(data=b"\x89PNG chart", mime_type="image/png")
    await stores.artifacts.save_artifact(
        app_name=APP_NAME, user_id="alice", session_id=old.id, filename="chart.png", artifact=chart
    )
    await age_session(stores, old.id, 3 * DAY)
    age(young_space.root / expired.id / META_FILE, 2 * DAY)

    report = await sweep(stores)

    assert report.sessions == [old.id]
    assert report.files == [expired.id]
    assert (
        await stores.sessions.get_session(app_name=APP_NAME, user_id="alice", session_id=old.id)
        is None
    )
    assert not old_space.root.exists()
    assert [p for p in settings.artifacts_dir.rglob("*") if p.is_file()] == []
    assert [record.id for record in young_space.items()] == [fresh.id]
    removals = [r for r in audit_records(settings) if r["action"] == "deletion"]
    assert [(r["scope"], r["reason"]) for r in removals] == [
        ("session", "retention"),
        ("file", "retention"),
    ]
    assert removals[1]["item_id"] == expired.id and removals[1]["user"] is not None


async def test_retention_zero_keeps_everything_but_still_clears_crash_leftovers(
    stores: DataStores,
) -> None:
    settings = Settings(DATA_DIR=stores.settings.DATA_DIR, DATA_RETENTION_DAYS=0)
    keep_forever = DataStores(settings, stores.sessions, stores.artifacts)
    session = await stores.sessions.create_session(app_name=APP_NAME, user_id="alice")
    workspace = Workspace(settings, "alice", session.id)
    ancient = store_frame(workspace, TABLE, "ancient.csv")
    age(workspace.root / ancient.id / META_FILE, 3650 * DAY)
    await age_session(keep_forever, session.id, 3650 * DAY)
    stale_staging = workspace.staging_dir()
    (stale_staging / "half-written.parquet").write_bytes(b"PAR1")
    age(stale_staging / "half-written.parquet", STALE_WORK_SECONDS + 60)
    age(stale_staging, STALE_WORK_SECONDS + 60)
    busy_staging = workspace.staging_dir()  # a job writing right now
    stale_upload = settings.quarantine_dir / "crashed.part"
    stale_upload.write_bytes(b"a,b\n")
    age(stale_upload, STALE_WORK_SECONDS + 60)
    live_upload = settings.quarantine_dir / "streaming.part"
    live_upload.write_bytes(b"a,b\n")

    report = await sweep(keep_forever)

    assert report.stale_work == 2 and report.sessions == [] and report.files == []
    assert not stale_staging.exists() and not stale_upload.exists()
    assert busy_staging.exists() and live_upload.exists()
    assert [record.id for record in workspace.items()] == [ancient.id]


async def test_a_file_whose_session_is_gone_expires_too_and_is_audited_by_key(
    stores: DataStores,
) -> None:
    workspace = Workspace(stores.settings, "alice", "session-deleted-through-adk")
    orphan = store_frame(workspace, TABLE, "orphan.csv")
    age(workspace.root / orphan.id / META_FILE, 2 * DAY)

    report = await sweep(stores)

    assert report.files == [orphan.id]
    assert not workspace.root.exists() and not workspace.root.parent.exists()
    [record] = [r for r in audit_records(stores.settings) if r["action"] == "deletion"]
    assert record["user"] is None and record["user_key"] == workspace.root.parent.name


async def test_the_running_app_sweeps_at_start_up_and_on_its_schedule(
    tmp_path: Path, penguins_csv: Path
) -> None:
    data_dir = tmp_path / "data"
    leftover = data_dir / "quarantine" / "crashed.part"
    leftover.parent.mkdir(parents=True, mode=0o700)
    leftover.write_bytes(b"a,b\n1,2\n")
    age(leftover, STALE_WORK_SECONDS + 60)
    server = LiveServer(
        data_dir, {"DATA_RETENTION_DAYS": "1", "RETENTION_SWEEP_SECONDS": "1"}
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            session_id = (await http.post(f"/apps/{APP_NAME}/users/alice/sessions")).json()["id"]
            with penguins_csv.open("rb") as handle:
                uploaded = await http.post(
                    "/api/uploads",
                    data={"user_id": "alice", "session_id": session_id},
                    files={"file": ("penguins.csv", handle, "text/csv")},
                )
            file_id = uploaded.json()["file_id"]
            files_url = f"/api/users/alice/sessions/{session_id}/files"
            assert [item["id"] for item in (await http.get(files_url)).json()["files"]] == [file_id]
            await eventually(lambda: not leftover.exists())  # the start-up sweep ran
            [meta] = data_dir.glob(f"ready/*/*/{file_id}/{META_FILE}")
            age(meta, 2 * DAY)
            await eventually(lambda: not meta.parent.exists())  # and the next ones
            assert (await http.get(files_url)).json()["files"] == []
    finally:
        server.stop()
