"""Log lines, PII hashing and timed_operation (the real app's logs: test_operations_e2e)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import stat
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from data_science.config import ConfigError, Settings, load_settings
from data_science.observability.logging import (
    REDACTED,
    USER_LABEL_CHARS,
    _local_pii_key,
    configure_logging,
    get_logger,
    hash_user_id,
    timed_operation,
)

FAKE_KEY = "sk-ant-fake-0123456789abcdefghijklmnop"
PII_SECRET = "pii-secret-for-the-test-0123456789abcdef"


def operation_count(operation: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "dsagent_operation_duration_seconds_count",
        {"operation": operation, "outcome": outcome},
    )
    return value or 0.0


# PII hashing --------------------------------------------------------------------------------


def test_the_user_label_is_an_hmac_keyed_by_the_secret(settings: Settings) -> None:
    keyed = settings.model_copy(update={"PII_HASH_SECRET": SecretStr(PII_SECRET)})
    other = settings.model_copy(update={"PII_HASH_SECRET": SecretStr(PII_SECRET[::-1])})
    expected = hmac.new(PII_SECRET.encode(), b"alice", hashlib.sha256).hexdigest()
    assert hash_user_id("alice", keyed) == expected[:USER_LABEL_CHARS]
    assert hash_user_id("alice", keyed) == hash_user_id("alice", keyed)
    assert hash_user_id("alice", other) != hash_user_id("alice", keyed)
    assert hash_user_id("bob", keyed) != hash_user_id("alice", keyed)


def test_local_mode_generates_one_private_key_per_data_dir_and_keeps_it(
    settings: Settings, tmp_path: Path
) -> None:
    assert settings.is_local_mode and settings.PII_HASH_SECRET is None
    first = hash_user_id("alice", settings)
    key_file = settings.pii_secret_path
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _local_pii_key.cache_clear()  # as after a restart
    assert hash_user_id("alice", settings) == first
    elsewhere = settings.model_copy(update={"DATA_DIR": tmp_path / "other-data"})
    assert hash_user_id("alice", elsewhere) != first


def test_a_damaged_local_key_is_refused_not_replaced(settings: Settings) -> None:
    settings.pii_secret_path.write_text("short\n")
    _local_pii_key.cache_clear()
    with pytest.raises(ConfigError, match="damaged"):
        hash_user_id("alice", settings)
    assert settings.pii_secret_path.read_text() == "short\n"
    _local_pii_key.cache_clear()


@pytest.mark.parametrize(
    "environment",
    [{"AUTH_MODE": "header"}, {"HOST": "0.0.0.0", "ALLOW_UNAUTHENTICATED_NETWORK": "true"}],
)
def test_outside_local_mode_a_missing_secret_is_a_config_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="PII_HASH_SECRET must be set"):
        load_settings()
    monkeypatch.setenv("PII_HASH_SECRET", PII_SECRET)
    assert load_settings().PII_HASH_SECRET is not None


def test_a_short_secret_is_a_config_error(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PII_HASH_SECRET", "too-short")
    with pytest.raises(ConfigError, match="at least 32 characters"):
        load_settings()


# Log lines ----------------------------------------------------------------------------------


def test_secret_looking_keys_and_values_are_redacted(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings)
    get_logger("test").info(
        f"calling with Bearer {FAKE_KEY}",
        api_key=FAKE_KEY,
        headers={"Authorization": "Basic abc", "accept": "json"},
        user_id="alice",
        input_tokens=12,
        note=f"key {FAKE_KEY} inside",
    )
    logging.getLogger("LiteLLM").warning("provider said %s", FAKE_KEY)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours, library = lines
    assert FAKE_KEY not in json.dumps(lines) and "alice" not in json.dumps(lines)
    assert ours["api_key"] == REDACTED and ours["user_id"] == REDACTED
    assert ours["headers"] == {"Authorization": REDACTED, "accept": "json"}
    assert ours["input_tokens"] == 12 and ours["note"] == f"key {REDACTED} inside"
    assert ours["event"] == f"calling with {REDACTED}"
    assert library["logger"] == "LiteLLM" and library["level"] == "warning"
    assert all({"request_id", "session_id", "user"} <= line.keys() for line in lines)


# timed_operation ----------------------------------------------------------------------------


def test_timed_operation_times_blocks_and_feeds_the_histogram(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(settings)
    before = operation_count("test.block", "ok"), operation_count("test.block", "rejected")
    with timed_operation("test.block", rows=3) as timing:
        pass
    with pytest.raises(ValueError), timed_operation("test.block") as failing:
        failing.outcome = "rejected"
        raise ValueError("bad")
    assert timing.outcome == "ok" and timing.seconds >= 0
    assert operation_count("test.block", "ok") == before[0] + 1
    assert operation_count("test.block", "rejected") == before[1] + 1
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert (first["event"], first["outcome"], first["rows"]) == ("test.block", "ok", 3)
    assert (second["outcome"], second["error"], second["level"]) == (
        "rejected",
        "ValueError",
        "warning",
    )


async def test_timed_operation_decorates_sync_and_async_functions(settings: Settings) -> None:
    @timed_operation("test.sync")
    def double(value: int) -> int:
        return value * 2

    @timed_operation("test.async")
    async def halve(value: int) -> float:
        await asyncio.sleep(0)
        if value < 0:
            raise ValueError("negative")
        return value / 2

    before = [operation_count(name, "ok") for name in ("test.sync", "test.async")]
    failed = operation_count("test.async", "error")
    assert double(4) == 8 and double.__name__ == "double"
    assert await halve(4) == 2.0 and halve.__name__ == "halve"
    with pytest.raises(ValueError):
        await halve(-1)
    assert operation_count("test.sync", "ok") == before[0] + 1
    assert operation_count("test.async", "ok") == before[1] + 1
    assert operation_count("test.async", "error") == failed + 1
