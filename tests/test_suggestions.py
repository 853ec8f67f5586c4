"""One-click next steps after an upload: the route and the choice of the telling chart."""

from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from data_science.ml.guidance import telling_chart
from data_science.server.suggestions import build_suggestions
from data_science.storage.workspace import ItemRecord

APP = "data_science"


async def upload_table(client: httpx.AsyncClient, name: str, content: bytes) -> tuple[str, str]:
    session = (await client.post(f"/apps/{APP}/users/alice/sessions", json={})).json()["id"]
    response = await client.post(
        "/api/uploads",
        data={"user_id": "alice", "session_id": session},
        files={"file": (name, content, "text/csv")},
    )
    assert response.status_code == 201, response.text
    return str(session), str(response.json()["file_id"])


async def test_penguins_get_a_profile_the_most_telling_histogram_and_a_model(
    client: httpx.AsyncClient, penguins_csv: Path
) -> None:
    session, file_id = await upload_table(client, "penguins.csv", penguins_csv.read_bytes())
    url = f"/api/users/alice/sessions/{session}/files/{file_id}/suggestions"
    response = await client.get(url)
    assert response.status_code == 200, response.text
    assert response.json()["suggestions"] == [
        {"label": "Profile the data", "message": "describe the data in penguins.csv"},
        {
            "label": "Histogram of flipper_length_mm",
            "message": "plot a histogram of flipper_length_mm in penguins.csv",
        },
        {"label": "Predict species", "message": "train a model to predict species in penguins.csv"},
    ]


async def test_unknown_session_file_or_another_users_file_answer_404(
    client: httpx.AsyncClient, penguins_csv: Path
) -> None:
    session, file_id = await upload_table(client, "penguins.csv", penguins_csv.read_bytes())
    unknown_file = await client.get(
        f"/api/users/alice/sessions/{session}/files/ds_0000000000000000/suggestions"
    )
    assert unknown_file.status_code == 404 and unknown_file.json()["error"] == "unknown_file"
    assert file_id in unknown_file.json()["message"]  # it lists what does exist
    other_user = await client.get(
        f"/api/users/mallory/sessions/{session}/files/{file_id}/suggestions"
    )
    assert other_user.status_code == 404 and other_user.json()["error"] == "unknown_session"


async def test_an_image_is_answered_with_what_suggestions_are_for(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    from PIL import Image

    picture = tmp_path / "dot.png"
    Image.new("RGB", (4, 4), "red").save(picture)
    session, file_id = await upload_table(client, "dot.png", picture.read_bytes())
    response = await client.get(f"/api/users/alice/sessions/{session}/files/{file_id}/suggestions")
    assert response.status_code == 422
    assert response.json()["error"] == "not_a_table" and "tables" in response.json()["message"]


def record(name: str, columns: dict[str, str]) -> ItemRecord:
    return ItemRecord(
        id="ds_00000000000000aa",
        kind="table",
        name=name,
        stored_name=name,
        created_at="2026-01-01T00:00:00+00:00",
        size_bytes=100,
        rows=300,
        columns=[{"name": column, "type": kind} for column, kind in columns.items()],
    )


def test_a_numeric_target_is_plotted_against_its_strongest_predictor() -> None:
    rng = np.random.default_rng(0)
    area = rng.uniform(30, 200, 300)
    frame = pd.DataFrame(
        {
            "id": np.arange(300),
            "noise": rng.normal(size=300),
            "area": area,
            "price": area * 3000 + rng.normal(0, 5000, 300),
        }
    )
    chart = telling_chart(frame, "price")
    assert chart == {"kind": "scatter", "x": "area", "y": "price"}
    homes = record(
        "homes.csv", {"id": "integer", "noise": "number", "area": "number", "price": "number"}
    )
    steps = build_suggestions(homes, {"likely_target": "price", "chart": chart})
    assert steps[1] == {
        "label": "price against area",
        "message": "plot price against area in homes.csv",
    }


def test_without_a_target_the_most_varied_numeric_column_is_chosen_and_ids_never() -> None:
    frame = pd.DataFrame(
        {"row_id": range(50), "score": [i % 17 for i in range(50)], "flag": [0, 1] * 25}
    )
    assert telling_chart(frame, None) == {"kind": "histogram", "x": "score"}
    assert telling_chart(pd.DataFrame({"name": ["a", "b"]}), None) is None


def test_a_file_name_that_would_change_the_request_is_left_out() -> None:
    sales = record("sales forecast.csv", {"month": "text", "sales": "number"})
    steps = build_suggestions(
        sales, {"likely_target": "sales", "chart": {"kind": "histogram", "x": "sales"}}
    )
    assert [step["message"] for step in steps] == [
        "describe the data",
        "plot a histogram of sales",
        "train a model to predict sales",
    ]
