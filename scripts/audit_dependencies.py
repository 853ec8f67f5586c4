"""Audit the locked dependencies for known vulnerabilities with pip-audit.

`uv run python scripts/audit_dependencies.py` exports uv.lock as pinned requirements, asks
pip-audit (PyPI's vulnerability service) about every package, and fails when a package has a
known vulnerability that `security/audit-ignore.toml` does not list with an unexpired date.
If the service cannot be reached at all, it says so loudly; `--strict` makes that a failure too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
IGNORE_FILE = ROOT / "security" / "audit-ignore.toml"


@dataclass(frozen=True)
class Verdict:
    failures: list[str]
    warnings: list[str]
    audited: int


def load_ignores(path: Path, today: dt.date) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Unexpired ignore entries by vulnerability id, and problems with the file itself."""
    entries = tomllib.loads(path.read_text()).get("ignore", []) if path.exists() else []
    ignores, problems = {}, []
    for entry in entries:
        missing = [key for key in ("id", "package", "reason", "expires") if not entry.get(key)]
        if missing:
            problems.append(f"ignore entry {entry.get('id', '?')} lacks {', '.join(missing)}")
        elif entry["expires"] < today:
            problems.append(
                f"ignore entry {entry['id']} ({entry['package']}) expired on "
                f"{entry['expires']}: fix the dependency or review the entry"
            )
        else:
            ignores[entry["id"]] = entry
    return ignores, problems


def judge(
    report: dict[str, Any], ignores: dict[str, dict[str, Any]], problems: list[str]
) -> Verdict:
    """Turn pip-audit's JSON report into failures (block CI) and warnings."""
    failures, warnings = list(problems), []
    dependencies = report.get("dependencies", [])
    audited = [dep for dep in dependencies if "skip_reason" not in dep]
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            if ids & ignores.keys():
                continue
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            failures.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
    skipped = len(dependencies) - len(audited)
    if dependencies and not audited:
        warnings.append(
            f"NOT AUDITED: the vulnerability service answered for none of the "
            f"{skipped} packages (is https://pypi.org/pypi/<name>/<version>/json "
            "reachable from this machine?)"
        )
    elif skipped:
        warnings.append(f"{skipped} of {len(dependencies)} packages could not be looked up")
    return Verdict(failures, warnings, len(audited))


def run_pip_audit() -> dict[str, Any]:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH; install it with `pip install uv`")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as requirements:
        exported = subprocess.run(  # noqa: S603 - fixed argument list
            [
                uv,
                "export",
                "--frozen",
                "--no-hashes",
                "--no-emit-project",
                "--all-groups",
                "--format",
                "requirements-txt",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        requirements.write(exported.stdout)
        requirements.flush()
        audit = subprocess.run(  # noqa: S603 - fixed argument list
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-r",
                requirements.name,
                "--no-deps",
                "--disable-pip",
                "--vulnerability-service",
                "pypi",
                "--format",
                "json",
                "--progress-spinner",
                "off",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    if not audit.stdout.strip():
        raise SystemExit(f"pip-audit produced no report: {audit.stderr[-2000:]}")
    return dict(json.loads(audit.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when the vulnerability service cannot be reached",
    )
    args = parser.parse_args(argv)
    ignores, problems = load_ignores(IGNORE_FILE, dt.date.today())
    verdict = judge(run_pip_audit(), ignores, problems)
    for warning in verdict.warnings:
        print(f"WARNING: {warning}")
    for failure in verdict.failures:
        print(f"VULNERABLE: {failure}")
    print(
        f"dependency audit: {verdict.audited} packages audited, "
        f"{len(verdict.failures)} problems, {len(ignores)} reviewed ignores"
    )
    unreachable = args.strict and verdict.audited == 0
    return 1 if verdict.failures or unreachable else 0


if __name__ == "__main__":
    sys.exit(main())
