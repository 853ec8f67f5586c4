"""verify_production.py run as an operator would, against good and broken setups."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.engine import make_url

from data_science.config import Settings
from data_science.storage.workspace import Workspace
from tests.conftest import fresh_postgres_database, store_frame

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PII_SECRET = "p" * 40
TOKEN_DEPLOY = {
    "HOST": "0.0.0.0",
    "AUTH_MODE": "token",
    "AUTH_TOKENS": "alice:alice-secret-token-0123,bob:bob-secret-token-01234",
    "PII_HASH_SECRET": PII_SECRET,
}


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
    code, checks = verify(tmp_path, "--create-dirs", HOST="0.0.0.0", PII_HASH_SECRET=PII_SECRET)
    assert code == 1 and checks["config"]["status"] == "fail"
    assert "ALLOW_UNAUTHENTICATED_NETWORK" in checks["config"]["detail"]


def test_a_network_deploy_with_tokens_passes(tmp_path: Path) -> None:
    code, checks = verify(tmp_path, "--create-dirs", **TOKEN_DEPLOY)
    assert code == 0, checks
    assert checks["auth"] == {
        "name": "auth",
        "status": "ok",
        "detail": "bearer tokens for 2 user(s)",
    }
    assert checks["exposure"]["status"] == "ok"
    assert TOKEN_DEPLOY["AUTH_TOKENS"].split(":")[1] not in json.dumps(checks)


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"AUTH_TOKENS": ""}, "AUTH_TOKENS"),
        ({"AUTH_TOKENS": "alice:too-short"}, "at least 16"),
        ({"PII_HASH_SECRET": ""}, "PII_HASH_SECRET"),
    ],
    ids=["no tokens", "weak token", "no PII secret"],
)
def test_a_network_deploy_with_a_missing_secret_fails(
    tmp_path: Path, broken: dict[str, str], named: str
) -> None:
    environment = {**TOKEN_DEPLOY, **broken}
    if not environment["PII_HASH_SECRET"]:
        del environment["PII_HASH_SECRET"]
    code, checks = verify(tmp_path, "--create-dirs", **environment)
    assert code == 1 and checks["config"]["status"] == "fail"
    assert named in checks["config"]["detail"]
    assert "too-short" not in checks["config"]["detail"]


@pytest.mark.parametrize(
    "env",
    [
        {"AUTH_MODE": "header", "HOST": "0.0.0.0", "PII_HASH_SECRET": "p" * 40},
        {"ALLOW_UNAUTHENTICATED_NETWORK": "true", "HOST": "0.0.0.0", "PII_HASH_SECRET": "p" * 40},
    ],
    ids=["proxy header", "explicit override"],
)
def test_trusting_the_network_or_a_proxy_passes_with_a_warning(
    tmp_path: Path, env: dict[str, str]
) -> None:
    code, checks = verify(tmp_path, "--create-dirs", **env)
    assert code == 0 and checks["exposure"]["status"] == "warn"


async def test_a_postgresql_session_store_is_checked_for_real(tmp_path: Path) -> None:
    async with fresh_postgres_database() as url:
        code, checks = verify(tmp_path, "--create-dirs", SESSION_SERVICE_URI=url)
    assert code == 0 and checks["session_store"]["status"] == "ok"
    down = make_url(url).set(port=9, password="s3cret-pw").render_as_string(hide_password=False)
    code, checks = verify(tmp_path, SESSION_SERVICE_URI=down)
    assert code == 1 and checks["session_store"]["status"] == "fail"
    assert "refused" in checks["session_store"]["detail"].lower()
    assert "s3cret-pw" not in checks["session_store"]["detail"]  # no password shown


@pytest.mark.parametrize(
    ("env", "name"), [({"MAX_UPLOAD_BYTES": "900000000"}, "limits"), ({"PORT": "http"}, "config")]
)
def test_bad_limits_and_bad_values_fail(tmp_path: Path, env: dict, name: str) -> None:
    code, checks = verify(tmp_path, "--create-dirs", **env)
    assert code == 1 and checks[name]["status"] == "fail"


def data_dir_with_a_sessions_files(tmp_path: Path) -> Path:
    """DATA_DIR with one session's dataset in its workspace; returns the session database."""
    settings = Settings(DATA_DIR=tmp_path / "data")
    settings.create_data_dirs()
    store_frame(Workspace(settings, "alice", "a-session"), pd.DataFrame({"a": [1]}), "s.csv")
    return settings.sessions_dir / "sessions.db"


@pytest.mark.parametrize(
    "content", [b"", b"SQLite format 3\x00" + bytes(range(256)) * 64], ids=["empty", "damaged"]
)
def test_a_session_store_that_lost_its_sessions_fails(tmp_path: Path, content: bytes) -> None:
    database = data_dir_with_a_sessions_files(tmp_path)
    database.write_bytes(content)
    code, checks = verify(tmp_path)
    assert code == 1 and checks["session_store"]["status"] == "fail"
    detail = checks["session_store"]["detail"]
    assert str(database) in detail and "backup" in detail and "move it aside" in detail
    assert database.read_bytes() == content  # checking did not turn it into an empty store


def test_code_execution_is_reported_with_why_it_is_or_is_not_offered(tmp_path: Path) -> None:
    _, checks = verify(tmp_path, "--create-dirs")
    assert checks["code_execution"] == {
        "name": "code_execution",
        "status": "ok",
        "detail": "the sandbox works; run_python goes to hosted models only",
    }
    _, checks = verify(tmp_path, ENABLE_CODE_EXECUTION="false")
    assert checks["code_execution"]["detail"] == "off (ENABLE_CODE_EXECUTION=false)"
    _, checks = verify(tmp_path, SUMMARY_MODE_ONLY="true")
    assert "off in summary mode" in checks["code_execution"]["detail"]


def test_without_user_namespaces_code_execution_is_a_warning_saying_why(tmp_path: Path) -> None:
    """As in a container that allows no user namespaces: the check warns and names the cause."""
    locked_down = (
        "import os, sys\n"
        "open('/proc/sys/user/max_user_namespaces', 'w').write('0')\n"
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n"
    )
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    result = subprocess.run(
        [
            *["unshare", "--user", "--map-root-user", sys.executable, "-c", locked_down],
            *[str(PROJECT_ROOT / "verify_production.py"), "--json", "--create-dirs"],
        ],
        cwd=tmp_path,
        env={**environment, "DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert result.returncode == 0  # a warning: the product works without code execution
    assert checks["code_execution"]["status"] == "warn"
    assert "run_python is not offered" in checks["code_execution"]["detail"]
    assert "user namespaces do not work here" in checks["code_execution"]["detail"]
