"""The embedded offline model: what it understands, and a whole turn through ADK's Runner."""

import pandas as pd
import pytest
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types

from data_science.agent import build_app
from data_science.config import Settings
from data_science.models.intents import mentioned_columns, parse_request, plan_call
from data_science.models.selection import build_model, model_name
from data_science.workspace import Workspace, describe_catalogue

PENGUIN_COLUMNS = [
    "species",
    "island",
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
    "sex",
    "year",
]


def catalogue(columns: list[str] = PENGUIN_COLUMNS) -> dict:
    types_ = {
        name: ("text" if name in {"species", "island", "sex"} else "number") for name in columns
    }
    return {
        "datasets": [
            {
                "id": "ds_0123456789abcdef",
                "kind": "table",
                "name": "penguins.csv",
                "rows": 344,
                "columns": [{"name": n, "type": t} for n, t in types_.items()],
            }
        ],
        "models": [],
    }


@pytest.mark.parametrize(
    ("request_text", "tool", "args"),
    [
        ("train a model to predict species", "train", {"target": "species"}),
        ("Train a modle to predict Speceis please", "train", {"target": "species"}),
        ("predict sex from the measurements", "train", {"target": "sex"}),
        ("describe the data", "analyze_dataset", {}),
        ("which columns have missing values?", "analyze_dataset", {}),
        ("plot a histogram of body mass", "plot", {"kind": "histogram", "x": "body_mass_g"}),
        (
            "plot bill length against bill depth",
            "plot",
            {"kind": "scatter", "y": "bill_length_mm", "x": "bill_depth_mm"},
        ),
        ("cluster the penguins into 4 groups", "cluster", {"n_clusters": 4}),
    ],
)
def test_everyday_requests_map_to_the_right_tool(request_text: str, tool: str, args: dict) -> None:
    plan = plan_call(parse_request(request_text), catalogue())
    assert plan.tool == tool, plan
    assert plan.args["dataset_id"] == "ds_0123456789abcdef"
    for key, value in args.items():
        assert plan.args[key] == value


def test_a_missing_target_is_asked_for_not_guessed() -> None:
    plan = plan_call(parse_request("train a model"), catalogue())
    assert plan.tool is None and "Which column" in (plan.text or "")


def test_no_data_yet_asks_for_an_upload() -> None:
    plan = plan_call(parse_request("describe the data"), {"datasets": [], "models": []})
    assert plan.tool is None and "Upload" in (plan.text or "")


def test_column_mentions_tolerate_case_spaces_and_typos() -> None:
    text = parse_request("scatter of Flipper Length vs body-mass").text
    assert mentioned_columns(text, PENGUIN_COLUMNS) == ["flipper_length_mm", "body_mass_g"]


def test_no_key_means_the_offline_model(settings: Settings) -> None:
    assert model_name(settings) == "offline"
    assert build_model(settings).model == "offline"


def test_hosted_model_choice_follows_the_settings(settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "OPENAI_API_KEY", "sk-test")
    assert model_name(settings) == "openai/gpt-4o"
    monkeypatch.setattr(settings, "LLM_MODEL", "ollama_chat/qwen2.5")
    assert build_model(settings).model == "ollama_chat/qwen2.5"


async def run_turn(runner: Runner, session_id: str, text: str) -> list:
    message = types.Content(role="user", parts=[types.Part(text=text)])
    return [
        event
        async for event in runner.run_async(
            user_id="alice", session_id=session_id, new_message=message
        )
    ]


async def test_a_whole_turn_trains_and_reports_test_metrics(
    settings: Settings, penguins: pd.DataFrame
) -> None:
    sessions = InMemorySessionService()
    runner = Runner(
        app=build_app(settings),
        session_service=sessions,
        artifact_service=InMemoryArtifactService(),
    )
    session = await sessions.create_session(app_name="data_science", user_id="alice")
    Workspace(settings, "alice", session.id).save_frame(penguins, name="penguins.csv")
    events = await run_turn(runner, session.id, "train a model to predict species")
    calls = [call.name for event in events for call in event.get_function_calls()]
    assert calls == ["list_data_files", "train"]
    reply = events[-1].content.parts[0].text
    assert "Accuracy" in reply and "69 held-out rows" in reply


async def test_unknown_requests_get_the_capabilities_and_how_to_switch_models(
    settings: Settings,
) -> None:
    sessions = InMemorySessionService()
    runner = Runner(app=build_app(settings), session_service=sessions)
    session = await sessions.create_session(app_name="data_science", user_id="alice")
    events = await run_turn(runner, session.id, "what is the meaning of life?")
    reply = events[-1].content.parts[0].text
    assert "offline assistant" in reply and "OPENAI_API_KEY" in reply
    assert not [call for event in events for call in event.get_function_calls()]


def test_the_catalogue_view_never_carries_stored_names(settings: Settings) -> None:
    record = Workspace(settings, "alice", "s").save_frame(pd.DataFrame({"a": [1]}), name="x")
    assert "stored_name" not in str(describe_catalogue([record]))


@pytest.mark.parametrize(
    ("request_text", "tool", "args"),
    [
        ("download the data as Excel", "export_dataset", {"file_format": "xlsx"}),
        ("export it as csv", "export_dataset", {"file_format": "csv"}),
        ("download the model", "export_model", {"model_id": "mdl_0123456789abcdef"}),
    ],
)
def test_download_requests_export_the_latest_result(
    request_text: str, tool: str, args: dict
) -> None:
    catalogue_with_model = {
        **catalogue(),
        "models": [
            {"id": "mdl_0123456789abcdef", "kind": "model", "name": "m", "target": "species"}
        ],
    }
    plan = plan_call(parse_request(request_text), catalogue_with_model)
    assert plan.tool == tool, plan
    for key, value in args.items():
        assert plan.args[key] == value
