"""The process's composition root: `uv run main.py` or the `data-science-agent` command.

Settings are read here, once, and handed to everything else; then the store is checked and the
port opened (the app is built behind it: boot.py). Open http://localhost:8080 afterwards.
"""

from __future__ import annotations

import asyncio
import sys

from data_science.config import ConfigError, load_settings
from data_science.observability.logging import configure_logging


def main() -> None:
    """Run the server until SIGTERM or Ctrl+C; exit with a message when it cannot start."""
    try:
        settings = load_settings()
    except ConfigError as error:
        sys.exit(str(error))
    # Before importing the app, so that what its libraries log on import is formatted too.
    configure_logging(settings)
    from data_science.storage.integrity import store_problem
    from data_science.storage.objects import store_problem as object_store_problem

    # The object store first: the session store's check below looks into it for sessions' files.
    if settings.STORAGE_URI and (problem := object_store_problem(settings.STORAGE_URI)):
        sys.exit(problem)
    # Before anything opens the store: ADK would turn an empty or replaced one into a new store.
    if problem := asyncio.run(store_problem(settings)):
        sys.exit(problem)
    if settings.RAY_ADDRESS is not None:  # before the port opens: a wrong address stops here
        from data_science.runtime.ray_compute import connect

        if problem := connect(settings):
            sys.exit(problem)
    from data_science.server.boot import BootingApp
    from data_science.server.shutdown import serve

    # The port opens now; the app is imported, built and warmed up behind it (server/boot.py).
    front = BootingApp(settings)
    serve(front, front.shutdown, settings)
    if front.failed:
        sys.exit(f"The server could not start: {front.failed}")
