"""Two replicas of the app behind one PostgreSQL session store: any replica serves any request.

Everything runs inside a loopback-only network namespace (tests/loopback.py): a throwaway
PostgreSQL, moto's S3 server, a Ray head started with Ray's CLI, and two `main.py` servers on
two ports with the same SESSION_SERVICE_URI, STORAGE_URI and RAY_ADDRESS and a DATA_DIR each
(nothing shared on disk), the offline model answering. One flow crosses both:
a session and an upload made on A are used on B; an AutoML run started on A is followed and
cancelled from B; a session deleted on B leaves nothing; a replica killed with SIGKILL in the
middle of a turn leaves a chat the other continues once the turn's lease has lapsed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from data_science.storage.workspace import directory_key
from tests.conftest import load_penguins
from tests.loopback import LoopbackNamespace, NamespaceClient, NamespacedServer
from tests.postgres_server import postgres_binaries, start_postgres
from tests.ray_cluster import RayHead
from tests.s3_server import S3Server, s3_server

APP = "data_science"
USER = "alice"
LEASE_SECONDS = (
    5  # TURN_LEASE_SECONDS of the replicas: a dead replica's turn holds its chat so long
)
AUTOML = "run automl for 2 minutes on species"
PREFIX = "replicas"


class Deployment:
    def __init__(
        self,
        namespace: LoopbackNamespace,
        data_dirs: list[Path],
        servers: list[NamespacedServer],
        s3: S3Server,
    ) -> None:
        self.namespace = namespace
        self.data_dirs = data_dirs
        self.a, self.b = servers
        self.s3 = s3

    def bucket_keys(self) -> list[str]:
        return self.namespace.call(self.s3.keys, f"{PREFIX}/")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    namespace = LoopbackNamespace()
    servers: list[NamespacedServer] = []
    stack = ExitStack()
    try:
        url = start_postgres(postgres_binaries(), namespace)
        s3 = stack.enter_context(s3_server(namespace))
        head = RayHead(namespace, cpus=2)
        stack.callback(head.close)
        ray_env = {name: value for name, value in head.env.items() if name.startswith("RAY_")}
        env = {
            **ray_env,
            **s3.env(),
            "RAY_ADDRESS": head.address,
            "STORAGE_URI": f"s3://{s3.bucket}/{PREFIX}",
            "SESSION_SERVICE_URI": url,
            "TURN_LEASE_SECONDS": str(LEASE_SECONDS),
            # Set, not generated: each replica would generate its own and hash users apart.
            "PII_HASH_SECRET": "replica-test-secret-" + "x" * 32,
        }
        root = tmp_path_factory.mktemp("replicas")
        data_dirs = [root / name / "data" for name in ("a", "b")]  # nothing shared on disk
        for data_dir in data_dirs:
            data_dir.parent.mkdir()
        for name, port, data_dir in (("a", 8101, data_dirs[0]), ("b", 8102, data_dirs[1])):
            server = NamespacedServer(namespace, data_dir, port, {**env, "REPLICA_ID": name})
            servers.append(server)
            server.start()
        yield Deployment(namespace, data_dirs, servers, s3)
    finally:
        for server in servers:
            if server.process is not None:
                server.stop()
        stack.close()
        namespace.close()


def turn(session_id: str, text: str) -> dict[str, Any]:
    return {
        "app_name": APP,
        "user_id": USER,
        "session_id": session_id,
        "new_message": {"role": "user", "parts": [{"text": text}]},
    }


def tool_results(answer: httpx.Response) -> dict[str, dict[str, Any]]:
    """tool name -> its result, from a `/run` answer's events."""
    assert answer.status_code == 200, answer.text
    return {
        part["functionResponse"]["name"]: part["functionResponse"]["response"]
        for event in answer.json()
        for part in (event.get("content") or {}).get("parts", [])
        if part.get("functionResponse")
    }


def new_session(client: NamespaceClient) -> str:
    created = client.post(f"/apps/{APP}/users/{USER}/sessions", json={})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def files(client: NamespaceClient, session_id: str) -> list[dict[str, Any]]:
    listed = client.get(f"/api/users/{USER}/sessions/{session_id}/files")
    assert listed.status_code == 200, listed.text
    return list(listed.json()["files"])


def jobs_url(session_id: str) -> str:
    return f"/api/users/{USER}/sessions/{session_id}/jobs"


