"""Verify the audit trail's hash chain: `uv run python verify_audit.py [PATH]`.

PATH defaults to AUDIT_LOG_PATH (DATA_DIR/audit.jsonl). Prints how many records were checked
and, if the chain is broken, the first bad line and why. Exits 0 when the chain is intact,
1 when a record was edited, deleted, inserted or moved or a line is malformed, 2 when the file
cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from data_science.config import ConfigError, load_settings
from data_science.observability.audit import verify_chain


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("path", nargs="?", type=Path, help="audit file (default: AUDIT_LOG_PATH)")
    args = parser.parse_args(argv)
    path: Path | None = args.path
    if path is None:
        try:
            path = load_settings().audit_log_path
        except ConfigError as error:
            print(f"Cannot find the audit log: {error}", file=sys.stderr)
            return 2
    try:
        report = verify_chain(path)
    except OSError as error:
        print(f"Cannot read the audit log {path}: {error.strerror or error}", file=sys.stderr)
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
