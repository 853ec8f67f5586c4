"""The audit trail of a deployment of replicas: one hash chain in the PostgreSQL session store.

With SESSION_SERVICE_URI on PostgreSQL every replica appends to the same chain, in the table
`audit_records` of that database, instead of a file on its own disk. One chain, not one per
replica, because a replica is disposable: its disk (and a per-replica file on it) goes when its
container does, while the database is what the deployment already keeps and backs up; and one
chain orders every record of the deployment, so a record removed anywhere breaks it.

Records are the file chain's records (`audit.record_hash`, `prev`, `hash`) plus `replica`, the
REPLICA_ID of the server that wrote it. Appends are serialised across replicas by a row lock:
each runs in a transaction that first takes `SELECT ... FOR UPDATE` on the one row of
`audit_head` (the chain's last sequence number and hash), then inserts the record with the next
number and moves the head on. `verify_database_chain` walks the records in order, checks every
hash, link and number (a gap is a deleted record), and that the head names the last record.

`record` is called from threads (and sync code); the database calls run on one event loop of
their own, in a daemon thread, so they share a connection pool and never touch the server's loop.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from data_science.config import Settings
from data_science.observability.audit import GENESIS, ChainReport, new_entry, record_hash

T = TypeVar("T")
TABLE_NAME = "audit_records"
WRITE_TIMEOUT_SECONDS = 30
METADATA = MetaData()
RECORDS = Table(
    TABLE_NAME,
    METADATA,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("record", Text, nullable=False),  # the record's JSON, as verified
)
HEAD = Table(
    "audit_head",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1: the one head
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


class _Loop:
    """An event loop in a daemon thread, for database calls made from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="audit-db", daemon=True).start()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(WRITE_TIMEOUT_SECONDS)


class DatabaseAuditLog:
    """Appends hash-chained records to the deployment's chain (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop = _Loop()
        self._engine: AsyncEngine | None = None
        self._ready = False

    def record(self, action: str, *, user_id: str | None = None, **fields: Any) -> None:
        """Append one record: as the file's, plus the replica that wrote it."""
        entry = new_entry(self.settings, action, user_id, fields)
        entry["replica"] = self.settings.replica_id
        self._loop.run(self._append(entry))

    async def _append(self, entry: dict[str, Any]) -> None:
        if self._engine is None:
            self._engine = create_async_engine(self.settings.session_db_uri, hide_parameters=True)
        if not self._ready:
            await prepare(self._engine)
            self._ready = True
        async with self._engine.begin() as connection:
            head = (
                await connection.execute(select(HEAD).where(HEAD.c.id == 1).with_for_update())
            ).one()
            entry["prev"] = head.hash
            entry["hash"] = record_hash(entry)
            line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
            await connection.execute(RECORDS.insert().values(seq=head.seq + 1, record=line))
            await connection.execute(
                HEAD.update().where(HEAD.c.id == 1).values(seq=head.seq + 1, hash=entry["hash"])
            )


async def prepare(engine: AsyncEngine) -> None:
    """Create the tables and the chain's head (idempotent; safe on several replicas at once)."""
    async with engine.begin() as connection:
        # One replica at a time: CREATE TABLE IF NOT EXISTS races on PostgreSQL's catalogue.
        await connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727160)")
        await connection.run_sync(METADATA.create_all, checkfirst=True)
        await connection.execute(
            pg_insert(HEAD).values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing()
        )


async def verify_database_chain(url: str) -> ChainReport:
    """Check every record's hash, link and number in order, and the head; stop at a break."""
    engine = create_async_engine(url, hide_parameters=True)
    try:
        async with engine.connect() as connection:
            if not await connection.run_sync(lambda sync: inspect(sync).has_table(TABLE_NAME)):
                return ChainReport(TABLE_NAME, 0, GENESIS)  # nothing audited yet
            head = (await connection.execute(select(HEAD).where(HEAD.c.id == 1))).one_or_none()
            rows = (await connection.execute(select(RECORDS).order_by(RECORDS.c.seq))).all()
    finally:
        await engine.dispose()
    expected_prev, count = GENESIS, 0
    for row in rows:
        problem = _check_record(row.seq, row.record, count + 1, expected_prev)
        if problem is not None:
            return ChainReport(TABLE_NAME, count, expected_prev, row.seq, problem)
        expected_prev = json.loads(row.record)["hash"]
        count += 1
    if head is not None and (head.seq, head.hash) != (count, expected_prev):
        problem = "the chain's head does not name its last record: records were cut off the end"
        return ChainReport(TABLE_NAME, count, expected_prev, count + 1, problem)
    return ChainReport(TABLE_NAME, count, expected_prev)


def _check_record(seq: int, raw: str, expected_seq: int, expected_prev: str) -> str | None:
    if seq != expected_seq:
        return f"record {expected_seq} is missing: a record was deleted"
    try:
        record = json.loads(raw)
    except ValueError as error:
        return f"the record is not valid JSON ({error})"
    if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
        return "the record has no `hash` field"
    if record.get("prev") != expected_prev:
        return "its `prev` is not the hash of the record before it: records were moved or inserted"
    if record_hash(record) != record["hash"]:
        return "its content does not match its `hash`: the record was edited"
    return None
