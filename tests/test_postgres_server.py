"""The throwaway PostgreSQL the persistence tests start when TEST_POSTGRES_URL is not set, from
the system's binaries and from the pgserver wheel's (a machine without Debian's package)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.postgres_server import postgres_binaries, start_postgres


@pytest.mark.parametrize("system", [True, False], ids=["system first", "pgserver wheel"])
async def test_a_throwaway_server_starts_and_answers(system: bool) -> None:
    binaries = postgres_binaries(system=system)
    if not system:
        assert "pgserver" in binaries.parts
    url = make_url(start_postgres(binaries))
    assert url.host == "127.0.0.1"
    connection = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database, timeout=30
    )
    try:
        assert await connection.fetchval("SELECT 40 + 2") == 42
    finally:
        await connection.close()
