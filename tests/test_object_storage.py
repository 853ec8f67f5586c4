"""Data in object storage (STORAGE_URI): the blob store, the workspace and the real app against
an S3 server speaking the real protocol (moto's server mode on 127.0.0.1, tests/s3_server.py)."""

from __future__ import annotations

import io
import json
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import joblib
import pandas as pd
import pytest
from google.adk.cli.conformance.adk_web_server_client import AdkWebServerClient
from google.adk.tools.tool_context import ToolContext
from sklearn.metrics import accuracy_score

from data_science.config import Settings
from data_science.runtime import workers
from data_science.storage import tables
from data_science.storage.objects import (
    BlobStore,
    LocalBlobStore,
    MissingObject,
    ObstoreBlobStore,
    StoredPath,
)
from data_science.storage.remote_items import directory_key
from data_science.storage.workspace import Workspace
from data_science.tools.files import export_dataset
from data_science.tools.prep import drop_columns
from data_science.tools.train import predict, train
from tests.conftest import PROJECT_ROOT, LiveServer, call, store_frame
from tests.s3_server import S3Server, s3_server
from tests.test_e2e import APP, message, upload


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """This process's environment pointed at the test server (obstore reads AWS_* itself).

    Worker processes read it when they start, as a server's workers do: the pool an earlier
    test started is stopped before and after, so this test's workers see the test server.
    """
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    workers.shutdown()
    yield s3
    workers.shutdown()


def fresh_prefix() -> str:
    return f"t-{secrets.token_hex(6)}"


# The blob store, both backends --------------------------------------------------------------
def local_store(tmp_path: Path, s3: S3Server) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def bucket_store(tmp_path: Path, s3: S3Server) -> BlobStore:
    return ObstoreBlobStore(f"s3://{s3.bucket}/{fresh_prefix()}")


@pytest.fixture(params=[local_store, bucket_store], ids=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path, s3_env: S3Server) -> BlobStore:
    make: Callable[[Path, S3Server], BlobStore] = request.param
    return make(tmp_path, s3_env)


def test_bytes_round_trip_and_a_missing_key_is_missing_object(blobs: BlobStore) -> None:
    blobs.put_bytes("a/b/one.bin", b"\x00\x01 data")
    assert blobs.get_bytes("a/b/one.bin") == b"\x00\x01 data"
    with pytest.raises(MissingObject):
        blobs.get_bytes("a/b/none.bin")


