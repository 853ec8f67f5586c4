"""Compute on Ray (RAY_ADDRESS), against a real Ray head started with Ray's own CLI.

One head per module (tests/ray_cluster.py: in a loopback-only network namespace, 2 CPUs, token
authentication); every process that joins it runs in that namespace too. A driver script
(tests/ray_work.py) sends real calls through `workers.run_cpu` and `run_with_deadline`; the
real app (`main.py`, offline model) trains a model and runs AutoML with RAY_ADDRESS set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data_science.errors import ToolError
from data_science.ml.analysis.aggregate import value_counts
from data_science.storage.tables import TableFile
from tests.conftest import PROJECT_ROOT, LiveServer
from tests.ray_cluster import Namespace, RayHead

APP = "data_science"
USER = "ray-user"
GONE_WAIT_SECONDS = 15.0


@pytest.fixture(scope="module")
def head() -> Iterator[RayHead]:
    namespace = Namespace()
    try:
        cluster = RayHead(namespace, cpus=2)
        try:
            yield cluster
        finally:
            cluster.close()
    finally:
        namespace.close()


@pytest.fixture(scope="module")
def driven(head: RayHead, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What tests/ray_work.py got back from Ray (run once for the module's checks)."""
    tmp = tmp_path_factory.mktemp("driver")
    table = tmp / "penguins.csv"
    pd.DataFrame(
        {"species": ["Adelie"] * 5 + ["Gentoo"] * 3 + ["Chinstrap"] * 2, "mass": range(10)}
    ).to_csv(table, index=False)
    pid_dir = tmp / "pids"
    pid_dir.mkdir()
    done = head.namespace.run(
        [sys.executable, "-m", "tests.ray_work", str(table), "species", str(pid_dir)],
        env={**head.env, "RAY_ADDRESS": head.address, "DATA_DIR": str(tmp / "data")},
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    out["table"] = TableFile(table, "csv")
    out["pid_dir"] = pid_dir
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _state(pid)


def _state(pid: int) -> str:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return "zombie"
    return next(line for line in status.splitlines() if line.startswith("State:")).lower()


def parent_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])


def test_run_cpu_on_ray_returns_what_the_local_call_returns(driven: dict[str, Any]) -> None:
    assert driven["counts"] == value_counts(driven["table"], "species", 3)
    assert [row["count"] for row in driven["counts"]["values"]] == [5, 3, 2]  # pandas' counts
    # Done by a Ray worker: not the driver, and not a process the driver started.
    worker = driven["worker_pid"]
    assert worker != driven["driver_pid"]
    assert not alive(worker) or parent_of(worker) != driven["driver_pid"]


def test_a_failing_call_raises_its_own_exception(driven: dict[str, Any]) -> None:
    with pytest.raises(ToolError) as local:
        value_counts(driven["table"], "species", 0)
    assert driven["error"] == {
        "type": "ToolError",
        "message": local.value.message,
        "code": local.value.code,
    }


@pytest.mark.parametrize("how", ["deadline", "cancel"])
def test_a_stopped_job_leaves_no_process(driven: dict[str, Any], how: str) -> None:
    key = "deadline" if how == "deadline" else "cancelled"
    assert driven[key]["seconds"] < 30  # the job held a core for 120 s unless stopped
    expected = "stopped after 8 s" if how == "deadline" else "cancelled"
    assert driven[key]["message"] == expected
    pids = [int(path.name) for path in (driven["pid_dir"] / how).iterdir()]
    assert len(pids) == 1, "the job never started"
    gone_by = time.monotonic() + GONE_WAIT_SECONDS
    while alive(pids[0]) and time.monotonic() < gone_by:
        time.sleep(0.2)
    assert not alive(pids[0])


class NamespacedServer(LiveServer):
    """The real app, started inside the Ray test namespace."""

    def __init__(self, head: RayHead, data_dir: Path, extra_env: dict[str, str]) -> None:
        super().__init__(data_dir, {**head.env, **extra_env})
        self.head = head
        self.command = [*head.namespace.prefix, *self.command]
        self.http = head.namespace.client(self.url, timeout=300)

    def warmed_up(self) -> bool:
        if self.http.get("/healthz", timeout=1).status_code != 200:
            return False
        return bool(self.http.get("/readyz", timeout=5).json()["status"] != "warming up")


