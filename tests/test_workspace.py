from pathlib import Path

import pandas as pd
import pytest

from data_science.config import Settings
from data_science.storage.workspace import UnknownItem, Workspace
from tests.conftest import store_frame


def test_saved_frames_are_listed_and_loaded_back(settings: Settings) -> None:
    workspace = Workspace(settings, "alice", "s1")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    record = store_frame(workspace, frame, "derived")
    assert [item.id for item in workspace.items()] == [record.id]
    assert record.rows == 3 and record.columns == [
        {"name": "a", "type": "integer"},
        {"name": "b", "type": "text"},
    ]
    pd.testing.assert_frame_equal(workspace.table_file(record.id).load(), frame)


def test_other_users_and_sessions_cannot_see_an_item(settings: Settings) -> None:
    record = store_frame(Workspace(settings, "alice", "s1"), pd.DataFrame({"a": [1]}), "t")
    for user, session in (("mallory", "s1"), ("alice", "s2")):
        other = Workspace(settings, user, session)
        assert other.items() == []
        with pytest.raises(UnknownItem):
            other.table_file(record.id).load()


@pytest.mark.parametrize(
    "bad_id", ["../ds_0000000000000000", "/etc/passwd", "ds_123", "", "ds_" + "g" * 16]
)
def test_malformed_ids_never_become_paths(settings: Settings, bad_id: str) -> None:
    with pytest.raises(UnknownItem, match="none has been uploaded"):
        Workspace(settings, "alice", "s1").get(bad_id)


def test_unknown_ids_are_answered_with_the_available_ones(settings: Settings) -> None:
    workspace = Workspace(settings, "alice", "s1")
    record = store_frame(workspace, pd.DataFrame({"a": [1]}), "sales")
    with pytest.raises(UnknownItem) as raised:
        workspace.get("ds_0123456789abcdef")
    assert record.id in str(raised.value) and "sales" in str(raised.value)


def test_a_failed_write_leaves_nothing_behind(settings: Settings) -> None:
    workspace = Workspace(settings, "alice", "s1")
    never_written = workspace.staging_path("data.parquet")
    with pytest.raises(FileNotFoundError):
        workspace.adopt_file(never_written, kind="table", name="broken", stored_name="data.parquet")
    workspace.discard_staging(never_written)
    assert workspace.items() == []
    assert list(workspace.root.iterdir()) == []


def test_user_and_session_ids_do_not_appear_in_paths(settings: Settings) -> None:
    workspace = Workspace(settings, "../../alice", "../s1")
    assert workspace.root.parent.parent == settings.ready_dir
    assert "alice" not in str(workspace.root)


def test_cached_frames_cannot_be_corrupted_by_a_caller(settings: Settings, tmp_path: Path) -> None:
    workspace = Workspace(settings, "alice", "s1")
    record = store_frame(workspace, pd.DataFrame({"a": [1, 2]}), "t")
    first = workspace.table_file(record.id).load()
    first.loc[0, "a"] = 99
    assert workspace.table_file(record.id).load()["a"].tolist() == [1, 2]
