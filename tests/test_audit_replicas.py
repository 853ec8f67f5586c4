"""With replicas (a PostgreSQL session store) the audit trail is one chain in that database:
appends from several replicas at once stay one chain, and tampering is found by verify_audit."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from data_science.config import Settings
from data_science.observability.audit import GENESIS, audit_log
from data_science.observability.audit_db import DatabaseAuditLog, verify_database_chain
from tests.conftest import PROJECT_ROOT, fresh_postgres_database
from tests.test_verify_production import verify

PER_REPLICA = 15


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def query(url: str, statement: str) -> str:
    """Run one statement on the database as someone with access to it would; its first value."""
    parts = make_url(url)
    connection = await asyncpg.connect(
        host=parts.host, port=parts.port, user=parts.username, database=parts.database
    )
    try:
        return str(await connection.fetchval(statement))
    finally:
        await connection.close()


def replica(settings: Settings, url: str, name: str) -> Settings:
    return settings.model_copy(update={"SESSION_SERVICE_URI": url, "REPLICA_ID": name})


def verify_audit(settings: Settings) -> subprocess.CompletedProcess[str]:
    """`verify_audit.py` as an operator runs it on a replica (no path: the deployment's chain)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DATA_DIR": str(settings.DATA_DIR),
        "SESSION_SERVICE_URI": str(settings.SESSION_SERVICE_URI),
    }
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "verify_audit.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=PROJECT_ROOT,
    )


async def test_two_replicas_appending_at_once_write_one_intact_chain(
    settings: Settings, database: str
) -> None:
    logs = [DatabaseAuditLog(replica(settings, database, name)) for name in ("a", "b")]

    def write(log: DatabaseAuditLog) -> None:
        for number in range(PER_REPLICA):
            log.record("test", user_id="alice", number=number)

    threads = [threading.Thread(target=write, args=(log,)) for log in logs for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    report = await verify_database_chain(database)
    assert report.intact and report.records == 4 * PER_REPLICA
    assert not settings.audit_log_path.exists()  # nothing went to the replica's disk
    checked = verify_audit(replica(settings, database, "a"))
    assert checked.returncode == 0 and f"{4 * PER_REPLICA} records checked" in checked.stdout
    # audit_log() picks the database chain whenever the session store is PostgreSQL.
    assert isinstance(audit_log(replica(settings, database, "c")), DatabaseAuditLog)


async def test_edited_deleted_and_cut_off_records_break_the_database_chain(
    settings: Settings, database: str, tmp_path: Path
) -> None:
    log = DatabaseAuditLog(replica(settings, database, "a"))
    for number in range(4):
        log.record("test", user_id="alice", number=number)
    report = await verify_database_chain(database)
    assert report.intact and report.records == 4
    code, checks = verify(tmp_path, "--create-dirs", SESSION_SERVICE_URI=database)
    assert checks["audit_chain"] == {
        "name": "audit_chain",
        "status": "ok",
        "detail": "4 records, intact",
    }
    first = json.loads(await query(database, "SELECT record FROM audit_records WHERE seq = 1"))
    assert first["prev"] == GENESIS and first["replica"] == "a"

    await query(
        database,
        "UPDATE audit_records SET record = jsonb_set(record::jsonb, '{number}', '9')::text "
        "WHERE seq = 3",
    )
    edited = await verify_database_chain(database)
    assert (edited.broken_line, edited.records) == (3, 2) and "edited" in str(edited.problem)
    checked = verify_audit(replica(settings, database, "a"))
    assert checked.returncode == 1 and "BROKEN" in checked.stdout
    code, checks = verify(tmp_path, "--create-dirs", SESSION_SERVICE_URI=database)
    assert code == 1 and checks["audit_chain"]["status"] == "fail"
    assert "edited" in checks["audit_chain"]["detail"]

    await query(database, "DELETE FROM audit_records WHERE seq = 3")
    deleted = await verify_database_chain(database)
    assert deleted.broken_line == 4 and "deleted" in str(deleted.problem)

    await query(database, "DELETE FROM audit_records WHERE seq = 4")
    cut = await verify_database_chain(database)
    assert not cut.intact and "cut off" in str(cut.problem)