def test_a_file_and_a_folder_tree_round_trip(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "model.joblib"
    source.write_bytes(secrets.token_bytes(20_000))
    tree = tmp_path / "predictor"
    (tree / "models" / "deep").mkdir(parents=True)
    (tree / "learner.pkl").write_bytes(b"learner")
    (tree / "models" / "deep" / "model.pkl").write_bytes(b"deep model")
    blobs.put_file("item/model.joblib", source)
    blobs.put_file("item/predictor", tree)
    blobs.get_file("item/model.joblib", tmp_path / "back.joblib")
    blobs.get_file("item/predictor", tmp_path / "back-tree")
    assert (tmp_path / "back.joblib").read_bytes() == source.read_bytes()
    assert (tmp_path / "back-tree" / "models" / "deep" / "model.pkl").read_bytes() == b"deep model"
    assert (tmp_path / "back-tree" / "learner.pkl").read_bytes() == b"learner"


def test_listing_is_by_string_prefix_with_sizes(blobs: BlobStore) -> None:
    blobs.put_bytes("s/ds_1/data.csv", b"12345")
    blobs.put_bytes("s/ds_1/meta.json", b"{}")
    blobs.put_bytes("s/ds_10/data.csv", b"1")
    blobs.put_bytes("t/other", b"x")
    assert {(i.key, i.size) for i in blobs.list("s/ds_1/")} == {
        ("s/ds_1/data.csv", 5),
        ("s/ds_1/meta.json", 2),
    }
    assert sorted(i.key for i in blobs.list("s/")) == [
        "s/ds_1/data.csv",
        "s/ds_1/meta.json",
        "s/ds_10/data.csv",
    ]
    assert blobs.list("nothing/") == []


def test_deleting_a_prefix_removes_only_it(blobs: BlobStore) -> None:
    blobs.put_bytes("s/ds_1/data.csv", b"1")
    blobs.put_bytes("s/ds_1/meta.json", b"2")
    blobs.put_bytes("s/ds_10/data.csv", b"3")
    assert blobs.delete_prefix("s/ds_1/") == 2
    assert [i.key for i in blobs.list("s/")] == ["s/ds_10/data.csv"]
    assert blobs.delete_prefix("s/gone/") == 0


def test_copying_a_prefix_copies_a_file_or_a_tree(blobs: BlobStore) -> None:
    blobs.put_bytes("stage/model.joblib", b"model")
    blobs.put_bytes("stage/tree/a", b"a")
    blobs.put_bytes("stage/tree/b/c", b"c")
    blobs.copy_prefix("stage/model.joblib", "item/model.joblib")
    blobs.copy_prefix("stage/tree", "item/tree")
    assert blobs.get_bytes("item/model.joblib") == b"model"
    assert sorted(i.key for i in blobs.list("item/tree/")) == ["item/tree/a", "item/tree/b/c"]


@pytest.mark.parametrize("key", ["../escape", "/absolute", "a//b", "a/./b", ""])
def test_a_key_that_would_leave_the_store_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a store key"):
        blobs.put_bytes(key, b"x")


# The workspace on the store -----------------------------------------------------------------
@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, s3_env: S3Server) -> Settings:
    """Settings with a fresh DATA_DIR and a fresh prefix of the test bucket (STORAGE_URI)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    current = Settings(
        DATA_DIR=tmp_path / "data", STORAGE_URI=f"s3://{s3_env.bucket}/{fresh_prefix()}"
    )
    current.create_data_dirs()
    return current


def bucket_prefix(settings: Settings) -> str:
    assert settings.STORAGE_URI is not None
    return settings.STORAGE_URI.partition("://")[2].partition("/")[2]


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def cold_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This process as a fresh replica: an empty object cache and an empty frame cache."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "replica-tmp"))
    (tmp_path / "replica-tmp").mkdir()
    monkeypatch.setattr(tables, "_frame_cache", tables._FrameCache(tables.FRAME_CACHE_SIZE))


def test_another_replica_reads_an_item_with_a_cold_cache(
    settings: Settings,
    s3_env: S3Server,
    penguins: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer = Workspace(settings, "alice", "chat-1")
    record = store_frame(writer, penguins, "penguins")
    prefix = bucket_prefix(settings)
    item = f"{prefix}/ready/{directory_key('alice')}/{directory_key('chat-1')}/{record.id}"
    assert sorted(s3_env.keys(item + "/")) == [f"{item}/data.parquet", f"{item}/meta.json"]
    assert files_under(settings.ready_dir) == []

    cold_caches(monkeypatch, tmp_path)
    other = Settings(DATA_DIR=tmp_path / "replica-b", STORAGE_URI=settings.STORAGE_URI)
    reader = Workspace(other, "alice", "chat-1")
    assert [r.id for r in reader.items("table")] == [record.id]
    table = reader.table_file(record.id)
    assert isinstance(table.path, StoredPath) and table.location is not None
    assert table.location.sha256 == record.sha256
    pd.testing.assert_frame_equal(table.load(), penguins)
    fetched = files_under(tmp_path / "replica-tmp")
    assert [path.read_bytes() for path in fetched] == [
        s3_env.client().get_object(Bucket=s3_env.bucket, Key=f"{item}/data.parquet")["Body"].read()
    ]
    assert Workspace(other, "bob", "chat-1").items() == []  # another user sees nothing

    reader.delete(record.id)
    assert s3_env.keys(item + "/") == []
    assert writer.items() == []


def test_a_failed_write_leaves_nothing_in_the_bucket(settings: Settings, s3_env: S3Server) -> None:
    workspace = Workspace(settings, "alice", "chat-1")
    missing = settings.DATA_DIR / "never-written.parquet"
    with pytest.raises(FileNotFoundError):
        workspace.adopt_file(missing, kind="table", name="x", stored_name="data.parquet")
    assert s3_env.keys(bucket_prefix(settings) + "/") == []


async def test_workers_fetch_inputs_and_store_outputs_through_the_bucket(
    settings: Settings, tool_context: ToolContext, s3_env: S3Server, penguins: pd.DataFrame
) -> None:
    """A tool's worker reads its table from the store and writes its output to a staging key;
    the replica commits it: the new table and the model are in the bucket, never on disk."""
    from data_science.tools.base import workspace_for

    workspace = workspace_for(tool_context)
    dataset = store_frame(workspace, penguins, "penguins").id
    dropped = await call(drop_columns, tool_context, dataset_id=dataset, columns=["year"])
    derived = workspace.table_file(dropped["dataset_id"]).load()
    pd.testing.assert_frame_equal(derived, penguins.drop(columns=["year"]))

    trained = await call(train, tool_context, dataset_id=dropped["dataset_id"], target="species")
    record, model_path = workspace.model_file(trained["model_id"])
    assert isinstance(model_path, StoredPath) and record.sha256 is not None
    model = joblib.load(workspace.data_path(record))
    clean = derived.dropna(subset=["species"])
    expected = accuracy_score(clean["species"], model.predict(clean[trained["features"]]))
    predicted = await call(predict, tool_context, model_id=record.id, dataset_id=dataset)
    predictions = workspace.table_file(predicted["dataset_id"]).load()
    assert (predictions["predicted_species"] == clean["species"]).mean() == pytest.approx(
        expected, abs=0.01
    )
    exported = await call(export_dataset, tool_context, dataset_id=dropped["dataset_id"])
    part = await tool_context.load_artifact(exported["file"])
    assert part is not None and part.inline_data is not None and part.inline_data.data
    csv = pd.read_csv(io.BytesIO(part.inline_data.data))
    assert csv.shape == derived.shape and list(csv.columns) == list(derived.columns)
    assert csv["body_mass_g"].sum() == derived["body_mass_g"].sum()

    keys = s3_env.keys(bucket_prefix(settings) + "/")
    assert sum(key.endswith("/meta.json") for key in keys) == 4
    assert not any(".staging-" in key for key in keys)
    assert files_under(settings.ready_dir) == []


# The real app on the store ------------------------------------------------------------------
def tool_results(events: list[Any]) -> dict[str, dict[str, Any]]:
    return {
        part.function_response.name: part.function_response.response
        for event in events
        if event.content
        for part in event.content.parts or []
        if part.function_response
    }


async def test_the_app_keeps_uploads_models_and_charts_in_the_bucket(
    tmp_path: Path, s3: S3Server, penguins_csv: Path
) -> None:
    prefix = fresh_prefix()
    data_dir = tmp_path / "data"
    env = {**s3.env(), "STORAGE_URI": f"s3://{s3.bucket}/{prefix}"}
    server = LiveServer(data_dir, env).start()
    try:
        async with AdkWebServerClient(base_url=server.url, timeout=180) as client:
            session = await client.create_session(app_name=APP, user_id="alice")
            uploaded = await upload(server.url, session.id, penguins_csv)
            results: dict[str, dict[str, Any]] = {}
            for text in (
                "describe the data",
                "train a model to predict species",
                "plot a histogram of bill_length_mm",
            ):
                events = [e async for e in client.run_agent(message(session.id, text))]
                results.update(tool_results(events))
        assert uploaded["summary"]["rows"] == 344
        assert results["train"]["status"] == "ok" and results["train"]["n_test"] == 69
        chart = next(r for r in results.values() if "png" in str(r.get("file", r)))
        assert chart["status"] == "ok"

        user_key, session_key = directory_key("alice"), directory_key(session.id)
        items = s3.keys(f"{prefix}/ready/{user_key}/{session_key}/")
        metas = [key for key in items if key.endswith("/meta.json")]
        assert len(metas) == 2  # the upload and the model
        assert any(key.endswith("/penguins.csv") or key.endswith(".csv") for key in items)
        artifacts = s3.keys(f"{prefix}/artifacts/{APP}/alice/sessions/{session.id}/")
        assert any(".png/" in key for key in artifacts)
        assert files_under(data_dir / "ready") == [] and files_under(data_dir / "artifacts") == []

        before = s3.keys(f"{prefix}/")
        bad = tmp_path / "bad.csv"
        bad.write_bytes(b"a,b\n1,\x00\x00\x002\n")
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            with bad.open("rb") as handle:
                refused = await http.post(
                    "/api/uploads",
                    data={"user_id": "alice", "session_id": session.id},
                    files={"file": ("bad.csv", handle, "text/csv")},
                )
            assert refused.status_code in {400, 415, 422}, refused.text
            assert s3.keys(f"{prefix}/") == before

            deleted = await http.delete(f"/api/users/alice/sessions/{session.id}")
            assert deleted.status_code == 200, deleted.text
        assert s3.keys(f"{prefix}/ready/{user_key}/{session_key}/") == []
        assert s3.keys(f"{prefix}/artifacts/{APP}/alice/sessions/{session.id}/") == []
    finally:
        server.stop()


def start_failure(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    server = LiveServer(tmp_path / "data", env)
    return subprocess.run(
        server.command, cwd=server.root, env=server.env, capture_output=True, text=True, timeout=90
    )


@pytest.mark.parametrize(
    ("case", "sentence"),
    [
        ("missing bucket", "the bucket does not exist"),
        ("wrong secret", "the secret key is wrong"),
        ("unknown key", "the access key is not known to the server"),
    ],
)
def test_a_store_that_cannot_be_used_stops_the_start_with_one_sentence(
    tmp_path: Path, s3: S3Server, case: str, sentence: str
) -> None:
    uri = f"s3://{'no-such-bucket' if case == 'missing bucket' else s3.bucket}/app"
    overrides = {
        "wrong secret": {"AWS_SECRET_ACCESS_KEY": "not-the-secret"},
        "unknown key": {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"},
    }.get(case, {})
    env = {**s3.env(**overrides), "STORAGE_URI": uri}
    started = start_failure(tmp_path, env)
    assert started.returncode != 0
    assert f"STORAGE_URI={uri} cannot be used: {sentence}" in started.stderr
    assert "Uvicorn running" not in started.stdout + started.stderr  # the port never opened

    verified = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "verify_production.py"), "--json", "--create-dirs"],
        cwd=tmp_path,
        env=LiveServer(tmp_path / "verify", env).env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    checks = {check["name"]: check for check in json.loads(verified.stdout)["checks"]}
    assert verified.returncode == 1
    assert (
        checks["object_store"]["status"] == "fail" and sentence in checks["object_store"]["detail"]
    )


def test_the_retention_sweep_removes_expired_items_and_stale_staging_from_the_bucket(
    settings: Settings, s3_env: S3Server, penguins: pd.DataFrame
) -> None:
    from data_science.storage.workspace import remove_expired_items, remove_stale_work

    alice = Workspace(settings, "alice", "chat-1")
    bob = Workspace(settings, "bob", "chat-2")
    first = store_frame(alice, penguins, "penguins")
    second = store_frame(bob, penguins.head(10), "ten penguins")
    leftover = alice.staging_path("model.joblib")
    assert alice.remote is not None and leftover.location is not None
    alice.remote.store.put_bytes(leftover.location.key, b"a crashed worker's output")
    prefix = bucket_prefix(settings)
    assert any(".staging-" in key for key in s3_env.keys(prefix + "/"))

    assert remove_stale_work(settings, time.time() - 3600) == 0  # young: left alone
    assert remove_stale_work(settings, time.time() + 60) == 1
    assert not any(".staging-" in key for key in s3_env.keys(prefix + "/"))
    assert remove_expired_items(settings, time.time() - 3600) == []
    removed = remove_expired_items(settings, time.time() + 60)
    assert sorted((item.item_id, item.kind) for item in removed) == sorted(
        [(first.id, "ds"), (second.id, "ds")]
    )
    assert {item.user_key for item in removed} == {directory_key("alice"), directory_key("bob")}
    assert s3_env.keys(prefix + "/") == []


async def test_adk_artifacts_round_trip_by_version_and_scope_in_the_bucket(
    s3_env: S3Server,
) -> None:
    from google.genai import types

    from data_science.storage.artifacts import StoreArtifactService

    prefix = fresh_prefix()
    service = StoreArtifactService(ObstoreBlobStore(f"s3://{s3_env.bucket}/{prefix}"))
    where = {"app_name": APP, "user_id": "alice", "session_id": "chat-1"}
    png = types.Part.from_bytes(data=b"\x89PNG first", mime_type="image/png")
    assert await service.save_artifact(filename="chart.png", artifact=png, **where) == 0
    second = types.Part.from_bytes(data=b"\x89PNG second", mime_type="image/png")
    assert await service.save_artifact(filename="chart.png", artifact=second, **where) == 1
    note = types.Part(text="kept for the user")
    await service.save_artifact(filename="user:note.txt", artifact=note, **where)

    latest = await service.load_artifact(filename="chart.png", **where)
    first = await service.load_artifact(filename="chart.png", version=0, **where)
    assert latest is not None and latest.inline_data is not None
    assert latest.inline_data.data == b"\x89PNG second"
    assert latest.inline_data.mime_type == "image/png"
    assert first is not None and first.inline_data is not None
    assert first.inline_data.data == b"\x89PNG first"
    assert await service.list_versions(filename="chart.png", **where) == [0, 1]
    assert await service.list_artifact_keys(**where) == ["chart.png", "user:note.txt"]
    other_session = {**where, "session_id": "chat-2"}
    assert await service.list_artifact_keys(**other_session) == ["user:note.txt"]
    loaded_note = await service.load_artifact(filename="user:note.txt", **other_session)
    assert loaded_note is not None and loaded_note.text == "kept for the user"
    version = await service.get_artifact_version(filename="chart.png", **where)
    assert version is not None and version.version == 1 and version.mime_type == "image/png"

    await service.delete_artifact(filename="chart.png", **where)
    assert await service.load_artifact(filename="chart.png", **where) is None
    assert s3_env.keys(f"{prefix}/artifacts/{APP}/alice/sessions/") == []
    assert len(s3_env.keys(f"{prefix}/artifacts/{APP}/alice/user/")) == 2  # data + meta.json
