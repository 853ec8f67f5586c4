"""Run the data-science agent: `uv run main.py`, then open http://localhost:8080."""

from __future__ import annotations

import sys

import uvicorn

from data_science.config import ConfigError, load_settings


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as error:
        sys.exit(str(error))
    from data_science.server.app import create_app

    uvicorn.run(create_app(settings), host=settings.HOST, port=settings.PORT, log_config=None)


if __name__ == "__main__":
    main()
