"""The server process stays lean: the libraries that compute load in the worker processes only.

Issue #17: the first chat turn must not wait for scikit-learn, SciPy, matplotlib, statsmodels,
DuckDB, AutoGluon, FLAML or statsforecast to import in the server process. Showing a step's code
and exporting the chat as a notebook write code from templates that import those libraries (the
options of every model family), so they run in a worker too: the test does both, through the
model's tools and the page's routes. The real app runs in
its own process; which of those libraries it loaded is read from the outside, from the shared
objects mapped into it (`/proc/PID/maps`), with no hook inside the app. Pure-Python packages
(FLAML, AutoGluon, statsforecast) map nothing of their own but import the compiled ones listed.
The same reading of a worker process shows the libraries it computed with, so the probe is seen
to work.
"""

from __future__ import annotations

import io
import zipfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import httpx
import psutil

from tests.conftest import LiveServer

APP = "data_science"
# Distributions with compiled parts that importing the listed libraries maps into a process.
COMPUTING = ("scikit-learn", "scipy", "matplotlib", "statsmodels", "duckdb", "lightgbm")


def installed_files(name: str) -> set[Path]:
    try:
        files = distribution(name).files or []
    except PackageNotFoundError:
        return set()
    return {Path(str(file.locate())).resolve() for file in files}


FILES = {name: installed_files(name) for name in COMPUTING}


def mapped_libraries(pid: int) -> set[str]:
    """The distributions of COMPUTING whose files process `pid` has mapped into memory."""
    mapped = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith("/"):
            mapped.add(Path(fields[5]))
    return {name for name, files in FILES.items() if mapped & files}


def turn(http: httpx.Client, session_id: str, text: str) -> list[dict[str, object]]:
    request = {
        "app_name": APP,
        "user_id": "alice",
        "session_id": session_id,
        "new_message": {"role": "user", "parts": [{"text": text}]},
    }
    response = http.post("/run", json=request)
    response.raise_for_status()
    return list(response.json())


def tool_results(events: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """Each tool's result in the turn, with the id of the call it answered as `call_id`."""
    results = {}
    for event in events:
        content = event.get("content")
        for part in (content or {}).get("parts") or [] if isinstance(content, dict) else []:
            if part.get("functionResponse"):
                call = part["functionResponse"]
                results[call["name"]] = {**call["response"], "call_id": call["id"]}
    return results


def show_and_export(http: httpx.Client, session_id: str, call_id: object, upload: str) -> None:
    """The chat's code shown and exported, by the model's tools and by the page's routes."""
    shown = tool_results(turn(http, session_id, "show me the code"))["show_code"]
    assert shown["status"] == "ok", shown
    assert any("bill_length_mm" in line for step in shown["steps"] for line in step["code"])
    exported = tool_results(turn(http, session_id, "export this chat as a notebook"))
    assert exported["export_notebook"]["status"] == "ok", exported
    api = f"/api/users/alice/sessions/{session_id}"
    code = http.get(f"{api}/code/{call_id}")
    assert code.status_code == 200, code.text
    assert "bill_length_mm" in code.json()["code"]
    notebook = http.get(f"{api}/notebook")
    assert notebook.status_code == 200, notebook.text
    with zipfile.ZipFile(io.BytesIO(notebook.content)) as archive:
        assert set(archive.namelist()) == {"notebook.ipynb", f"data/{upload}"}


def test_the_server_process_never_loads_the_computing_libraries(
    live_server: LiveServer, penguins_csv: Path
) -> None:
    assert all(FILES.values()), "each library checked for is installed"
    assert live_server.process is not None
    server = live_server.process.pid
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        session_id = http.post(f"/apps/{APP}/users/alice/sessions").json()["id"]
        turn(http, session_id, "list my files")
        assert mapped_libraries(server) == set()

        with penguins_csv.open("rb") as handle:
            uploaded = http.post(
                "/api/uploads",
                data={"user_id": "alice", "session_id": session_id},
                files={"file": (penguins_csv.name, handle, "text/csv")},
            )
        assert uploaded.status_code == 201, uploaded.text
        events = turn(http, session_id, "find outliers in bill_length_mm")
    described = tool_results(events)["describe_distribution"]
    assert described["status"] == "ok"
    assert mapped_libraries(server) == set()
    with httpx.Client(base_url=live_server.url, timeout=120) as http:
        show_and_export(http, session_id, described["call_id"], penguins_csv.name)
    assert mapped_libraries(server) == set()
    workers = psutil.Process(server).children(recursive=True)
    assert any("scipy" in mapped_libraries(worker.pid) for worker in workers)
