"""ADK's artifact service over the blob store (STORAGE_URI): charts and downloads in the bucket.

Layout: `artifacts/<app>/<user>/sessions/<session>/<filename>/<version>/{data,meta.json}` for a
session's artifacts, `artifacts/<app>/<user>/user/<filename>/<version>/...` for the user's own
(`user:` names). A version's payload is put first and its meta.json last, so a version exists
once whole; a listing reads only meta.json keys.
"""

from __future__ import annotations

import json
import time
from typing import Any

from google.adk.artifacts import artifact_util
from google.adk.artifacts.base_artifact_service import (
    ArtifactVersion,
    BaseArtifactService,
    ensure_part,
)
from google.adk.artifacts.file_artifact_service import FileArtifactService
from google.genai import types

from data_science.config import Settings
from data_science.runtime.threads import run_blocking
from data_science.storage.objects import BlobStore, MissingObject, open_store

ROOT = "artifacts"
USER_PREFIX = "user:"
DATA = "data"
META = "meta.json"


class StoreArtifactService(BaseArtifactService):
    """Artifacts as objects in a `BlobStore`; every call is blocking I/O off the event loop."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store

    # Layout ------------------------------------------------------------------------------------
    def _scope(self, app_name: str, user_id: str, filename: str, session_id: str | None) -> str:
        artifact_util.validate_path_segment(app_name, "app_name")
        artifact_util.validate_path_segment(user_id, "user_id")
        if filename.startswith(USER_PREFIX):
            return f"{ROOT}/{app_name}/{user_id}/user/{filename[len(USER_PREFIX) :]}"
        if session_id is None:
            raise ValueError("a session-scoped artifact needs a session id")
        artifact_util.validate_path_segment(session_id, "session_id")
        return f"{ROOT}/{app_name}/{user_id}/sessions/{session_id}/{filename}"

    def _versions(self, prefix: str) -> dict[int, str]:
        """Version → its meta.json key, for the artifact whose keys start with `prefix/`."""
        found = {}
        for info in self.store.list(prefix + "/"):
            version, _, name = info.key[len(prefix) + 1 :].partition("/")
            if name == META and version.isdigit():
                found[int(version)] = info.key
        return found

    # Writing -----------------------------------------------------------------------------------
    def _save(
        self,
        prefix: str,
        artifact: types.Part,
        custom_metadata: dict[str, Any] | None,
    ) -> int:
        meta: dict[str, Any] = {"custom_metadata": custom_metadata or {}, "created": time.time()}
        if artifact.inline_data is not None:
            data = artifact.inline_data.data or b""
            meta["mime_type"] = artifact.inline_data.mime_type
            meta["display_name"] = artifact.inline_data.display_name
        elif artifact.text is not None:
            data, meta["text"] = artifact.text.encode("utf-8"), True
        elif artifact.file_data is not None and artifact.file_data.file_uri:
            data = b""
            meta["file_uri"] = artifact.file_data.file_uri
            meta["mime_type"] = artifact.file_data.mime_type
        else:
            raise ValueError("an artifact needs inline data, text or a file URI")
        versions = self._versions(prefix)
        version = max(versions) + 1 if versions else 0
        try:
            self.store.put_bytes(f"{prefix}/{version}/{DATA}", data)
            self.store.put_bytes(f"{prefix}/{version}/{META}", json.dumps(meta).encode())
        except BaseException:
            self.store.delete_prefix(f"{prefix}/{version}/")
            raise
        return version

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        artifact: types.Part | dict[str, Any],
        session_id: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        prefix = self._scope(app_name, user_id, filename, session_id)
        part = ensure_part(artifact)
        return await run_blocking(self._save, prefix, part, custom_metadata)

    # Reading -----------------------------------------------------------------------------------
    def _meta(self, prefix: str, version: int | None) -> tuple[int, dict[str, Any]] | None:
        versions = self._versions(prefix)
        if version is None:
            if not versions:
                return None
            version = max(versions)
        if version not in versions:
            return None
        try:
            return version, json.loads(self.store.get_bytes(versions[version]))
        except MissingObject:
            return None  # deleted since the listing

    def _load(self, prefix: str, version: int | None) -> types.Part | None:
        found = self._meta(prefix, version)
        if found is None:
            return None
        number, meta = found
        if meta.get("file_uri"):
            return types.Part(
                file_data=types.FileData(file_uri=meta["file_uri"], mime_type=meta["mime_type"])
            )
        try:
            data = self.store.get_bytes(f"{prefix}/{number}/{DATA}")
        except MissingObject:
            return None
        if meta.get("text"):
            return types.Part(text=data.decode("utf-8"))
        blob = types.Blob(
            mime_type=meta.get("mime_type"), data=data, display_name=meta.get("display_name")
        )
        part = types.Part(inline_data=blob)
        return None if artifact_util._is_rewind_tombstone(part) else part

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> types.Part | None:
        prefix = self._scope(app_name, user_id, filename, session_id)
        return await run_blocking(self._load, prefix, version)

    def _keys(self, app_name: str, user_id: str, session_id: str | None) -> list[str]:
        names = set()
        scopes = [(f"{ROOT}/{app_name}/{user_id}/user/", USER_PREFIX)]
        if session_id is not None:
            scopes.append((f"{ROOT}/{app_name}/{user_id}/sessions/{session_id}/", ""))
        for prefix, label in scopes:
            for info in self.store.list(prefix):
                parts = info.key[len(prefix) :].split("/")
                if len(parts) >= 3 and parts[-1] == META and parts[-2].isdigit():
                    names.add(label + "/".join(parts[:-2]))
        return sorted(names)

    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str | None = None
    ) -> list[str]:
        artifact_util.validate_path_segment(app_name, "app_name")
        artifact_util.validate_path_segment(user_id, "user_id")
        if session_id is not None:
            artifact_util.validate_path_segment(session_id, "session_id")
        return await run_blocking(self._keys, app_name, user_id, session_id)

    def _delete(self, prefix: str) -> None:
        # Every meta.json first: from then on no version of it can be listed or loaded.
        for key in self._versions(prefix).values():
            self.store.delete_prefix(key)
        self.store.delete_prefix(prefix + "/")

    async def delete_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> None:
        prefix = self._scope(app_name, user_id, filename, session_id)
        await run_blocking(self._delete, prefix)

    async def list_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[int]:
        prefix = self._scope(app_name, user_id, filename, session_id)
        return sorted(await run_blocking(self._versions, prefix))

    def _version_record(self, prefix: str, version: int | None) -> ArtifactVersion | None:
        found = self._meta(prefix, version)
        if found is None:
            return None
        number, meta = found
        return ArtifactVersion(
            version=number,
            canonical_uri=meta.get("file_uri") or f"{self.store.uri}/{prefix}/{number}/{DATA}",
            custom_metadata=meta.get("custom_metadata") or {},
            create_time=meta.get("created", 0.0),
            mime_type=meta.get("mime_type"),
        )

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[ArtifactVersion]:
        prefix = self._scope(app_name, user_id, filename, session_id)

        def records() -> list[ArtifactVersion]:
            found = (self._version_record(prefix, number) for number in self._versions(prefix))
            return sorted((record for record in found if record), key=lambda r: r.version)

        return await run_blocking(records)

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        session_id: str | None = None,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        prefix = self._scope(app_name, user_id, filename, session_id)
        return await run_blocking(self._version_record, prefix, version)


def artifact_service_for(settings: Settings) -> BaseArtifactService:
    """The store's artifact service when STORAGE_URI is set, else ADK's files under DATA_DIR."""
    if settings.STORAGE_URI is not None:
        return StoreArtifactService(open_store(settings.STORAGE_URI))
    return FileArtifactService(settings.artifacts_dir)