def eventually(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail saying `what` never happened."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.3)
    raise AssertionError(f"{what} within {seconds} s")


def running_job(client: NamespaceClient, session_id: str) -> dict[str, Any] | None:
    listed = client.get(jobs_url(session_id)).json()["jobs"]
    return next((job for job in listed if job["progress"]), None)


def start_automl(deployment: Deployment, session_id: str) -> tuple[Future[httpx.Response], dict]:
    """An AutoML turn on A, in the background; returns it and its job as B lists it."""
    answer = deployment.a.client.submit("POST", "/run", json=turn(session_id, AUTOML))
    job = eventually(
        lambda: running_job(deployment.b.client, session_id), 120, "B never listed A's AutoML job"
    )
    return answer, job


def upload(client: NamespaceClient, session_id: str, frame: pd.DataFrame) -> dict[str, Any]:
    sent = client.post(
        "/api/uploads",
        data={"user_id": USER, "session_id": session_id},
        files={"file": ("penguins.csv", frame.to_csv(index=False).encode())},
    )
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


def test_a_session_made_on_one_replica_is_served_by_the_other(deployment: Deployment) -> None:
    a, b = deployment.a.client, deployment.b.client
    penguins = load_penguins()
    session_id = new_session(a)
    upload(a, session_id, penguins)

    [listed] = files(b, session_id)
    assert (listed["name"], listed["rows"]) == ("penguins.csv", len(penguins))

    trained = tool_results(
        b.post("/run", json=turn(session_id, "train a model to predict species"))
    )
    assert trained["train"]["status"] == "ok"
    assert trained["train"]["target"] == "species"
    charted = tool_results(b.post("/run", json=turn(session_id, "plot a histogram of body mass")))
    assert charted["plot"]["status"] == "ok"
    artifacts = a.get(f"/apps/{APP}/users/{USER}/sessions/{session_id}/artifacts").json()
    assert any(name.endswith(".png") for name in artifacts)  # B's chart, seen from A
    kinds = sorted(item["kind"] for item in files(a, session_id))
    assert kinds == ["model", "table"]
    for server, name in ((deployment.a, "a"), (deployment.b, "b")):  # logs say who wrote them
        text = server.log_path.read_text().splitlines()
        lines = [json.loads(line) for line in text if line.startswith("{")]
        served = [line for line in lines if line.get("event") == "http.request"]
        assert served and all(line["replica"] == name for line in served)


def test_automl_started_on_a_is_followed_and_cancelled_from_b(deployment: Deployment) -> None:
    a, b = deployment.a.client, deployment.b.client
    session_id = new_session(a)
    upload(a, session_id, load_penguins())

    answer, job = start_automl(deployment, session_id)
    assert (job["tool"], job["replica"], job["state"]) == ("automl", "a", "running")
    assert job["budget_seconds"] == 120 and 0 < job["progress"] < 1
    later = eventually(
        lambda: (
            (seen := running_job(b, session_id)) and seen["progress"] > job["progress"] and seen
        ),
        30,
        "the job's progress never moved",
    )
    assert later["job_id"] == job["job_id"]

    cancelled_at = time.monotonic()
    asked = b.post(f"{jobs_url(session_id)}/{job['job_id']}/cancel")
    assert asked.status_code == 202 and asked.json()["state"] == "cancelling"
    result = tool_results(answer.result(timeout=60))["automl"]
    assert (result["status"], result["error"]) == ("error", "cancelled")
    assert time.monotonic() - cancelled_at < 20  # stopped, not left to run out its budget
    assert a.get(jobs_url(session_id)).json() == {"jobs": []}
    assert b.get(jobs_url(session_id)).json() == {"jobs": []}
    assert [item["kind"] for item in files(b, session_id)] == ["table"]  # nothing half-made kept


def test_a_session_deleted_on_b_leaves_nothing_of_it(deployment: Deployment) -> None:
    a, b = deployment.a.client, deployment.b.client
    session_id = new_session(a)
    upload(a, session_id, load_penguins())
    tool_results(a.post("/run", json=turn(session_id, "plot a histogram of body mass")))
    stored = session_files(deployment, session_id)
    assert [key for key in stored if "/ready/" in key and key.endswith("meta.json")]
    assert [key for key in stored if "/artifacts/" in key]  # its table and chart in the bucket

    deleted = b.delete(f"/api/users/{USER}/sessions/{session_id}")
    assert deleted.status_code == 200, deleted.text

    for client in (a, b):
        gone = client.get(f"/apps/{APP}/users/{USER}/sessions/{session_id}")
        assert gone.status_code == 404
        assert client.get(f"/api/users/{USER}/sessions/{session_id}/files").status_code == 404
    assert session_files(deployment, session_id) == []


def session_files(deployment: Deployment, session_id: str) -> list[str]:
    """Whatever on either replica's disk or in the bucket belongs to the session (its folders
    and keys are named by its id or by its key)."""
    names = {session_id, directory_key(session_id)}
    on_disk = [
        str(path)
        for data_dir in deployment.data_dirs
        for path in data_dir.rglob("*")
        if names & set(path.parts)
    ]
    in_bucket = [key for key in deployment.bucket_keys() if names & set(key.split("/"))]
    return on_disk + in_bucket


def test_a_replica_killed_mid_turn_leaves_a_chat_the_other_continues(
    deployment: Deployment,
) -> None:
    b = deployment.b.client
    session_id = new_session(b)
    upload(b, session_id, load_penguins())
    answer, job = start_automl(deployment, session_id)
    assert job["replica"] == "a"

    deployment.a.kill()
    killed_at = time.monotonic()
    assert isinstance(answer.exception(timeout=30), httpx.TransportError)

    # The dead replica's turn holds the chat until its lease lapses, then B takes the turn.
    first = b.post("/run", json=turn(session_id, "list my files"))
    assert first.status_code == 409 and first.json()["error"] == "turn_in_progress"
    continued = eventually(
        lambda: (
            (sent := b.post("/run", json=turn(session_id, "list my files"))).status_code == 200
            and sent
        ),
        LEASE_SECONDS + 30,
        "B never took the chat over",
    )
    assert time.monotonic() - killed_at >= LEASE_SECONDS - 1
    listed = tool_results(continued)["list_data_files"]
    assert listed["status"] == "ok" and "penguins.csv" in str(listed)
    # The dead replica's job stops being listed once its heartbeat is stale.
    eventually(
        lambda: b.get(jobs_url(session_id)).json() == {"jobs": []},
        60,
        "the dead replica's job was still listed",
    )
