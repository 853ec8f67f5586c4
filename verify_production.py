"""Check this machine and configuration before a deploy: `uv run python verify_production.py`.

Every check runs for real (directories are written to, the session store is checked for damage
and queried, libmagic sniffs a sample). Prints a table, or JSON with --json; exits 1 if any check
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from data_science.config import ConfigError, Settings, load_settings
from data_science.observability.checks import (
    Check,
    auth_check,
    data_dir_checks,
    exposure_check,
    free_disk_check,
    libmagic_check,
    limits_check,
    session_store_check,
)
from data_science.observability.logging import configure_logging

SYMBOLS = {"ok": "PASS", "warn": "WARN", "fail": "FAIL"}


def model_check(settings: Settings) -> Check:
    from data_science.llm.selection import model_name

    name = model_name(settings)
    if name == "offline":
        return Check(
            "model",
            "warn",
            "no LLM configured: the embedded offline model will answer "
            "(set OPENAI_API_KEY, USE_GEMINI+GOOGLE_API_KEY or LLM_MODEL)",
        )
    return Check("model", "ok", name)


async def run_checks(settings: Settings) -> list[Check]:
    from data_science.storage.integrity import store_problem
    from data_science.storage.session_store import describe_store_error, open_session_store

    checks = [Check("config", "ok", "all variables valid")]
    checks += data_dir_checks(settings)
    checks += [free_disk_check(settings), libmagic_check()]
    # Integrity first: the reachability query below would make ADK create its tables.
    if problem := await store_problem(settings):
        checks.append(Check("session_store", "fail", problem))
    else:
        service = open_session_store(settings)
        try:
            checks.append(await session_store_check(service, describe_store_error))
        finally:
            await service.close()
    checks += [
        model_check(settings),
        limits_check(settings),
        auth_check(settings),
        exposure_check(settings),
    ]
    return checks


def render_table(checks: list[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = [f"{SYMBOLS[check.status]}  {check.name:<{width}}  {check.detail}" for check in checks]
    failed = sum(check.status == "fail" for check in checks)
    warned = sum(check.status == "warn" for check in checks)
    lines.append(f"\n{len(checks)} checks: {failed} failed, {warned} warnings.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--create-dirs",
        action="store_true",
        help="create missing data directories (mode 0700) before checking",
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        checks = [Check("config", "fail", str(error))]
    else:
        configure_logging(settings)  # log lines (a failing store's detail) go to stderr
        if args.create_dirs:
            settings.create_data_dirs()
        checks = asyncio.run(run_checks(settings))
    if args.json:
        print(
            json.dumps(
                {
                    "ok": all(c.status != "fail" for c in checks),
                    "checks": [asdict(c) for c in checks],
                },
                indent=2,
            )
        )
    else:
        print(render_table(checks))
    return 1 if any(check.status == "fail" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
