"""Every way out of run_sql, tried over the real app.

`main.py` runs in its own process (started once for the module) with a hosted model that is a
scripted fake on 127.0.0.1 (tests/fake_llm.py): it sends the text of each chat message as
run_sql's query, and answers "done" to the tool's result. Each escape — reading host files or
the app's own data, writing files, other databases, extensions, settings, a second statement,
another chat's or another user's dataset, runaway queries — must be refused or stopped with a
clear message, and the server must go on serving.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.conftest import PROJECT_ROOT, LiveServer
from tests.fake_llm import Call, FakeLLM, Recorded, Reply, Text, ToolCalls

APP = "data_science"
HOSTED_ENV = {
    "LLM_MODEL": "openai/gpt-4o",
    "OPENAI_API_KEY": "sk-fake-test-key-1234",
    "LLM_TIMEOUT_SECONDS": "30",
    "LOG_LEVEL": "WARNING",
    # Small limits, so the runaway queries are stopped in seconds.
    "SQL_TIMEOUT_SECONDS": "3",
    "SQL_MEMORY_BYTES": "200000000",
    "SQL_MAX_ROWS": "100000",
}


def query_from_the_message(request: Recorded) -> Reply:
    """The scripted model: the person's message is the query; a tool result ends the turn."""
    last = request.messages[-1]
    if last["role"] != "user":
        return Text("done")
    content = last["content"]
    text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
    return ToolCalls([Call("run_sql", {"sql": text})])


@dataclass
class Chats:
    """The running app, alice's chat with its dataset, and the datasets it must not reach."""

    server: LiveServer
    http: httpx.Client
    data_dir: Path
    outside: Path  # a folder outside DATA_DIR a query might try to write into
    session_id: str
    ids: dict[str, str]  # mine, other_chat (alice's other chat), bobs (another user's)
    stored: Path  # where bob's upload lies on disk

    def run(self, sql: str) -> dict[str, Any]:
        """One chat turn whose query is `sql`; run_sql's result as the app recorded it."""
        body = {
            "app_name": APP,
            "user_id": "alice",
            "session_id": self.session_id,
            "new_message": {"role": "user", "parts": [{"text": sql}]},
        }
        response = self.http.post("/run", json=body)
        assert response.status_code == 200, response.text
        results = [
            part["functionResponse"]["response"]
            for event in response.json()
            for part in (event.get("content") or {}).get("parts", [])
            if part.get("functionResponse", {}).get("name") == "run_sql"
        ]
        assert len(results) == 1, response.text
        return dict(results[0])


def new_chat(http: httpx.Client, user: str) -> str:
    created = http.post(f"/apps/{APP}/users/{user}/sessions", json={})
    assert created.status_code == 200, created.text
    return str(created.json()["id"])


def upload(http: httpx.Client, user: str, session_id: str, name: str, frame: pd.DataFrame) -> str:
    response = http.post(
        "/api/uploads",
        data={"user_id": user, "session_id": session_id},
        files={"file": (name, frame.to_csv(index=False).encode(), "text/csv")},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["file_id"])


@pytest.fixture(scope="module")
def chats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chats]:
    tmp = tmp_path_factory.mktemp("sql")
    numbers = pd.DataFrame({"x": range(1000), "label": [f"row {i}" for i in range(1000)]})
    with FakeLLM(query_from_the_message) as fake:
        env = {**HOSTED_ENV, "LLM_API_BASE": fake.openai_base}
        server = LiveServer(tmp / "data", env).start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                session_id = new_chat(http, "alice")
                other_chat = new_chat(http, "alice")
                bobs_chat = new_chat(http, "bob")
                ids = {
                    "mine": upload(http, "alice", session_id, "numbers.csv", numbers),
                    "other_chat": upload(http, "alice", other_chat, "secret.csv", numbers),
                    "bobs": upload(http, "bob", bobs_chat, "bobs.csv", numbers),
                }
                [stored] = [
                    path
                    for path in (tmp / "data").rglob("*.csv")
                    if path.parent.name == ids["bobs"]
                ]
                (tmp / "outside").mkdir()
                yield Chats(server, http, tmp / "data", tmp / "outside", session_id, ids, stored)
        finally:
            server.stop()


