"""One turn at a time in a chat, across every replica: a lease row in the session store.

Two turns at once on one session made ADK's store refuse the later write ("the session has been
modified since it was loaded"): one turn ended in an error (a 500 on `/run`, an error event on
`/run_sse`) and the history kept a question with no answer. Before `/run` or `/run_sse` runs,
this middleware takes a lease on the chat in a small table of the session store's own database
(the SQLite file or the PostgreSQL database SESSION_SERVICE_URI names), so replicas that share
the store exclude each other. A second turn answers 409 `turn_in_progress` at once instead of
waiting: a turn can run for minutes (AutoML), a message written before the first answer arrived
would be answered out of its context, and the chat page keeps the typed text for sending again.

The lease is one row keyed by a hash of the user and session ids, taken atomically (the primary
key refuses a second holder; only an expired row is replaced) with an expiry the holder renews
while the turn runs. It is deleted just before the response's last bytes are sent (the whole
SSE stream before them), so the chat is free the moment a client has its answer.
A replica killed mid-turn leaves its row behind, and the chat is free again TURN_LEASE_SECONDS
later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid

from google.adk.cli.api_server import RunAgentRequest
from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from data_science.observability.logging import get_logger
from data_science.runtime.shared_tables import SharedTable
from data_science.server.auth import replay_body
from data_science.server.responses import error_response

log = get_logger(__name__)

TURN_ROUTES = frozenset({"/run", "/run_sse"})
LEASE_SECONDS = 60.0  # how long a dead replica's turn keeps its chat (TURN_LEASE_SECONDS)
RENEW_FRACTION = 3  # a live turn pushes its expiry on three times per lease
LEASES = Table(
    "turn_leases",
    MetaData(),
    Column("chat_key", String(64), primary_key=True),
    Column("holder", String(32), nullable=False),
    Column("expires_at", Float, nullable=False),  # seconds since the epoch
)


def lease_key(user_id: str, session_id: str) -> str:
    """The chat's row key: a hash, so the table holds no user ids (and any id fits)."""
    return hashlib.sha256(f"{user_id}\0{session_id}".encode()).hexdigest()


class TurnLeases:
    """The lease table, on the session store's engine."""

    def __init__(self, engine: AsyncEngine, lease_seconds: float = LEASE_SECONDS) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self._table = SharedTable(engine, LEASES)

    async def acquire(self, key: str, holder: str) -> bool:
        """Take the chat's lease: True, or False while another live turn holds it."""
        await self._table.prepare()
        now = time.time()
        try:
            async with self.engine.begin() as connection:
                await connection.execute(
                    delete(LEASES).where(LEASES.c.chat_key == key, LEASES.c.expires_at < now)
                )
                await connection.execute(
                    insert(LEASES).values(
                        chat_key=key, holder=holder, expires_at=now + self.lease_seconds
                    )
                )
        except IntegrityError:
            return False
        return True

    async def renew(self, key: str, holder: str) -> bool:
        """Push the expiry on; False if the lease was lost (it had lapsed and was taken)."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(LEASES)
                .where(LEASES.c.chat_key == key, LEASES.c.holder == holder)
                .values(expires_at=time.time() + self.lease_seconds)
            )
        return bool(result.rowcount)

    async def release(self, key: str, holder: str) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(
                delete(LEASES).where(LEASES.c.chat_key == key, LEASES.c.holder == holder)
            )


class TurnLock:
    """Runs a `/run` or `/run_sse` request only while it holds its chat's lease."""

    def __init__(self, app: ASGIApp, leases: TurnLeases) -> None:
        self.app = app
        self.leases = leases

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in TURN_ROUTES:
            await self.app(scope, receive, send)
            return
        try:
            body = await Request(scope, receive).body()
        except ClientDisconnect:
            return
        receive = replay_body(body, receive)
        chat = chat_of(body)
        if chat is None:  # not a turn request: the route answers 422 itself
            await self.app(scope, receive, send)
            return
        key, holder = lease_key(*chat), uuid.uuid4().hex
        try:
            acquired = await self.leases.acquire(key, holder)
        except SQLAlchemyError as error:
            log.error("turn_lock.store_unavailable", error_type=type(error).__name__)
            await error_response(
                503,
                "store_unavailable",
                "The chat store cannot be reached right now; try again in a moment.",
            )(scope, receive, send)
            return
        if not acquired:
            log.info("turn_lock.busy")
            await error_response(
                409,
                "turn_in_progress",
                "A turn is already running in this chat; wait for it to finish, then send "
                "your message again.",
            )(scope, receive, send)
            return
        renewing = asyncio.create_task(self._keep(key, holder))
        released = False

        async def release() -> None:
            nonlocal released
            if not released:
                released = True
                renewing.cancel()
                # Shielded: a client that goes away cancels the request, not the release.
                await asyncio.shield(self._release(key, holder))

        async def send_then_free(message: Message) -> None:
            # The lease goes before the response's last bytes: a client that sends its next
            # message the moment this answer ends must find the chat free, not a 409.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                await release()
            await send(message)

        try:
            await self.app(scope, receive, send_then_free)
        finally:
            await release()

    async def _keep(self, key: str, holder: str) -> None:
        while True:
            await asyncio.sleep(self.leases.lease_seconds / RENEW_FRACTION)
            try:
                if not await self.leases.renew(key, holder):
                    log.warning("turn_lock.lease_lost")
            except SQLAlchemyError as error:
                log.warning("turn_lock.renew_failed", error_type=type(error).__name__)

    async def _release(self, key: str, holder: str) -> None:
        try:
            await self.leases.release(key, holder)
        except SQLAlchemyError as error:  # the lease lapses by itself
            log.warning("turn_lock.release_failed", error_type=type(error).__name__)


def chat_of(body: bytes) -> tuple[str, str] | None:
    """(user id, session id) of a turn request, parsed as ADK's route parses it."""
    try:
        request = RunAgentRequest.model_validate(json.loads(body))
    except ValueError:  # not JSON, or not a turn (pydantic's ValidationError is a ValueError)
        return None
    return request.user_id, request.session_id
