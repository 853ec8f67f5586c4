"""A small blob store: where the workspace's items and ADK's artifacts live.

Two backends behind one API (`BlobStore`): a local directory, and object storage through obstore
(`s3://bucket/prefix`, `gs://bucket/prefix`; credentials and endpoint from the standard AWS_* /
GOOGLE_* variables of the environment, `AWS_ENDPOINT_URL` included). A key is a relative,
"/"-separated name; a "tree" (an AutoGluon predictor's folder) is every object under `key/`.

Workers never get a replica's disk path for a stored object; they get a location:

- `StoredObject(store, key, sha256)`: picklable; `local_copy()` fetches the object into a cache
  local to the process's machine, keyed by its content hash (a local-directory store just
  answers its own path). `StoredPath` is a `Path` that carries one (a model file).
- `StagingPath`: a `Path` for a worker's output that carries the store key it must end up under.

`call_with_locations` runs a function in the worker with every such argument made local, and
uploads every output afterwards, so the replica only commits keys that are already in the store.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path, PosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import obstore
from obstore.store import ObjectStore, from_url

LOCAL_SCHEME = "file"
REMOTE_SCHEMES = frozenset({"s3", "gs"})
CHUNK = 8 << 20
CACHE_FOLDER = "data-science-objects"
CHECK_TIMEOUT = timedelta(seconds=10)  # the start-up check: an endpoint that does not answer
SHA_SUFFIX = ".sha256"  # beside a staged output: its content hash, computed by the worker


@dataclass(frozen=True)
class BlobInfo:
    """One stored object: its key (relative to the store), size and modification time."""

    key: str
    size: int
    modified: float


class BlobStore(Protocol):
    """What the workspace and the artifact service need from a store."""

    uri: str

    def put_file(self, key: str, source: Path) -> None: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def get_file(self, key: str, target: Path) -> None: ...
    def list(self, prefix: str) -> list[BlobInfo]: ...
    def delete_prefix(self, prefix: str) -> int: ...
    def copy_prefix(self, source: str, target: str) -> None: ...


class MissingObject(LookupError):
    """A key that names no object."""


class LocalBlobStore:
    """A directory: keys are relative paths below it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.uri = root.resolve().as_uri()

    def path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put_file(self, key: str, source: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)

    def put_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        target.write_bytes(data)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise MissingObject(key) from None

    def get_file(self, key: str, target: Path) -> None:
        source = self.path(key)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copyfile(source, target)
        else:
            raise MissingObject(key)

    def list(self, prefix: str) -> list[BlobInfo]:
        base = self.path(prefix) if prefix else self.root
        if base.is_file():
            return [_local_info(self.root, base)]
        if not base.is_dir():
            return []
        return [_local_info(self.root, item) for item in base.rglob("*") if item.is_file()]

    def delete_prefix(self, prefix: str) -> int:
        found = self.list(prefix)
        target = self.path(prefix)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)
        return len(found)

    def copy_prefix(self, source: str, target: str) -> None:
        self.put_file(target, self.path(source))


def _local_info(root: Path, path: Path) -> BlobInfo:
    stat = path.stat()
    return BlobInfo(path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime)


