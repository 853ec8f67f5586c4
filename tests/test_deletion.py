"""Deletion routes: one file, a whole session, all of a user's data, each gone from disk and
audited; other users' data untouched; unknown ids answered 404 with a clear message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from data_science.config import Settings
from data_science.storage.workspace import directory_key

APP = "data_science"


async def new_session(client: httpx.AsyncClient, user: str) -> str:
    response = await client.post(f"/apps/{APP}/users/{user}/sessions")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def upload(client: httpx.AsyncClient, user: str, session_id: str, path: Path) -> str:
    with path.open("rb") as handle:
        response = await client.post(
            "/api/uploads",
            data={"user_id": user, "session_id": session_id},
            files={"file": (path.name, handle, "text/csv")},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


async def chat(client: httpx.AsyncClient, user: str, session_id: str, text: str) -> list[Any]:
    response = await client.post(
        "/run",
        json={
            "app_name": APP,
            "user_id": user,
            "session_id": session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]},
        },
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def files_on_disk(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def audit_deletions(settings: Settings) -> list[dict[str, Any]]:
    lines = settings.audit_log_path.read_text().splitlines()
    return [record for line in lines if (record := json.loads(line))["action"] == "deletion"]


async def test_deleting_one_file_removes_it_from_disk_and_the_listing(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    session_id = await new_session(client, "alice")
    kept = await upload(client, "alice", session_id, penguins_csv)
    doomed = await upload(client, "alice", session_id, penguins_csv)
    url = f"/api/users/alice/sessions/{session_id}/files"

    deleted = await client.delete(f"{url}/{doomed}")

    assert deleted.status_code == 200
    assert deleted.json() == {"deleted": {"file_id": doomed, "name": "penguins.csv"}}
    listed = (await client.get(url)).json()["files"]
    assert [item["id"] for item in listed] == [kept]
    assert not [p for p in files_on_disk(settings.ready_dir) if doomed in p.parts]
    assert [(r["scope"], r["item_id"]) for r in audit_deletions(settings)] == [("file", doomed)]


async def test_unknown_files_and_sessions_answer_404_with_what_exists(
    client: httpx.AsyncClient, penguins_csv: Path
) -> None:
    session_id = await new_session(client, "alice")
    kept = await upload(client, "alice", session_id, penguins_csv)

    unknown_file = await client.delete(
        f"/api/users/alice/sessions/{session_id}/files/ds_0123456789abcdef"
    )
    assert unknown_file.status_code == 404
    assert unknown_file.json()["error"] == "unknown_file"
    assert kept in unknown_file.json()["message"]  # the message lists what does exist

    for url in (
        "/api/users/alice/sessions/no-such-session",
        "/api/users/alice/sessions/no-such-session/files/ds_0123456789abcdef",
        f"/api/users/bob/sessions/{session_id}",  # another user's session is not bob's
    ):
        response = await client.delete(url)
        assert response.status_code == 404, url
        assert "no session" in response.json()["message"]
    nobody = await client.delete("/api/users/nobody")
    assert nobody.status_code == 404 and nobody.json()["error"] == "nothing_stored"


async def test_deleting_a_session_removes_its_files_artifacts_and_history(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    doomed = await new_session(client, "alice")
    other = await new_session(client, "alice")
    await upload(client, "alice", doomed, penguins_csv)
    other_file = await upload(client, "alice", other, penguins_csv)
    events = await chat(client, "alice", doomed, "plot a histogram of body mass")
    assert any(e.get("actions", {}).get("artifactDelta") for e in events)  # a chart was saved
    artifacts_url = f"/apps/{APP}/users/alice/sessions/{doomed}/artifacts"
    assert (await client.get(artifacts_url)).json()

    deleted = await client.delete(f"/api/users/alice/sessions/{doomed}")

    assert deleted.status_code == 200
    assert deleted.json()["deleted"]["files"] == 1
    assert deleted.json()["deleted"]["artifacts"] >= 1
    assert (await client.get(f"/apps/{APP}/users/alice/sessions/{doomed}")).status_code == 404
    assert (await client.delete(f"/api/users/alice/sessions/{doomed}")).status_code == 404
    # Gone from disk: no file, directory or database row names the session any more.
    everything = list(settings.DATA_DIR.rglob("*"))
    assert not [p for p in everything if doomed in p.parts or directory_key(doomed) in p.parts]
    database = (settings.sessions_dir / "sessions.db").read_bytes()
    assert doomed.encode() not in database and b"histogram of body mass" not in database
    # The user's other session is untouched.
    listed = (await client.get(f"/api/users/alice/sessions/{other}/files")).json()["files"]
    assert [item["id"] for item in listed] == [other_file]
    [record] = audit_deletions(settings)
    assert record["scope"] == "session" and record["session_id"] == doomed
    assert record["reason"] == "request" and record["user"] not in (None, "alice")


async def test_deleting_a_user_removes_all_their_data_and_nobody_elses(
    client: httpx.AsyncClient, settings: Settings, penguins_csv: Path
) -> None:
    sessions = [await new_session(client, "alice") for _ in range(2)]
    for session_id in sessions:
        await upload(client, "alice", session_id, penguins_csv)
    await chat(client, "alice", sessions[0], "plot a histogram of body mass")
    bob_session = await new_session(client, "bob")
    bob_file = await upload(client, "bob", bob_session, penguins_csv)

    deleted = await client.delete("/api/users/alice")

    assert deleted.status_code == 200
    assert deleted.json()["deleted"]["sessions"] == 2
    assert deleted.json()["deleted"]["files"] == 2
    assert (await client.get(f"/apps/{APP}/users/alice/sessions")).json() == []
    everything = list(settings.DATA_DIR.rglob("*"))
    assert not [p for p in everything if "alice" in p.parts or directory_key("alice") in p.parts]
    database = (settings.sessions_dir / "sessions.db").read_bytes()
    assert b"alice" not in database
    assert (await client.delete("/api/users/alice")).status_code == 404
    # Bob keeps everything.
    listed = (await client.get(f"/api/users/bob/sessions/{bob_session}/files")).json()["files"]
    assert [item["id"] for item in listed] == [bob_file]
    scopes = [record["scope"] for record in audit_deletions(settings)]
    assert scopes == ["session", "session", "user"]
