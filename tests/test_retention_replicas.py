"""Retention with replicas (a PostgreSQL session store shared by servers on one DATA_DIR):
one replica sweeps at a time, and a replica's start-up sweep clears only its own leftovers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pandas as pd
import pytest
from google.adk.artifacts.file_artifact_service import FileArtifactService

from data_science.config import APP_NAME, Settings
from data_science.observability.audit_db import verify_database_chain
from data_science.server.data_stores import DataStores
from data_science.server.retention import exclusive_sweep, sweep, sweep_after_restart
from data_science.storage.session_store import open_session_store
from data_science.storage.workspace import STAGING_PREFIX, Workspace
from tests.conftest import fresh_postgres_database, store_frame
from tests.test_audit_replicas import query

DAY = 86_400


@pytest.fixture
async def replicas(settings: Settings) -> AsyncIterator[tuple[DataStores, DataStores]]:
    """Two replicas' stores: one PostgreSQL database, one DATA_DIR, two replica ids."""
    async with fresh_postgres_database() as url:
        opened = []
        for name in ("a", "b"):
            current = Settings(
                DATA_DIR=settings.DATA_DIR,
                SESSION_SERVICE_URI=url,
                REPLICA_ID=name,
                DATA_RETENTION_DAYS=1,
            )
            current.create_data_dirs()
            sessions = open_session_store(current)
            opened.append(DataStores(current, sessions, FileArtifactService(current.artifacts_dir)))
        yield opened[0], opened[1]
        for stores in opened:
            await stores.sessions.close()


async def audited(stores: DataStores, action: str) -> list[dict[str, object]]:
    rows = await query(
        str(stores.settings.SESSION_SERVICE_URI),
        "SELECT coalesce(json_agg(record ORDER BY seq), '[]') FROM audit_records",
    )
    return [
        record
        for record in (json.loads(text) for text in json.loads(rows))
        if record["action"] == action
    ]


async def test_a_replica_skips_its_pass_while_another_sweeps_and_nothing_is_removed_twice(
    replicas: tuple[DataStores, DataStores],
) -> None:
    a, b = replicas
    old = await a.sessions.create_session(app_name=APP_NAME, user_id="alice")
    store_frame(Workspace(a.settings, "alice", old.id), pd.DataFrame({"x": [1]}), "old.csv")
    later = DAY * 3.0  # the session is three days old by then

    async with exclusive_sweep(a) as ours:
        assert ours
        skipped = await sweep(b, now=old.last_update_time + later)
    assert skipped.skipped and skipped.sessions == []
    assert await b.sessions.get_session(app_name=APP_NAME, user_id="alice", session_id=old.id)

    done = await sweep(b, now=old.last_update_time + later)
    again = await sweep(a, now=old.last_update_time + later)
    assert (done.sessions, again.sessions) == ([old.id], [])
    assert not Workspace(a.settings, "alice", old.id).root.exists()
    deletions = await audited(a, "deletion")
    assert [(r["scope"], r["replica"]) for r in deletions] == [("session", "b")]
    assert (await verify_database_chain(str(a.settings.SESSION_SERVICE_URI))).intact


async def test_the_start_up_sweep_clears_only_this_replicas_quarantine(
    replicas: tuple[DataStores, DataStores],
) -> None:
    a, b = replicas
    assert a.settings.quarantine_dir != b.settings.quarantine_dir
    mine = a.settings.quarantine_dir / "cut-off.part"
    theirs = b.settings.quarantine_dir / "receiving.part"
    for path in (mine, theirs):
        path.write_bytes(b"a,b\n1,2\n")
    live_staging = Path(Workspace(b.settings, "bob", "s1").staging_dir())
    assert live_staging.name.startswith(STAGING_PREFIX)

    await sweep_after_restart(a)

    assert not mine.exists()
    assert theirs.exists() and live_staging.exists()  # replica b's work in progress
    aborted = await audited(a, "upload")
    assert [(r["quarantine_file"], r["outcome"], r["replica"]) for r in aborted] == [
        ("cut-off.part", "aborted", "a")
    ]