def tool_results(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [
        part["functionResponse"]["response"]
        for event in events
        for part in (event.get("content") or {}).get("parts", [])
        if part.get("functionResponse", {}).get("name") == name
    ]


def turn(server: NamespacedServer, session_id: str, text: str) -> list[dict[str, Any]]:
    response = server.http.post(
        "/run",
        json={
            "app_name": APP,
            "user_id": USER,
            "session_id": session_id,
            "new_message": {"role": "user", "parts": [{"text": text}]},
        },
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def test_the_app_trains_and_runs_automl_on_ray(
    head: RayHead, tmp_path: Path, penguins_csv: Path
) -> None:
    server = NamespacedServer(head, tmp_path / "data", {"RAY_ADDRESS": head.address})
    server.start()
    try:
        session = server.http.post(f"/apps/{APP}/users/{USER}/sessions", json={}).json()["id"]
        with penguins_csv.open("rb") as handle:
            uploaded = server.http.post(
                "/api/uploads",
                data={"user_id": USER, "session_id": session},
                files={"file": ("penguins.csv", handle, "text/csv")},
            )
        assert uploaded.status_code == 201, uploaded.text
        trained = tool_results(turn(server, session, "train a model to predict species"), "train")
        assert trained[0]["status"] == "ok" and trained[0]["n_test"] == 69
        assert trained[0]["test_metrics"]["accuracy"] > 0.9
        events = turn(server, session, "run automl to predict species for 20 seconds")
        automl = tool_results(events, "automl")
        assert automl[0]["status"] == "ok", automl
        assert automl[0]["n_test"] == 69 and automl[0]["test_metrics"]["accuracy"] > 0.9
        events = turn(server, session, "which algorithm works best for species in 15 seconds")
        searched = tool_results(events, "search_models")
        assert searched[0]["status"] == "ok", searched
        assert searched[0]["test_metrics"]["accuracy"] > 0.9
        app_pid = server.process.pid if server.process else -1
    finally:
        server.stop()
    # Ray's workers did the work: its log files name the tasks, and their processes were
    # Ray's (started by the head's raylet), not the app's.
    logs = head.worker_logs()
    fits = [pid for pid, text in logs.items() if "heavy:" in text and "fit" in text]
    jobs = [pid for pid, text in logs.items() if "job:run_autogluon" in text]
    searches = [pid for pid, text in logs.items() if "job:run_flaml" in text]
    assert fits and jobs and searches, {pid: text[:300] for pid, text in logs.items()}
    assert app_pid not in fits + jobs + searches


def test_an_unreachable_ray_address_stops_the_app_with_a_sentence(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "RAY_ADDRESS": "127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "main.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode != 0
    last = done.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("Nothing answers at RAY_ADDRESS=127.0.0.1:1 (Connection refused)")
    assert last.endswith("or unset it to compute on this machine.")


def test_verify_production_reports_ray(head: RayHead, tmp_path: Path) -> None:
    found = {}
    for address in (head.address, "127.0.0.1:1"):
        done = head.namespace.run(
            [sys.executable, "verify_production.py", "--json"],
            cwd=PROJECT_ROOT,
            env={**head.env, "DATA_DIR": str(tmp_path / "data"), "RAY_ADDRESS": address},
            capture_output=True,
            timeout=120,
        )
        checks = {check["name"]: check for check in json.loads(done.stdout)["checks"]}
        found[address] = (checks["ray"]["status"], checks["ray"]["detail"])
    joined = f"{head.address}: 1 node(s), 2 CPUs for CPU work and AutoML"
    assert found[head.address] == ("ok", joined)
    assert found["127.0.0.1:1"][0] == "fail"
    assert found["127.0.0.1:1"][1].startswith("Nothing answers at RAY_ADDRESS=127.0.0.1:1")
