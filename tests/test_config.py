import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from data_science.config import ConfigError, Settings, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def test_defaults_match_the_design(settings: Settings) -> None:
    assert settings.MAX_UPLOAD_BYTES == 50_000_000
    assert settings.MAX_ZIP_ENTRIES == 200
    assert settings.MAX_ZIP_UNCOMPRESSED_BYTES == 500_000_000
    assert settings.MAX_IMAGE_PIXELS == 50_000_000
    assert settings.DEFAULT_AUTOML_SECONDS == 60
    assert settings.MAX_AUTOML_SECONDS == 600
    assert settings.AUTOML_PRESET == "good_quality"
    assert settings.OPENAI_MODEL == "gpt-4o"
    assert settings.LLM_TEMPERATURE == 0.2
    assert settings.LLM_MAX_TOKENS == 4096
    assert settings.LOG_FORMAT == "json"
    assert (settings.HOST, settings.PORT) == ("127.0.0.1", 8080)
    assert {
        "csv",
        "tsv",
        "txt",
        "json",
        "xlsx",
        "parquet",
        "zip",
        "png",
        "jpg",
        "jpeg",
        "webp",
        "gif",
    } == settings.ALLOWED_EXTENSIONS
    assert settings.ENABLE_SAFE_UNZIP and settings.STRIP_EXIF and not settings.SUMMARY_MODE_ONLY


def test_environment_overrides_and_extension_lists_are_normalised(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLOWED_EXTENSIONS", " CSV, .Parquet ,")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "1234")
    monkeypatch.setenv("summary_mode_only", "true")
    loaded = load_settings()
    assert {"csv", "parquet"} == loaded.ALLOWED_EXTENSIONS
    assert loaded.MAX_UPLOAD_BYTES == 1234
    assert loaded.SUMMARY_MODE_ONLY is True


def test_every_bad_variable_is_named_in_one_message(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "eighty")
    monkeypatch.setenv("MAX_UPLOAD_BYTES", "-5")
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    for name in ("PORT", "MAX_UPLOAD_BYTES", "LOG_FORMAT"):
        assert name in message


def test_inconsistent_limits_are_refused(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_AUTOML_SECONDS", "900")
    with pytest.raises(ConfigError, match="DEFAULT_AUTOML_SECONDS"):
        load_settings()


def test_data_dirs_are_created_private(settings: Settings) -> None:
    for directory in (
        settings.DATA_DIR,
        settings.quarantine_dir,
        settings.ready_dir,
        settings.sessions_dir,
        settings.artifacts_dir,
    ):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_sessions_default_to_sqlite_under_the_data_dir(settings: Settings) -> None:
    assert (
        settings.session_db_uri == f"sqlite+aiosqlite:///{settings.DATA_DIR}/sessions/sessions.db"
    )


IMPORT_THEN_ASK = """
import os
from google.adk.features import FeatureName, is_feature_enabled
import data_science.agent as agent
imported = (os.path.exists(os.environ["DATA_DIR"]),
            is_feature_enabled(FeatureName.FUNCTION_TOOL_ARG_VALIDATION))
app = agent.app
asked = (os.path.exists(os.environ["DATA_DIR"]),
         is_feature_enabled(FeatureName.FUNCTION_TOOL_ARG_VALIDATION))
print(imported, asked, app is agent.app, agent.root_agent is app.root_agent)
"""


def test_importing_the_agent_builds_nothing_until_adk_asks_for_the_app(
    settings: Settings, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh-data-dir"
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_THEN_ASK],
        env={**os.environ, "DATA_DIR": str(fresh)},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Imported: no directory, no ADK flag. Asked for `app`: built once, from the environment.
    assert result.stdout.split("\n")[-2] == "(False, False) (True, True) True True"


def test_main_refuses_to_start_on_bad_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "main.py")],
        env={
            "PATH": "/usr/bin:/bin",
            "PORT": "0x",
            "MAX_ZIP_ENTRIES": "none",
            "DATA_DIR": str(tmp_path),
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Invalid configuration" in result.stderr
    assert "PORT" in result.stderr and "MAX_ZIP_ENTRIES" in result.stderr


SECRET = "s" * 40


def test_token_mode_reads_user_token_pairs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PII_HASH_SECRET", SECRET)
    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", f" alice:{'a' * 20} , bob@example.org:{'b' * 20}-._~+/== ")
    loaded = load_settings()
    assert loaded.auth_users_by_token() == {
        "a" * 20: "alice",
        f"{'b' * 20}-._~+/==": "bob@example.org",  # every character RFC 6750 allows
    }
    assert "a" * 20 not in repr(loaded)  # tokens are secrets


@pytest.mark.parametrize(
    ("tokens", "complaint"),
    [
        ("", "AUTH_MODE=token needs AUTH_TOKENS"),
        (f"{'a' * 20}", "entry 1 is not of the form user:token"),
        ("alice:short-token", "entry 1: a token needs at least 16"),
        (f"alice:{'a' * 20},bob/x:{'b' * 20}", "entry 2: a user id may only hold"),
        (f"alice:{'a' * 20},bob:{'a' * 20}", "entry 2 repeats an earlier token"),
        # A client could never send these after "Bearer ": RFC 6750's b64token only.
        (f"alice:{'a' * 20}:x", "entry 1: a token may only hold"),
        (f"alice:{'a' * 20}!", "entry 1: a token may only hold"),
        (f"alice:{'a' * 20}=x", "entry 1: a token may only hold"),
    ],
)
def test_bad_auth_tokens_are_refused_without_showing_them(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tokens: str, complaint: str
) -> None:
    monkeypatch.setenv("PII_HASH_SECRET", SECRET)
    monkeypatch.setenv("AUTH_MODE", "token")
    monkeypatch.setenv("AUTH_TOKENS", tokens)
    with pytest.raises(ConfigError, match=complaint) as raised:
        load_settings()
    assert "short-token" not in str(raised.value) and "a" * 20 not in str(raised.value)


def test_a_network_host_without_auth_needs_the_explicit_override(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PII_HASH_SECRET", SECRET)
    monkeypatch.setenv("HOST", "0.0.0.0")
    with pytest.raises(ConfigError, match="ALLOW_UNAUTHENTICATED_NETWORK=true"):
        load_settings()
    monkeypatch.setenv("ALLOW_UNAUTHENTICATED_NETWORK", "true")
    assert load_settings().HOST == "0.0.0.0"
    monkeypatch.delenv("ALLOW_UNAUTHENTICATED_NETWORK")
    monkeypatch.setenv("AUTH_MODE", "header")
    assert load_settings().AUTH_MODE == "header"
