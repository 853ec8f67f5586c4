"""The workspace's items in an object store (STORAGE_URI): one session's keys and the sweeps.

Keys mirror DATA_DIR's layout: `ready/<user key>/<session key>/<item id>/<stored name>` and
`.../<item id>/meta.json`. An item exists once its meta.json does, and meta.json is put last, so a
reader on any replica sees whole items or nothing; a failed write removes what it had put. A
worker's output waits under `ready/<user key>/<session key>/.staging-<token>/` until the replica
commits it (a server-side copy) or discards it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from data_science.config import Settings
from data_science.storage.objects import (
    SHA_SUFFIX,
    BlobStore,
    MissingObject,
    StagingPath,
    StoredObject,
    StoredPath,
    open_store,
    staging_path,
    stored_path,
)

ITEM_ID = re.compile(r"^(ds|img|zip|mdl)_[0-9a-f]{16}$")
META_FILE = "meta.json"
STAGING_PREFIX = ".staging-"
READY = "ready"
META_CACHE_SIZE = 4096


def directory_key(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


class _MetaCache:
    """meta.json texts by key: an item never changes once stored, so a listing that still
    names a meta.json may be answered from here (what is deleted drops out of the listing)."""

    def __init__(self) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            return self._texts.get(key)

    def put(self, key: str, text: str) -> None:
        with self._lock:
            self._texts[key] = text
            while len(self._texts) > META_CACHE_SIZE:
                self._texts.popitem(last=False)


_metas = _MetaCache()


class ItemStore:
    """One session's items in the store."""

    def __init__(self, store: BlobStore, user_id: str, session_id: str) -> None:
        self.store = store
        self.prefix = f"{READY}/{directory_key(user_id)}/{directory_key(session_id)}"

    def metas(self) -> list[str]:
        texts = []
        for info in self.store.list(self.prefix + "/"):
            parts = info.key[len(self.prefix) + 1 :].split("/")
            if len(parts) == 2 and parts[1] == META_FILE and ITEM_ID.match(parts[0]):
                text = _metas.get(info.key)
                if text is None:
                    try:
                        text = self.store.get_bytes(info.key).decode("utf-8")
                    except MissingObject:
                        continue  # deleted since the listing
                    _metas.put(info.key, text)
                texts.append(text)
        return texts

    def meta(self, item_id: str) -> str | None:
        key = f"{self.prefix}/{item_id}/{META_FILE}"
        try:
            return self.store.get_bytes(key).decode("utf-8")
        except MissingObject:
            return None

    def location(self, item_id: str, stored_name: str, sha256: str | None) -> StoredObject:
        return StoredObject(self.store.uri, f"{self.prefix}/{item_id}/{stored_name}", sha256)

    def stored_path(self, item_id: str, stored_name: str, sha256: str | None) -> StoredPath:
        return stored_path(self.location(item_id, stored_name, sha256))

    def staging_path(self, stored_name: str) -> StagingPath:
        token = secrets.token_hex(8)
        key = f"{self.prefix}/{STAGING_PREFIX}{token}/{stored_name}"
        path = staging_path(StoredObject(self.store.uri, key))
        # Code on this replica may write the output itself (not through a worker): its folder.
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def discard_staging(self, path: StagingPath) -> None:
        self.store.delete_prefix(_staged_key(path).rpartition("/")[0] + "/")
        shutil.rmtree(path.parent, ignore_errors=True)

    def staged_bytes(self, path: StagingPath) -> bytes:
        return self.store.get_bytes(_staged_key(path))

    @contextmanager
    def writing_item(self, item_id: str) -> Iterator[None]:
        """Remove whatever was put for `item_id` if writing it fails."""
        try:
            yield
        except BaseException:
            self.store.delete_prefix(f"{self.prefix}/{item_id}/")
            raise

    def put_data(self, item_id: str, stored_name: str, source: Path) -> None:
        self.store.put_file(f"{self.prefix}/{item_id}/{stored_name}", source)

    def commit_staged(
        self, path: StagingPath, item_id: str, stored_name: str
    ) -> tuple[int, str | None]:
        """Copy a worker's staged output under the item; return its size and sha256."""
        source = _staged_key(path)
        staged = [info for info in self.store.list(source) if not info.key.endswith(SHA_SUFFIX)]
        if not staged:
            raise FileNotFoundError(f"the worker stored no output at {source}")
        sha256: str | None = None  # a tree (an AutoGluon predictor): no single content hash
        with contextlib.suppress(MissingObject):
            sha256 = self.store.get_bytes(source + SHA_SUFFIX).decode("ascii")
        self.store.copy_prefix(source, f"{self.prefix}/{item_id}/{stored_name}")
        self.discard_staging(path)
        return sum(info.size for info in staged), sha256

    def put_meta(self, item_id: str, text: str) -> None:
        key = f"{self.prefix}/{item_id}/{META_FILE}"
        self.store.put_bytes(key, text.encode("utf-8"))
        _metas.put(key, text)

    def delete_item(self, item_id: str) -> None:
        # meta.json first: from that moment the item no longer exists for any replica.
        self.store.delete_prefix(f"{self.prefix}/{item_id}/{META_FILE}")
        self.store.delete_prefix(f"{self.prefix}/{item_id}/")

    def delete_session(self) -> None:
        self.store.delete_prefix(self.prefix + "/")


