"""Each user's files, per session: the one place that turns ids into paths.

Layout: `ready/<user key>/<session key>/<item id>/` holds one item (an uploaded table or image,
a derived table, a trained model) as its data file plus `meta.json`. User and session keys are
hashes, so no client-chosen string ever becomes part of a path, and a workspace only ever looks
inside its own session directory: an id from another user or session simply does not exist here.

The layout lives under DATA_DIR, or, when STORAGE_URI is set, under the same keys in the object
store (storage/objects.py); there `meta.json` is written last, so an item exists only once whole.
Local staging directories (the intake's, the sandbox's) stay on this replica's disk either way.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from data_science.config import Settings
from data_science.storage import remote_items
from data_science.storage.objects import StagingPath, file_sha256
from data_science.storage.remote_items import META_FILE as META_FILE
from data_science.storage.remote_items import STAGING_PREFIX as STAGING_PREFIX
from data_science.storage.remote_items import ItemStore, item_store_for
from data_science.storage.remote_items import directory_key as directory_key
from data_science.storage.tables import TableFile

ItemKind = Literal["table", "image", "archive", "model"]
ID_PREFIX: dict[str, str] = {"table": "ds", "image": "img", "archive": "zip", "model": "mdl"}
ITEM_ID = remote_items.ITEM_ID


class UnknownItem(LookupError):
    """An id that names nothing in this session; the message lists what does exist."""


class ItemRecord(BaseModel):
    """What the workspace knows about one stored item (never shown with its stored name)."""

    id: str
    kind: ItemKind
    name: str
    stored_name: str
    created_at: str
    size_bytes: int
    sha256: str | None = None
    rows: int | None = None
    columns: list[dict[str, str]] | None = None
    parent_id: str | None = None
    description: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def extension(self) -> str:
        return self.stored_name.rpartition(".")[2].lower()

    def public(self) -> dict[str, Any]:
        """The fields a client or the model may see."""
        return self.model_dump(exclude={"stored_name"}, exclude_none=True)


def new_item_id(kind: ItemKind) -> str:
    return f"{ID_PREFIX[kind]}_{secrets.token_hex(8)}"


def sha256_of(path: Path) -> str:
    return file_sha256(path)


class Workspace:
    """The items of one user's session. Every method is blocking: call from a worker thread."""

    def __init__(self, settings: Settings, user_id: str, session_id: str) -> None:
        self.settings = settings
        self.user_id = user_id
        self.session_id = session_id
        self.root = settings.ready_dir / directory_key(user_id) / directory_key(session_id)
        # None: items live under `root` (DATA_DIR); else in the object store (STORAGE_URI).
        self.remote: ItemStore | None = item_store_for(settings, user_id, session_id)

    # Reading -----------------------------------------------------------------------------------
    def items(self, kind: ItemKind | None = None) -> list[ItemRecord]:
        """All items of this session, oldest first."""
        if self.remote is not None:
            records = [ItemRecord.model_validate_json(meta) for meta in self.remote.metas()]
            records.sort(key=lambda record: record.created_at)
            return [record for record in records if kind is None or record.kind == kind]
        if not self.root.is_dir():
            return []
        records = []
        for meta_path in self.root.glob(f"*/{META_FILE}"):
            if ITEM_ID.match(meta_path.parent.name):
                records.append(ItemRecord.model_validate_json(meta_path.read_text("utf-8")))
        records.sort(key=lambda record: record.created_at)
        return [record for record in records if kind is None or record.kind == kind]

    def get(self, item_id: str, kind: ItemKind | None = None) -> ItemRecord:
        is_id = isinstance(item_id, str) and ITEM_ID.fullmatch(item_id)
        if self.remote is not None:
            meta = self.remote.meta(item_id) if is_id else None
            if meta is None:
                raise UnknownItem(self._unknown_message(item_id, kind))
            record = ItemRecord.model_validate_json(meta)
            if kind is not None and record.kind != kind:
                raise UnknownItem(self._unknown_message(item_id, kind))
            return record
        meta_path = self._item_dir(item_id) / META_FILE if is_id else None
        if meta_path is None or not meta_path.is_file():
            raise UnknownItem(self._unknown_message(item_id, kind))
        record = ItemRecord.model_validate_json(meta_path.read_text("utf-8"))
        if kind is not None and record.kind != kind:
            raise UnknownItem(self._unknown_message(item_id, kind))
        return record

    def data_path(self, record: ItemRecord) -> Path:
        """The item's data file on this machine (fetched into the local cache from a store)."""
        if self.remote is not None:
            return self.remote.location(record.id, record.stored_name, record.sha256).local_copy()
        return self._item_dir(record.id) / record.stored_name

    def stored_file(self, record: ItemRecord) -> Path:
        """The item's data file as a worker is handed it: with a store, a `StoredPath` that
        names its location (the worker fetches it); on DATA_DIR, the file's path."""
        if self.remote is not None:
            return self.remote.stored_path(record.id, record.stored_name, record.sha256)
        return self._item_dir(record.id) / record.stored_name

    def table_file(self, dataset_id: str) -> TableFile:
        """A handle on the table `dataset_id` that a worker process can open."""
        record = self.get(dataset_id, "table")
        return TableFile(self.stored_file(record), record.extension)

    def model_file(self, model_id: str) -> tuple[ItemRecord, Path]:
        """The model's record and the joblib file a worker process loads it from."""
        record = self.get(model_id, "model")
        return record, self.stored_file(record)

    # Writing -----------------------------------------------------------------------------------
    def adopt_file(
        self,
        source: Path,
        *,
        kind: ItemKind,
        name: str,
        stored_name: str,
        sha256: str | None = None,
        summary: dict[str, Any] | None = None,
        parent_id: str | None = None,
        description: str | None = None,
        details: dict[str, Any] | None = None,
        item_id: str | None = None,
    ) -> ItemRecord:
        """Move a finished file (an upload, or a worker's output) into the workspace.

        `item_id` (from `new_item_id`) lets a caller name the item before it exists, so that
        parts stored first (the members of an archive) can point at it.
        """

        def place(target: Path) -> None:
            shutil.move(str(source), target)

        if self.remote is not None:
            return self._store_remote(
                self.remote,
                source,
                kind=kind,
                name=name,
                stored_name=stored_name,
                sha256=sha256,
                summary=summary,
                parent_id=parent_id,
                description=description,
                details=details,
                item_id=item_id,
            )
        return self._store(
            kind=kind,
            name=name,
            stored_name=stored_name,
            write=place,
            sha256=sha256,
            summary=summary,
            parent_id=parent_id,
            description=description,
            details=details,
            item_id=item_id,
        )

    def staging_dir(self) -> Path:
        """A fresh private directory for work in progress (hidden from `items`)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))

    def staging_path(self, stored_name: str) -> Path:
        """A fresh private file path for a worker to write a new item into, before `adopt_file`.

        `stored_name` must be a plain file name: nothing a caller passes can lead elsewhere.
        """
        if stored_name in {"", ".", ".."} or Path(stored_name).name != stored_name:
            raise ValueError(f"not a plain file name: {stored_name!r}")
        if self.remote is not None:
            return self.remote.staging_path(stored_name)
        return self.staging_dir() / stored_name

    def staged_bytes(self, path: Path) -> bytes:
        """What a worker wrote at `path` (from `staging_path`), wherever it was stored."""
        if self.remote is not None and isinstance(path, StagingPath) and not path.exists():
            return self.remote.staged_bytes(path)
        return path.read_bytes()

    def discard_staging(self, path: Path) -> None:
        """Remove the staging directory `path` is (or lies in); anything else is left alone."""
        if self.remote is not None and isinstance(path, StagingPath):
            self.remote.discard_staging(path)
            return
        for candidate in (path, *path.parents):
            if candidate.parent == self.root and candidate.name.startswith(STAGING_PREFIX):
                shutil.rmtree(candidate, ignore_errors=True)
                break
        if self.remote is not None:
            self._prune_local_root()

    def delete(self, item_id: str) -> ItemRecord:
        """Remove one item and its files; return what it was."""
        record = self.get(item_id)
        if self.remote is not None:
            self.remote.delete_item(record.id)
        else:
            shutil.rmtree(self._item_dir(record.id))
        return record

    def remove_all(self) -> int:
        """Remove this session's directory: every item and any work in progress.

        Returns how many items there were.
        """
        if self.remote is not None:
            count = len(self.items())
            self.remote.delete_session()
            shutil.rmtree(self.root, ignore_errors=True)
            _remove_if_empty(self.root.parent)
            return count
        if not self.root.is_dir():
            return 0
        count = len(self.items())
        shutil.rmtree(self.root)
        _remove_if_empty(self.root.parent)
        return count

    # Internals ---------------------------------------------------------------------------------
    def _item_dir(self, item_id: str) -> Path:
        return self.root / item_id

    def _store(
        self,
        *,
        kind: ItemKind,
        name: str,
        stored_name: str,
        write: Callable[[Path], None],
        sha256: str | None = None,
        summary: dict[str, Any] | None = None,
        parent_id: str | None = None,
        description: str | None = None,
        details: dict[str, Any] | None = None,
        item_id: str | None = None,
    ) -> ItemRecord:
        """Write into a hidden staging dir, then rename it into place: all or nothing."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        item_id = item_id or new_item_id(kind)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
        try:
            data_path = staging / stored_name
            write(data_path)
            summary = summary or {}
            record = ItemRecord(
                id=item_id,
                kind=kind,
                name=name,
                stored_name=stored_name,
                created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                size_bytes=_size_of(data_path),
                sha256=sha256 or (None if data_path.is_dir() else sha256_of(data_path)),
                rows=summary.get("rows"),
                columns=summary.get("columns"),
                parent_id=parent_id,
                description=description,
                details=details or {},
            )
            (staging / META_FILE).write_text(record.model_dump_json(indent=1), "utf-8")
            staging.replace(self._item_dir(item_id))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return record

    @staticmethod
    def _store_remote(
        remote: ItemStore, source: Path, *, kind: ItemKind, **fields: Any
    ) -> ItemRecord:
        """Put the data under the item's key, then its meta.json: all or nothing."""
        item_id = fields.pop("item_id") or new_item_id(kind)
        summary = fields.pop("summary") or {}
        stored_name = fields["stored_name"]
        with remote.writing_item(item_id):
            sha256: str | None
            if isinstance(source, StagingPath) and not source.exists():
                size, sha256 = remote.commit_staged(source, item_id, stored_name)
            else:
                size, sha256 = _size_of(source), fields.get("sha256") or _file_sha256(source)
                remote.put_data(item_id, stored_name, source)
                remove_path(source)  # adopting moves the file, as on disk
            record = ItemRecord(
                id=item_id,
                kind=kind,
                name=fields["name"],
                stored_name=stored_name,
                created_at=datetime.now(UTC).isoformat(timespec="microseconds"),
                size_bytes=size,
                sha256=fields.get("sha256") or sha256,
                rows=summary.get("rows"),
                columns=summary.get("columns"),
                parent_id=fields.get("parent_id"),
                description=fields.get("description"),
                details=fields.get("details") or {},
            )
            remote.put_meta(item_id, record.model_dump_json(indent=1))
        return record

    def _prune_local_root(self) -> None:
        """With a store, this replica's session folder holds only staging: drop it when empty."""
        _remove_if_empty(self.root)
        _remove_if_empty(self.root.parent)

    def _unknown_message(self, item_id: str, kind: ItemKind | None) -> str:
        known = self.items(kind)
        what = {"table": "dataset", "model": "model", "image": "image", "archive": "archive"}.get(
            kind or "", "item"
        )
        if not known:
            return (
                f"There is no {what} '{item_id}' in this session, and none has been uploaded yet."
            )
        listing = ", ".join(f"{record.id} ({record.name})" for record in known)
        return f"There is no {what} '{item_id}' in this session. Available: {listing}."


