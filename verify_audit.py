"""Verify the audit trail's hash chain: `uv run python verify_audit.py [PATH]`.

PATH defaults to AUDIT_LOG_PATH (DATA_DIR/audit.jsonl). Prints how many records were checked
and, if the chain is broken, the first bad line and why. Exits 0 when the chain is intact,
1 when a record was edited, deleted, inserted or moved or a line is malformed, 2 when the file
cannot be read. The check itself is `verify_production.audit_main`.
"""

from __future__ import annotations

import sys

from verify_production import audit_main

if __name__ == "__main__":
    sys.exit(audit_main())