# (query, the error code, fragments of the message); {mine}, {other_chat}, {bobs}, {stored},
# {data_dir} and {outside} are filled in by the test.
ESCAPES: list[Any] = [
    pytest.param("SELECT * FROM read_csv('/etc/passwd')", "no_table", ["Tables: {mine}"],
                 id="a host file alone"),
    pytest.param("SELECT * FROM {mine}, read_csv('/etc/passwd')", "not_allowed",
                 ["files, URLs", "Tables: {mine}"], id="a host file beside a table"),
    pytest.param("SELECT * FROM {mine}, read_csv('{stored}')", "not_allowed", ["files, URLs"],
                 id="another user's upload on disk"),
    pytest.param("SELECT * FROM {mine}, read_parquet('{data_dir}/**/*.parquet')", "not_allowed",
                 ["files, URLs"], id="the app's data dir"),
    pytest.param("SELECT * FROM {mine}, glob('{data_dir}/*')", "not_allowed", ["files, URLs"],
                 id="listing the data dir"),
    pytest.param("SELECT * FROM {mine}, read_csv('https://example.com/x.csv')", "not_allowed",
                 ["files, URLs"], id="a URL"),
    pytest.param("COPY {mine} TO '{outside}/stolen.csv'", "not_a_select",
                 ["COPY", "export_dataset"], id="copy to a file"),
    pytest.param("SELECT 1 FROM {mine}; COPY {mine} TO '{outside}/stolen.csv'",
                 "several_statements", ["2 statements"], id="a second statement"),
    pytest.param("SELECT * FROM {mine}, query('COPY {mine} TO ''{outside}/stolen.csv''')",
                 "sql_error", ["single SELECT"], id="a statement inside query()"),
    pytest.param("ATTACH '{data_dir}/sessions/sessions.db' AS s", "not_a_select",
                 ["cannot be attached"], id="attach the session store"),
    pytest.param("INSTALL httpfs", "not_a_select", ["Extensions"], id="install"),
    pytest.param("LOAD httpfs", "not_a_select", ["Extensions"], id="load"),
    pytest.param("SET enable_external_access = true", "not_a_select", ["Settings are fixed"],
                 id="set"),
    pytest.param("PRAGMA memory_limit = '100GB'", "not_a_select", ["Settings are fixed"],
                 id="pragma"),
    pytest.param("SELECT * FROM {other_chat}", "unknown_table", ["no table '{other_chat}'"],
                 id="my other chat's dataset"),
    pytest.param("SELECT * FROM {mine} JOIN {bobs} USING (x)", "unknown_table",
                 ["no table '{bobs}'", "Tables: {mine} (also numbers)."],
                 id="another user's dataset"),
    pytest.param("SELECT sum(a.x + b.x + c.x) FROM {mine} a, {mine} b, {mine} c",
                 "sql_timeout", ["longer than 3 s"], id="a billion-row cross join"),
    pytest.param("SELECT a.x, b.label FROM {mine} a, {mine} b, {mine} c ORDER BY b.label DESC",
                 "sql_memory", ["more than 200 MB"], id="sorting a billion rows"),
    pytest.param("SELECT a.x, b.x FROM {mine} a, {mine} b", "too_many_rows",
                 ["more than 100,000 rows"], id="a million-row result"),
    pytest.param("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                 "SELECT max(n) FROM r, {mine}", "sql_timeout", ["stopping condition"],
                 id="a recursive query that never ends"),
]  # fmt: skip


@pytest.mark.parametrize(("sql", "code", "says"), ESCAPES)
def test_each_escape_is_refused_or_stopped_and_the_server_serves_on(
    chats: Chats, sql: str, code: str, says: list[str]
) -> None:
    places = {**chats.ids, "stored": str(chats.stored), "data_dir": str(chats.data_dir)}
    places["outside"] = str(chats.outside)

    def filled(text: str) -> str:
        for name, value in places.items():
            text = text.replace(f"{{{name}}}", value)
        return text

    files_before = sorted(chats.data_dir.rglob("*"))
    result = chats.run(filled(sql))
    assert result["status"] == "error" and result["error"] == code, result
    for fragment in says:
        assert filled(fragment) in result["message"], result["message"]
    for secret in (chats.ids["other_chat"], chats.ids["bobs"], str(chats.data_dir)):
        if secret not in filled(sql):
            assert secret not in result["message"]
    assert list(chats.outside.iterdir()) == []
    assert not (PROJECT_ROOT / ".tmp").exists()  # DuckDB's default spill folder, never made
    tables = [path for path in sorted(chats.data_dir.rglob("*")) if path not in files_before]
    assert all(path.suffix != ".parquet" for path in tables), tables  # no result was stored
    assert chats.http.get("/healthz").status_code == 200


def test_after_every_escape_a_good_query_still_answers(chats: Chats) -> None:
    sql = (
        "SELECT x % 3 AS bucket, count(*) AS n, sum(x) AS total FROM {mine} "
        "GROUP BY bucket ORDER BY bucket"
    ).replace("{mine}", chats.ids["mine"])
    result = chats.run(sql)
    assert result["status"] == "ok", result
    assert result["rows"] == 3 and result["tables_used"] == [chats.ids["mine"]]
    frame = pd.DataFrame({"x": range(1000)})
    expected = frame.groupby(frame["x"] % 3)["x"].agg(["size", "sum"])
    assert [row["n"] for row in result["preview"]] == expected["size"].tolist()
    assert [row["total"] for row in result["preview"]] == expected["sum"].tolist()
