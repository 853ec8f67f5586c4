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
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from data_science.config import ConfigError, Settings, load_settings
from data_science.observability.audit import verify_chain
from data_science.observability.audit_db import verify_database_chain
from data_science.observability.checks import (
    Check,
    auth_check,
    code_execution_check,
    data_dir_checks,
    exposure_check,
    free_disk_check,
    libmagic_check,
    limits_check,
    object_store_check,
    ray_check,
    session_store_check,
)
from data_science.observability.logging import configure_logging
from data_science.runtime.ray_compute import reachability

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
    from data_science.runtime.threads import run_blocking
    from data_science.storage.integrity import store_problem
    from data_science.storage.objects import store_problem as object_store_problem
    from data_science.storage.session_store import describe_store_error, open_session_store

    checks = [Check("config", "ok", "all variables valid")]
    checks += data_dir_checks(settings)
    checks += [free_disk_check(settings), libmagic_check()]
    # The object store first: the session store's integrity check looks into it.
    objects = None
    if settings.STORAGE_URI is not None:
        problem = await run_blocking(object_store_problem, settings.STORAGE_URI)
        objects = object_store_check(settings.STORAGE_URI, problem)
        checks.append(objects)
    # Integrity first: the reachability query below would make ADK create its tables.
    if objects is not None and objects.status == "fail":
        checks.append(Check("session_store", "warn", "not checked: the object store failed"))
    elif problem := await store_problem(settings):
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
        sandbox_check(settings),
        ray_check(settings, reachability),
    ]
    store_ok = any(check.name == "session_store" and check.status == "ok" for check in checks)
    if settings.replicated and store_ok:  # an unreachable store is reported once, above
        checks.append(await audit_chain_check(settings))
    return checks


async def audit_chain_check(settings: Settings) -> Check:
    """With replicas, the deployment's audit chain in the database is intact."""
    try:
        report = await verify_database_chain(settings.session_db_uri)
    except Exception as error:  # the store failing now: say how, in its own words
        from data_science.storage.session_store import describe_store_error

        return Check("audit_chain", "fail", f"cannot be read: {describe_store_error(error)}")
    if not report.intact:
        return Check(
            "audit_chain", "fail", f"broken at record {report.broken_line}: {report.problem}"
        )
    return Check("audit_chain", "ok", f"{report.records} records, intact")


def sandbox_check(settings: Settings) -> Check:
    """Runs a trivial call in the code sandbox when the settings would offer `run_python`."""
    from data_science.llm.selection import model_name
    from data_science.runtime.sandbox import sandbox_problem

    wanted = settings.ENABLE_CODE_EXECUTION and not settings.SUMMARY_MODE_ONLY
    problem = sandbox_problem() if wanted else None
    return code_execution_check(settings, model_name(settings) != "offline", problem)


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


def audit_main(argv: list[str] | None = None) -> int:
    """`verify_audit.py [PATH]`: check the audit hash chain (PATH defaults to AUDIT_LOG_PATH).

    It lives here so that the operator's scripts read the settings in one place. Exits 0 when the
    chain is intact, 1 when a record was edited, deleted, inserted or moved or a line is
    malformed, 2 when the file cannot be read.
    """
    parser = argparse.ArgumentParser(description="Verify the audit trail's hash chain.")
    parser.add_argument("path", nargs="?", type=Path, help="audit file (default: AUDIT_LOG_PATH)")
    path: Path | str | None = parser.parse_args(argv).path
    try:
        if path is None:
            settings = load_settings()
            path = settings.audit_log_path
            if settings.replicated:  # the deployment's chain is in the database
                path = settings.session_db_uri.rpartition("@")[2]
                report = asyncio.run(verify_database_chain(settings.session_db_uri))
            else:
                report = verify_chain(path)
        else:
            report = verify_chain(Path(path))
    except ConfigError as error:
        print(f"Cannot find the audit log: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"Cannot read the audit log {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, TimeoutError) as error:
        print(f"Cannot read the audit table at {path}: {type(error).__name__}", file=sys.stderr)
        return 2
    if report.intact:
        print(f"{path}: {report.records} records checked, chain intact.")
        print(f"Last hash: {report.last_hash} (keep a copy elsewhere to detect truncation).")
        return 0
    print(f"{path}: chain BROKEN at line {report.broken_line}: {report.problem}.")
    print(f"{report.records} records before it verified.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