class ObstoreBlobStore:
    """Object storage through obstore (S3 and S3-compatible servers, Google Cloud Storage)."""

    def __init__(self, uri: str, **client_options: Any) -> None:
        self.uri = uri
        self.store: ObjectStore = _obstore_for(uri, **client_options)

    def put_file(self, key: str, source: Path) -> None:
        if source.is_dir():
            for item in sorted(source.rglob("*")):
                if item.is_file():
                    self.put_file(f"{key}/{item.relative_to(source).as_posix()}", item)
            return
        obstore.put(self.store, _checked(key), source)

    def put_bytes(self, key: str, data: bytes) -> None:
        obstore.put(self.store, _checked(key), data)

    def get_bytes(self, key: str) -> bytes:
        try:
            return bytes(obstore.get(self.store, _checked(key)).bytes())
        except FileNotFoundError:
            raise MissingObject(key) from None

    def get_file(self, key: str, target: Path) -> None:
        try:
            result = obstore.get(self.store, _checked(key))
        except FileNotFoundError:
            tree = self.list(key + "/")
            if not tree:
                raise MissingObject(key) from None
            for info in tree:
                part = target / info.key[len(key) + 1 :]
                part.parent.mkdir(parents=True, exist_ok=True)
                self.get_file(info.key, part)
            return
        with target.open("wb") as handle:
            for chunk in result.stream(min_chunk_size=CHUNK):
                handle.write(chunk)

    def list(self, prefix: str) -> list[BlobInfo]:
        found = []
        # obstore lists whole path segments ("a/b" finds "a/b/c", not "a/b" or "a/bc"): list
        # the folder the prefix is in and keep what starts with the prefix, as S3 itself would.
        folder = prefix.rpartition("/")[0]
        for batch in obstore.list(self.store, _checked(folder) if folder else None):
            for meta in batch:
                if meta["path"].startswith(prefix):
                    found.append(
                        BlobInfo(meta["path"], meta["size"], meta["last_modified"].timestamp())
                    )
        return found

    def delete_prefix(self, prefix: str) -> int:
        keys = [info.key for info in self.list(prefix)]
        for start in range(0, len(keys), 1000):
            obstore.delete(self.store, keys[start : start + 1000])
        return len(keys)

    def copy_prefix(self, source: str, target: str) -> None:
        for info in self.list(source):
            if info.key == source or info.key.startswith(source + "/"):
                obstore.copy(self.store, info.key, target + info.key[len(source) :])


def _obstore_for(uri: str, **options: Any) -> ObjectStore:
    # obstore reads AWS_ENDPOINT_URL itself but refuses plain http unless told: a configured
    # http endpoint (a test server, MinIO on a private network) is taken as that permission.
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT") or ""
    if endpoint.startswith("http://"):
        options["allow_http"] = True
    return from_url(uri, client_options=options, retry_config=_retries)  # type: ignore[call-overload,no-any-return]


# A request that fails for a reason worth repeating is retried for at most this long (obstore's
# default keeps trying for three minutes, which would hold a tool or the start-up for as long).
_retries: dict[str, Any] = {"max_retries": 3, "retry_timeout": timedelta(seconds=30)}


def _checked(key: str) -> str:
    """A key that stays inside the store: relative, no empty, "." or ".." segment."""
    parts = key.rstrip("/").split("/")
    if key.startswith("/") or any(part in {"", ".", ".."} for part in parts):
        raise ValueError(f"not a store key: {key!r}")
    return key.rstrip("/")


@functools.lru_cache(maxsize=8)
def open_store(uri: str) -> BlobStore:
    """The store at `uri` (one per process: obstore's client keeps its connections)."""
    parsed = urlparse(uri)
    if parsed.scheme == LOCAL_SCHEME:
        return LocalBlobStore(Path(unquote(parsed.path)))
    if parsed.scheme in REMOTE_SCHEMES:
        return ObstoreBlobStore(uri)
    raise ValueError(f"not a store URI: {uri!r}")


def store_problem(uri: str) -> str | None:
    """Why the store at `uri` cannot be used (one sentence for an operator), or None.

    Lists the store: that fails for a bucket that does not exist, for credentials the server
    refuses, and for an endpoint that does not answer (within CHECK_TIMEOUT).
    """
    try:
        store = open_store(uri)
        if isinstance(store, ObstoreBlobStore):
            store = ObstoreBlobStore(uri, connect_timeout=CHECK_TIMEOUT, timeout=CHECK_TIMEOUT)
        store.list("")
    except Exception as error:  # obstore's errors carry the server's answer as text
        return f"STORAGE_URI={uri} cannot be used: {_reason(str(error))}."
    return None


def _reason(message: str) -> str:
    for code, reason in (
        ("NoSuchBucket", "the bucket does not exist"),
        ("InvalidAccessKeyId", "the access key is not known to the server (check AWS_*)"),
        ("SignatureDoesNotMatch", "the secret key is wrong (check AWS_SECRET_ACCESS_KEY)"),
        ("AccessDenied", "the credentials may not list the bucket"),
        ("403", "the server refused the credentials"),
        ("404", "the bucket does not exist"),
    ):
        if code in message:
            return reason
    return message.splitlines()[0][:300] if message else "the store did not answer"