def item_store_for(settings: Settings, user_id: str, session_id: str) -> ItemStore | None:
    if settings.STORAGE_URI is None:
        return None
    return ItemStore(open_store(settings.STORAGE_URI), user_id, session_id)


# Sweeps over every session ------------------------------------------------------------------
def _ready(settings: Settings) -> BlobStore:
    if settings.STORAGE_URI is None:
        raise ValueError("the sweep of an object store needs STORAGE_URI")
    return open_store(settings.STORAGE_URI)


def _staged_key(path: StagingPath) -> str:
    if path.location is None:
        raise ValueError(f"{path} names no staging key")
    return path.location.key


def remove_user_items(settings: Settings, user_id: str) -> int:
    """Remove every item of `user_id` from the store; return how many there were."""
    store = _ready(settings)
    prefix = f"{READY}/{directory_key(user_id)}/"
    count = sum(1 for info in store.list(prefix) if _meta_parts(info.key) is not None)
    store.delete_prefix(prefix)
    return count


def holds_items(settings: Settings) -> bool:
    return any(_meta_parts(info.key) for info in _ready(settings).list(READY + "/"))


def expired_items(settings: Settings, cutoff: float) -> list[tuple[str, str, str]]:
    """Remove the items whose meta.json was put before `cutoff`; return their
    (user key, session key, item id)."""
    store = _ready(settings)
    removed = []
    for info in store.list(READY + "/"):
        parts = _meta_parts(info.key)
        if parts is None or info.modified >= cutoff:
            continue
        store.delete_prefix(info.key)
        store.delete_prefix(info.key.rpartition("/")[0] + "/")
        removed.append(parts)
    return removed


def remove_stale_staging(settings: Settings, cutoff: float) -> int:
    """Remove staged outputs (a worker's, never committed) untouched since `cutoff`."""
    store = _ready(settings)
    newest: dict[str, float] = {}
    for info in store.list(READY + "/"):
        parts = info.key.split("/")
        if len(parts) >= 4 and parts[3].startswith(STAGING_PREFIX):
            folder = "/".join(parts[:4])
            newest[folder] = max(newest.get(folder, 0.0), info.modified)
    stale = [folder for folder, modified in newest.items() if modified < cutoff]
    for folder in stale:
        store.delete_prefix(folder + "/")
    return len(stale)


def _meta_parts(key: str) -> tuple[str, str, str] | None:
    parts = key.split("/")
    if len(parts) == 5 and parts[0] == READY and parts[4] == META_FILE and ITEM_ID.match(parts[3]):
        return parts[1], parts[2], parts[3]
    return None
