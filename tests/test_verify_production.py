"""verify_production.py run as an operator would, against good and broken setups."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def verify(tmp_path: Path, *args: str, **env: str) -> tuple[int, dict]:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    environment.update({"DATA_DIR": str(tmp_path / "data"), **env})
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "verify_production.py"), "--json", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    return result.returncode, {check["name"]: check for check in report["checks"]}


def test_a_good_setup_passes_with_a_warning_for_the_offline_model(tmp_path: Path) -> None:
    code, checks = verify(tmp_path, "--create-dirs")
    assert code == 0
    assert checks["session_store"]["status"] == "ok"
    assert checks["model"]["status"] == "warn"
    assert all(c["status"] != "fail" for c in checks.values())


def test_a_group_readable_data_dir_fails(tmp_path: Path) -> None:
    verify(tmp_path, "--create-dirs")
    (tmp_path / "data" / "ready").chmod(0o755)
    code, checks = verify(tmp_path)
    assert code == 1 and "must be 700" in checks["ready_dir"]["detail"]


def test_missing_dirs_fail_without_create(tmp_path: Path) -> None:
    code, checks = verify(tmp_path)
    assert code == 1 and checks["data_dir"]["status"] == "fail"


def test_an_unreachable_session_store_fails(tmp_path: Path) -> None:
    code, checks = verify(
        tmp_path,
        "--create-dirs",
        SESSION_SERVICE_URI="sqlite+aiosqlite:////nonexistent/dir/sessions.db",
    )
    assert code == 1 and checks["session_store"]["status"] == "fail"


def test_exposing_the_app_without_auth_fails(tmp_path: Path) -> None:
    code, checks = verify(tmp_path, "--create-dirs", HOST="0.0.0.0")
    assert code == 1 and checks["exposure"]["status"] == "fail"


@pytest.mark.parametrize(
    ("env", "name"), [({"MAX_UPLOAD_BYTES": "900000000"}, "limits"), ({"PORT": "http"}, "config")]
)
def test_bad_limits_and_bad_values_fail(tmp_path: Path, env: dict, name: str) -> None:
    code, checks = verify(tmp_path, "--create-dirs", **env)
    assert code == 1 and checks[name]["status"] == "fail"