def _file_sha256(path: Path) -> str | None:
    return None if path.is_dir() else sha256_of(path)


def _size_of(path: Path) -> int:
    """Bytes of a file, or of every file under a directory (an AutoGluon predictor)."""
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()  # refuses (OSError) while anything is left inside


def remove_user_files(settings: Settings, user_id: str) -> int:
    """Remove every session directory of `user_id`; return how many items there were."""
    if settings.STORAGE_URI is not None:
        return remote_items.remove_user_items(settings, user_id)
    user_root = settings.ready_dir / directory_key(user_id)
    if not user_root.is_dir():
        return 0
    count = sum(1 for meta in user_root.glob(f"*/*/{META_FILE}") if ITEM_ID.match(meta.parent.name))
    shutil.rmtree(user_root)
    return count


def holds_items(settings: Settings) -> bool:
    """Whether any session's workspace holds an item (stops at the first one found)."""
    if settings.STORAGE_URI is not None:
        return remote_items.holds_items(settings)
    metas = settings.ready_dir.glob(f"*/*/*/{META_FILE}")
    return any(ITEM_ID.match(meta.parent.name) for meta in metas)


def artifact_user_dir(settings: Settings, app_name: str, user_id: str) -> Path:
    """Where ADK's FileArtifactService keeps a user's artifacts (its layout, google-adk 2.13)."""
    return settings.artifacts_dir / "apps" / app_name / "users" / user_id