# Locations a worker is handed ------------------------------------------------------------------
@dataclass(frozen=True)
class StoredObject:
    """Where one stored object (or tree) lives; what a worker needs to fetch it by itself.

    `store` is the store's URI, `key` the object's key in it, `sha256` its content hash (None for
    a tree, whose key is unique to the item: items never change once stored).
    """

    store: str
    key: str
    sha256: str | None = None

    @property
    def is_local(self) -> bool:
        return urlparse(self.store).scheme == LOCAL_SCHEME

    def local_copy(self) -> Path:
        """A path on this machine holding the object: the store's own file for a local
        directory, else a copy in this machine's cache (fetched once per content hash)."""
        store = open_store(self.store)
        if isinstance(store, LocalBlobStore):
            return store.path(self.key)
        identity = self.sha256 or hashlib.sha256(f"{self.store}/{self.key}".encode()).hexdigest()
        folder = cache_root() / identity
        target = folder / self.key.rpartition("/")[2]
        if target.exists():
            return target
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        scratch = Path(tempfile.mkdtemp(prefix=".fetch-", dir=folder))
        try:
            store.get_file(self.key, scratch / target.name)
            with contextlib.suppress(OSError):  # another process fetched it first: same bytes
                (scratch / target.name).rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_root() -> Path:
    """This machine's cache of fetched objects (per machine, so never a replica's data dir)."""
    return Path(tempfile.gettempdir()) / CACHE_FOLDER


class StoredPath(PosixPath):
    """A stored file's path as a worker sees it, carrying the location it is fetched from."""

    location: StoredObject | None = None  # paths derived from one (`.parent`) carry none

    def __reduce__(self) -> tuple[Any, ...]:
        return (_stored_path, (str(self), self.location))


class StagingPath(PosixPath):
    """Where a worker writes an output, carrying the store key it is uploaded to."""

    location: StoredObject | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_staging_path, (str(self), self.location))


def _stored_path(path: str, location: StoredObject | None) -> StoredPath:
    made = StoredPath(path)
    made.location = location
    return made


def _staging_path(path: str, location: StoredObject | None) -> StagingPath:
    made = StagingPath(path)
    made.location = location
    return made


def stored_path(location: StoredObject) -> StoredPath:
    """The path of `location` on the machine that fetches it (see `StoredObject.local_copy`)."""
    if location.is_local:
        return _stored_path(str(open_store(location.store).path(location.key)), location)  # type: ignore[attr-defined]
    return _stored_path(f"{cache_root()}/{location.key}", location)


def staging_path(location: StoredObject) -> StagingPath:
    return _staging_path(f"{cache_root()}/outbox/{location.key}", location)


def needs_locations(args: tuple[Any, ...]) -> bool:
    return any(
        isinstance(arg, StoredPath | StagingPath) and arg.location is not None for arg in args
    )


def call_with_locations(function: Callable[..., Any], *args: Any) -> Any:
    """Run `function(*args)` here with stored inputs fetched and staged outputs uploaded."""
    scratch = Path(tempfile.mkdtemp(prefix="outputs-"))
    try:
        local: list[Any] = []
        outputs: list[tuple[Path, StoredObject]] = []
        for arg in args:
            if isinstance(arg, StoredPath) and arg.location is not None:
                local.append(arg.location.local_copy())
            elif isinstance(arg, StagingPath) and arg.location is not None:
                target = scratch / str(len(outputs)) / arg.name
                target.parent.mkdir()
                outputs.append((target, arg.location))
                local.append(target)
            else:
                local.append(arg)
        result = function(*local)
        for target, location in outputs:
            if target.exists():  # a function may decline to write (a report-only call)
                store = open_store(location.store)
                store.put_file(location.key, target)
                if target.is_file():  # the replica records the hash without fetching the file
                    store.put_bytes(location.key + SHA_SUFFIX, file_sha256(target).encode())
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def with_locations(
    function: Callable[..., Any], args: tuple[Any, ...]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The call a worker should make for `function(*args)`: unchanged unless some argument is
    a location, then wrapped by `call_with_locations` (picklable: a module function)."""
    if needs_locations(args):
        return call_with_locations, (function, *args)
    return function, args
