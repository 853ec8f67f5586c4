"""The one way off the event loop for blocking work that is not CPU-heavy: disk, locks, clients.

CPU-heavy work (parsing, fitting, drawing) goes to a worker process instead
(`runtime.workers.run_cpu`): in a thread it would still hold the GIL and delay the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


async def run_blocking(function: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """Await `function(*args, **kwargs)` running in a thread, so the event loop keeps serving.

    Context variables (the request's log context) travel with the call.
    """
    return await asyncio.to_thread(function, *args, **kwargs)