def prune_empty_dirs(root: Path) -> None:
    """Remove `root` and the directories below it that hold no file (deepest first)."""
    if not root.is_dir():
        return
    for directory in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        _remove_if_empty(directory)
    _remove_if_empty(root)


@dataclass(frozen=True)
class ExpiredItem:
    """An item removed by the retention sweep, with the keys of the session it was in."""

    user_key: str
    session_key: str
    item_id: str
    kind: str


def remove_expired_items(settings: Settings, cutoff: float) -> list[ExpiredItem]:
    """Remove every item, in every session, stored before `cutoff` (epoch seconds).

    An item's age is its `meta.json`'s modification time: written once, when it was stored.
    Session directories left empty are removed too.
    """
    if settings.STORAGE_URI is not None:
        expired = remote_items.expired_items(settings, cutoff)
        return [ExpiredItem(*parts, parts[2].partition("_")[0]) for parts in expired]
    removed = []
    for meta in settings.ready_dir.glob(f"*/*/*/{META_FILE}"):
        item_dir = meta.parent
        if not ITEM_ID.match(item_dir.name) or _mtime(meta) >= cutoff:
            continue
        shutil.rmtree(item_dir, ignore_errors=True)
        session_dir = item_dir.parent
        removed.append(
            ExpiredItem(
                session_dir.parent.name,
                session_dir.name,
                item_dir.name,
                item_dir.name.partition("_")[0],
            )
        )
        _remove_if_empty(session_dir)
        _remove_if_empty(session_dir.parent)
    return removed


