"""Refuse to serve on a session store that should hold sessions but is empty or unreadable.

ADK creates its tables in whatever database it is given, so a session database emptied to zero
bytes, overwritten, replaced or looked for in the wrong place would quietly become a new, empty
store: every chat would answer 404 and the sessions' files would stay on disk out of reach.
`main.py` (before anything starts) and `verify_production.py` look at the store for real:

- SQLite: the file is opened without creating it, SQLite's `PRAGMA quick_check` reads every
  page, and ADK's tables must be there;
- PostgreSQL (any server database): the server must answer within SESSION_STORE_TIMEOUT_SECONDS,
  ADK's tables must be there and be readable.

The store "should hold sessions" when the workspace (DATA_DIR/ready) or the artifacts directory
holds some session's files, or when the SQLite file holds anything but ADK's tables. A brand-new
DATA_DIR (no file, or an empty one, and no session's files) starts with an empty store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from data_science.config import Settings
from data_science.observability.checks import SESSION_STORE_TIMEOUT_SECONDS
from data_science.runtime.threads import run_blocking
from data_science.storage.workspace import holds_items

# The tables of ADK's session schema (both its versions); `adk_internal_metadata` is v1 only.
ADK_TABLES = frozenset({"sessions", "events", "app_states", "user_states"})
SQLITE_BUSY_SECONDS = 30
DAMAGE_LINES = 3


async def store_problem(settings: Settings) -> str | None:
    """Why the app must not start on its session store (one message for a person), or None."""
    holders = await run_blocking(session_data_dirs, settings)
    url = make_url(settings.session_db_uri)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            return None  # a store that lives and dies with the process: nothing to lose
        return await run_blocking(_sqlite_problem, Path(url.database), holders)
    return await _server_problem(url, holders)


def session_data_dirs(settings: Settings) -> list[Path]:
    """The data directories that hold some session's files."""
    holders = []
    if holds_items(settings):
        holders.append(settings.ready_dir)
    if any(path.is_file() for path in settings.artifacts_dir.rglob("*")):
        holders.append(settings.artifacts_dir)
    return holders


def _sqlite_problem(path: Path, holders: list[Path]) -> str | None:
    if not path.exists():
        return _refusal(str(path), "does not exist", holders, movable=False) if holders else None
    if path.stat().st_size == 0:
        return _refusal(str(path), "is empty (0 bytes)", holders) if holders else None
    try:
        tables, damage = _sqlite_contents(path)
    except sqlite3.Error as error:
        return _refusal(str(path), f"cannot be read (SQLite: {error})", holders)
    if damage:
        return _refusal(str(path), f"is damaged (SQLite's integrity check: {damage})", holders)
    if not tables:  # a valid file that never got a table: as good as empty
        return _refusal(str(path), "holds no table", holders) if holders else None
    if missing := ADK_TABLES - tables:
        problem = f"is not a whole session database (ADK's tables {_listed(missing)} are missing)"
        return _refusal(str(path), problem, holders)
    return None


def _sqlite_contents(path: Path) -> tuple[set[str], str | None]:
    """The file's tables and what SQLite's integrity check found wrong (None: nothing).

    Opened read-write (never created): after a crash SQLite must be able to roll back a
    half-written transaction from its journal, which is recovery, not damage.
    """
    uri = f"{path.resolve().as_uri()}?mode=rw"
    connection = sqlite3.connect(uri, uri=True, timeout=SQLITE_BUSY_SECONDS)
    try:
        findings = [str(row[0]) for row in connection.execute("PRAGMA quick_check")]
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = {str(row[0]) for row in rows}
    finally:
        connection.close()
    damage = None if findings == ["ok"] else "; ".join(findings[:DAMAGE_LINES])
    return tables, damage


async def _server_problem(url: URL, holders: list[Path]) -> str | None:
    shown = url.render_as_string(hide_password=True)
    engine = create_async_engine(url, hide_parameters=True)
    try:
        tables = await asyncio.wait_for(_server_tables(engine), SESSION_STORE_TIMEOUT_SECONDS)
    except Exception as error:
        # Imported here: it brings ADK, and main.py runs this check before the port opens.
        from data_science.storage.session_store import describe_store_error, is_store_error

        if not is_store_error(error):
            raise
        return (
            f"The session store {shown} cannot be used ({describe_store_error(error)}). The app "
            "checks its sessions before it starts: start the database, or correct "
            "SESSION_SERVICE_URI."
        )
    finally:
        await engine.dispose()
    if not tables & ADK_TABLES:
        return _refusal(shown, "holds none of ADK's tables", holders) if holders else None
    if missing := ADK_TABLES - tables:
        problem = f"is missing ADK's tables {_listed(missing)}"
        return _refusal(shown, problem, holders, movable=False)
    return None


async def _server_tables(engine: AsyncEngine) -> set[str]:
    """The database's tables; ADK's ones are also read, so unreadable ones fail here."""
    async with engine.connect() as connection:
        names = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        for table in sorted(ADK_TABLES & names):
            # The names come from the fixed ADK_TABLES set, never from input.
            await connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))  # noqa: S608  # nosec B608
    return names


def _refusal(store: str, problem: str, holders: list[Path], *, movable: bool = True) -> str:
    """The one message: which store, what is wrong, and the two ways forward."""
    held = ""
    if holders:
        verb = "holds" if len(holders) == 1 else "hold"
        held = f", while {_listed(holders)} {verb} the files of earlier sessions"
    if movable:
        aside = f"move it aside together with {_listed(holders)}" if holders else "move it aside"
    else:
        aside = f"move {_listed(holders)} aside" if holders else "point it at a new database"
    return (
        f"The session store {store} {problem}{held}. The app will not start on it: every chat "
        f"it should hold would be lost. Restore {store} from a backup, or {aside} to start "
        "with an empty store."
    )


def _listed(items: Iterable[str | Path]) -> str:
    names = sorted(str(item) for item in items)
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
