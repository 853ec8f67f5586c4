"""Small tables of the app's own on the session store's database, which replicas share.

The turn leases (server/turn_lock.py) and the running jobs (runtime/jobs.py) each keep one
table there; `SharedTable` creates it on first use, once per process.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine


class SharedTable:
    """`table` on `engine`, created (if missing) by the first call of `prepare`."""

    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self.engine = engine
        self.table = table
        self._ready = False

    async def prepare(self) -> None:
        if self._ready:
            return
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(self.table.create, checkfirst=True)
        except DBAPIError:
            return  # another replica created it at the same moment: the next call tries again
        self._ready = True