def remove_stale_work(settings: Settings, cutoff: float) -> int:
    """Remove work a crash left behind: staging dirs and quarantine files untouched since `cutoff`.

    A staging dir counts as touched when anything inside it changed, so a long AutoML run that
    keeps writing is never taken for debris. Returns how many were removed.
    """
    removed = 0
    if settings.STORAGE_URI is not None:
        removed += remote_items.remove_stale_staging(settings, cutoff)
    # With replicas each has a quarantine folder; a file untouched this long is debris whoever's.
    quarantined = settings.quarantine_root.glob("*/*" if settings.replicated else "*")
    leftovers = [*settings.ready_dir.glob(f"*/*/{STAGING_PREFIX}*"), *quarantined]
    for path in leftovers:
        newest = max([_mtime(path), *(_mtime(inner) for inner in path.rglob("*"))])
        if newest >= cutoff:
            continue
        remove_path(path)
        removed += 1
    return removed


def remove_path(path: Path) -> None:
    """Remove a file or a whole directory; something already gone is no error."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # already gone: never "older" than anything


def describe_catalogue(records: list[ItemRecord]) -> list[dict[str, Any]]:
    """The compact view of a session's items that tools and the prompt show the model."""
    view = []
    for record in records:
        entry: dict[str, Any] = {"id": record.id, "kind": record.kind, "name": record.name}
        if record.rows is not None:
            entry["rows"] = record.rows
        if record.columns is not None:
            entry["columns"] = record.columns
        if record.parent_id:
            entry["derived_from"] = record.parent_id
        if record.kind == "model":
            entry["target"] = record.details.get("target")
        view.append(entry)
    return view
