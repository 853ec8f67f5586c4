"""The embedded offline model: what it understands, what it asks, and whole turns through ADK."""

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.api as sm
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types

from data_science.agent import build_app
from data_science.config import Settings
from data_science.llm.selection import build_model, model_name
from data_science.offline.intents import Call, Exchange, History, decide
from data_science.offline.intents.columns import find_mentions
from data_science.offline.intents.steps import fill_in
from data_science.offline.intents.text import read
from data_science.offline.model import next_step, read_turns
from data_science.offline.replies import RENDERERS, render_result
from data_science.storage.workspace import Workspace, describe_catalogue
from data_science.tools import ALL_TOOLS
from tests.conftest import PROJECT_ROOT, store_frame
from tests.offline_eval.datasets import FRAMES, catalogue

PENGUINS = catalogue("penguins")
DATA = PENGUINS["datasets"][0]["id"]
PENGUIN_COLUMNS = [column["name"] for column in PENGUINS["datasets"][0]["columns"]]


def with_model(target: str = "species") -> dict:
    model = {"id": "mdl_0123456789abcdef", "kind": "model", "name": "m", "target": target}
    return {**catalogue("penguins"), "models": [model]}


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
        ("run automl for 2 minutes on species", "automl", {"time_budget_seconds": 120}),
        ("fill missing sex with 'unknown'", "impute_missing", {"fill_value": "unknown"}),
        ("average body mass per species", "group_by", {"group_columns": ["species"]}),
    ],
)
def test_everyday_requests_map_to_the_right_tool(request_text: str, tool: str, args: dict) -> None:
    plan = decide(request_text, PENGUINS)
    assert plan.tool == tool, plan
    assert plan.args["dataset_id"] == DATA
    for key, value in args.items():
        assert plan.args[key] == value


def test_a_missing_target_is_asked_for_not_guessed() -> None:
    plan = decide("train a model", PENGUINS)
    assert plan.tool is None and plan.reply == "question"
    assert "Which column" in (plan.text or "") and "species" in (plan.text or "")


def test_no_data_yet_asks_for_an_upload() -> None:
    plan = decide("describe the data", {"datasets": [], "models": []})
    assert plan.tool is None and "Upload" in (plan.text or "")


def test_column_mentions_tolerate_case_spaces_typos_and_synonyms() -> None:
    words = read("scatter of Flipper Lenght vs body-mass by gender and weight").words
    found = [mention.column for mention in find_mentions(words, PENGUIN_COLUMNS)[0]]
    assert found == ["flipper_length_mm", "body_mass_g", "sex"]
    assert decide("can you predict the penguin's weight?", PENGUINS).args["target"] == "body_mass_g"


def test_a_word_shared_by_several_columns_is_asked_about_not_guessed() -> None:
    plan = decide("plot length", PENGUINS)
    assert plan.tool is None
    assert "bill_length_mm" in (plan.text or "") and "flipper_length_mm" in (plan.text or "")


def test_command_word_typos_are_corrected_but_column_words_never_are() -> None:
    assert read("histogarm modle forcast plto").corrected == [
        "histogram",
        "model",
        "forecast",
        "plot",
    ]
    assert read("average sales", frozenset({"sales"})).corrected == ["average", "sales"]
    assert read("create variables").corrected == ["create", "variables"]  # no "correlate"


def test_plot_it_without_a_previous_step_asks_which_column() -> None:
    plan = decide("plot it", PENGUINS)
    assert plan.tool is None and plan.reply == "question"
    assert "body_mass_g" in (plan.text or "")


def test_follow_ups_revise_the_previous_step() -> None:
    clustered = History([Exchange("cluster into 3 groups", [Call("cluster", {"n_clusters": 3})])])
    assert decide("use 5 clusters instead", PENGUINS, clustered).args["n_clusters"] == 5
    trained = History([Exchange("train", [Call("train", {"dataset_id": DATA, "target": "sex"})])])
    plan = decide("what about random forest?", PENGUINS, trained)
    assert (plan.tool, plan.args["target"], plan.args["model"]) == ("train", "sex", "random_forest")
    counted = History([Exchange("count", [Call("value_counts", {"column": "island"})])])
    plan = decide("now plot it", PENGUINS, counted)
    assert (plan.tool, plan.args["kind"], plan.args["x"]) == ("plot", "bar", "island")


def test_a_short_answer_completes_the_question_it_answers() -> None:
    asked = History([Exchange("train a model", [], asked=True)])
    plan = decide("species", PENGUINS, asked)
    assert (plan.tool, plan.args["target"]) == ("train", "species")
    question = decide("flipper length", PENGUINS)
    assert question.reply == "question" and "flipper_length_mm" in (question.text or "")
    asked = History([Exchange("flipper length", [], asked=True)])
    plan = decide("plot it", PENGUINS, asked)
    assert (plan.tool, plan.args["x"]) == ("plot", "flipper_length_mm")


def test_a_cleaning_step_makes_the_cleaned_data_the_one_to_work_on() -> None:
    cleaned = {**PENGUINS["datasets"][0], "id": "ds_00000000000000c1", "derived_from": DATA}
    session = {**PENGUINS, "datasets": [PENGUINS["datasets"][0], cleaned]}
    step = Call("impute_missing", {"dataset_id": DATA}, {"dataset_id": cleaned["id"]})
    plan = decide("train a model to predict species", session, History([Exchange("fill", [step])]))
    assert plan.args["dataset_id"] == cleaned["id"]


def test_dropping_rows_keeps_the_others_and_never_drops_a_column() -> None:
    plan = decide("drop rows where sex is missing", PENGUINS)
    assert plan.tool == "filter_rows"
    assert plan.args["conditions"] == [{"column": "sex", "op": "not_missing"}]


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
    plan = decide(request_text, with_model())
    assert plan.tool == tool, plan
    for key, value in args.items():
        assert plan.args[key] == value


# Issue 14's tools: the offline model plans and explains them before they are registered.


def test_every_tool_has_a_plain_language_reply() -> None:
    assert {tool.__name__ for tool in ALL_TOOLS} == set(RENDERERS)


def test_replies_explain_errors_and_survive_unexpected_results() -> None:
    error = {"status": "error", "error": "unknown_column", "message": "No column 'x'."}
    assert render_result("train", error) == "That did not work: No column 'x'."
    assert "unexpected shape" in render_result("train", {"status": "ok"})


def test_a_trained_models_row_counts_are_written_with_thousands_separators() -> None:
    result = {
        "status": "ok",
        "model": "Ridge",
        "target": "amount",
        "task": "regression",
        "n_train": 400_000,
        "n_test": 100_000,
        "split": "80/20, seed 42",
        "test_metrics": {"r2": 0.5},
        "model_id": "mdl_1",
    }
    reply = render_result("train", result)
    assert "fitted on 400,000 rows and scored on 100,000 held-out rows" in reply


def test_the_rules_load_well_under_a_second_and_answer_in_milliseconds() -> None:
    code = (
        "import time; start = time.perf_counter(); import data_science.offline.intents; "
        "print(time.perf_counter() - start)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert float(output.stdout) < 0.5
    started = time.perf_counter()
    for _ in range(50):
        decide("scatter flipper length vs body mass colored by species", PENGUINS)
    assert (time.perf_counter() - started) / 50 < 0.02


def test_history_is_read_back_from_the_conversation_adk_sends() -> None:
    call = types.FunctionCall(id="c1", name="cluster", args={"n_clusters": 3})
    response = types.FunctionResponse(id="c1", name="cluster", response={"dataset_id": "ds_1"})
    contents = [
        types.Content(role="user", parts=[types.Part(text="cluster into 3 groups")]),
        types.Content(role="model", parts=[types.Part(function_call=call)]),
        types.Content(role="user", parts=[types.Part(function_response=response)]),
        types.Content(role="model", parts=[types.Part(text="I found 3 clusters.")]),
        types.Content(role="user", parts=[types.Part(text="try 4")]),
    ]
    earlier, current = read_turns(contents)
    assert earlier.exchange() == Exchange(
        "cluster into 3 groups", [Call("cluster", {"n_clusters": 3}, {"dataset_id": "ds_1"})]
    )
    assert current.text == "try 4" and not current.calls


def test_no_key_means_the_offline_model(settings: Settings) -> None:
    assert model_name(settings) == "offline"
    assert build_model(settings).model == "offline"


def test_hosted_model_choice_follows_the_settings(settings: Settings, monkeypatch) -> None:
    monkeypatch.setattr(settings, "OPENAI_API_KEY", "sk-test")
    assert model_name(settings) == "openai/gpt-4o"
    monkeypatch.setattr(settings, "LLM_MODEL", "ollama_chat/qwen2.5")
    assert build_model(settings).model == "ollama_chat/qwen2.5"


def test_the_catalogue_view_never_carries_stored_names(settings: Settings) -> None:
    record = store_frame(Workspace(settings, "alice", "s"), pd.DataFrame({"a": [1]}), "x")
    assert "stored_name" not in str(describe_catalogue([record]))


class Chat:
    """A real ADK Runner session with the offline model and the real tools."""

    def __init__(self, settings: Settings) -> None:
        self.sessions = InMemorySessionService()
        self.runner = Runner(
            app=build_app(settings),
            session_service=self.sessions,
            artifact_service=InMemoryArtifactService(),
        )
        self.session_id = ""

        self.results: dict[str, dict] = {}

    async def start(
        self, settings: Settings, frame: pd.DataFrame | None = None, name: str = "penguins.csv"
    ) -> "Chat":
        session = await self.sessions.create_session(app_name="data_science", user_id="alice")
        self.session_id = session.id
        if frame is not None:
            store_frame(Workspace(settings, "alice", session.id), frame, name)
        return self

    async def say(self, text: str, *attachments: types.Part) -> tuple[list[tuple[str, dict]], str]:
        """The tool calls the message caused, and the final answer; each tool's last result is
        kept in `results`."""
        message = types.Content(role="user", parts=[*attachments, types.Part(text=text)])
        events = [
            event
            async for event in self.runner.run_async(
                user_id="alice", session_id=self.session_id, new_message=message
            )
        ]
        calls = [
            (call.name or "", call.args or {}) for e in events for call in e.get_function_calls()
        ]
        for event in events:
            for response in event.get_function_responses():
                self.results[response.name or ""] = dict(response.response or {})
        return calls, events[-1].content.parts[0].text or ""


async def test_a_whole_turn_trains_and_reports_test_metrics(
    settings: Settings, penguins: pd.DataFrame
) -> None:
    chat = await Chat(settings).start(settings, penguins)
    calls, reply = await chat.say("train a model to predict species")
    assert [name for name, _ in calls] == ["list_data_files", "train"]
    assert "Accuracy" in reply and "69 held-out rows" in reply


async def test_follow_ups_in_a_real_session_refer_to_the_previous_step(
    settings: Settings, penguins: pd.DataFrame
) -> None:
    chat = await Chat(settings).start(settings, penguins)
    await chat.say("plot a histogram of body mass")
    calls, _ = await chat.say("do the same for flipper length")
    assert calls[-1][1]["x"] == "flipper_length_mm" and calls[-1][1]["kind"] == "histogram"
    calls, reply = await chat.say("by sex")
    assert calls[-1][1]["color_by"] == "sex" and "flipper_length_mm by sex" in reply
    calls, reply = await chat.say("what is the best way to make a trainee happy?")
    assert [name for name, _ in calls] == ["list_data_files"] and "offline assistant" in reply


async def test_a_question_and_its_answer_make_one_request_in_a_real_session(
    settings: Settings, penguins: pd.DataFrame
) -> None:
    chat = await Chat(settings).start(settings, penguins)
    calls, reply = await chat.say("train a model")
    assert [name for name, _ in calls] == ["list_data_files"]
    assert reply.startswith("Which column should the model predict?")
    calls, reply = await chat.say("species")
    assert calls[-1] == ("train", {"dataset_id": calls[-1][1]["dataset_id"], "target": "species"})
    assert "Accuracy" in reply


async def test_unknown_requests_get_the_capabilities_and_how_to_switch_models(
    settings: Settings,
) -> None:
    chat = await Chat(settings).start(settings)
    calls, reply = await chat.say("what is the meaning of life?")
    assert "offline assistant" in reply and "OPENAI_API_KEY" in reply
    assert [name for name, _ in calls] == ["list_data_files"]  # looked for data, called nothing


TITANIC = catalogue("titanic")
COMPOUND = "fill missing age with the median and then train a random forest to predict survived"


def test_two_steps_in_one_request_plan_the_second_on_what_the_first_makes() -> None:
    plan = decide(COMPOUND, TITANIC)
    assert (plan.tool, plan.args["columns"], plan.args["strategy"]) == (
        "impute_missing",
        ["age"],
        "median",
    )
    assert plan.then is not None and plan.then.tool == "train"
    assert plan.then.args["target"] == "survived" and plan.then.args["model"] == "random_forest"
    imputed = Call("impute_missing", plan.args, {"dataset_id": "ds_00000000000000aa"})
    second = fill_in(plan.then, imputed)
    assert second is not None and second.args["dataset_id"] == "ds_00000000000000aa"
    charted = decide(
        "train a model to predict species and then show the confusion matrix", PENGUINS
    )
    assert charted.then is not None and charted.then.tool == "plot_model"
    trained = Call("train", charted.args, {"model_id": "mdl_00000000000000bb"})
    chart = fill_in(charted.then, trained)
    assert chart is not None and chart.args == {
        "model_id": "mdl_00000000000000bb",
        "kind": "confusion_matrix",
    }


async def test_two_steps_in_one_message_run_in_one_turn_the_second_on_the_first_result(
    settings: Settings,
) -> None:
    titanic = FRAMES["titanic.csv"]()
    chat = await Chat(settings).start(settings, titanic, "titanic.csv")
    calls, reply = await chat.say(COMPOUND)
    assert [name for name, _ in calls] == ["list_data_files", "impute_missing", "train"]
    imputed = chat.results["impute_missing"]["dataset_id"]
    assert calls[2][1] == {"dataset_id": imputed, "target": "survived", "model": "random_forest"}
    table = Workspace(settings, "alice", chat.session_id).table_file(imputed).load()
    gaps = titanic["age"].isna()
    assert gaps.any() and not table["age"].isna().any()
    assert (table.loc[gaps, "age"] == titanic["age"].median()).all()
    assert chat.results["train"]["dataset_id"] == imputed
    assert "Done:" in reply and "Accuracy" in reply  # both steps are explained


def answered(request: str, catalogue_result: dict, *results: dict) -> list[types.Content]:
    """A turn as ADK sends it: the request, then each call the model made with its result
    (the model's own next step each time, so the calls are the ones it decided)."""
    listed = types.FunctionCall(name="list_data_files", args={})
    contents = [
        types.Content(role="user", parts=[types.Part(text=request)]),
        types.Content(role="model", parts=[types.Part(function_call=listed)]),
    ]
    for result in [catalogue_result, *results]:
        call = contents[-1].parts[0].function_call
        assert call is not None, contents[-1]
        response = types.FunctionResponse(id=call.id, name=call.name, response=result)
        contents.append(types.Content(role="user", parts=[types.Part(function_response=response)]))
        contents.append(next_step(contents))
    return contents


def test_a_step_that_feeds_the_next_is_reported_without_its_rows() -> None:
    flights = catalogue("flights")
    source = flights["datasets"][0]["id"]
    kept = {
        "status": "ok",
        "dataset_id": "ds_00000000000000a1",
        "action": "kept 130 of 400 rows where origin == 'JFK'",
        "rows_before": 400,
        "rows_after": 130,
        "preview": [{"origin": "JFK", "carrier": "EV"}],
    }
    grouped = {"status": "ok", "group_columns": ["carrier"], "groups": [{"carrier": "EV"}]}
    contents = answered(
        "keep the flights from JFK and then average dep_delay by carrier", flights, kept, grouped
    )
    calls = [c.parts[0].function_call for c in contents if c.role == "model"][:-1]
    assert [call.name for call in calls if call] == ["list_data_files", "filter_rows", "group_by"]
    assert calls[1] and calls[1].args["dataset_id"] == source
    assert calls[2] and calls[2].args["dataset_id"] == "ds_00000000000000a1"
    reply = contents[-1].parts[0].text or ""
    assert reply.startswith("Kept **130 of 400 rows**") and "groups by carrier" in reply
    assert "The first rows" not in reply  # the filter's rows went on to the group-by


def test_a_failed_first_step_ends_the_turn_with_its_error() -> None:
    ask_for = types.FunctionCall(id="c1", name="list_data_files", args={})
    listed = types.FunctionResponse(id="c1", name="list_data_files", response=TITANIC)
    contents = [
        types.Content(role="user", parts=[types.Part(text=COMPOUND)]),
        types.Content(role="model", parts=[types.Part(function_call=ask_for)]),
        types.Content(role="user", parts=[types.Part(function_response=listed)]),
    ]
    first = next_step(contents).parts[0].function_call
    assert first is not None and first.name == "impute_missing"
    refused = {"status": "error", "error": "unknown_column", "message": "No column 'age'."}
    contents += [
        types.Content(role="model", parts=[types.Part(function_call=first)]),
        types.Content(
            role="user",
            parts=[
                types.Part(
                    function_response=types.FunctionResponse(
                        id=first.id, name=first.name, response=refused
                    )
                )
            ],
        ),
    ]
    answer = next_step(contents).parts[0]
    assert answer.function_call is None
    assert answer.text == "That did not work: No column 'age'."


def html_as_csv() -> types.Part:
    page = b"<!DOCTYPE html><html><body><p>not a table</p></body></html>"
    return types.Part(
        inline_data=types.Blob(data=page, mime_type="text/csv", display_name="sales.csv")
    )


async def test_a_request_with_a_refused_attachment_says_why_instead_of_no_data(
    settings: Settings,
) -> None:
    chat = await Chat(settings).start(settings)
    calls, reply = await chat.say("describe the data", html_as_csv())
    assert '"sales.csv" was refused' in reply and "text/html" in reply
    assert "no data in this chat" not in reply
    assert calls == []  # nothing ran on other data


async def test_a_refused_attachment_is_not_replaced_by_the_data_already_there(
    settings: Settings, penguins: pd.DataFrame
) -> None:
    chat = await Chat(settings).start(settings, penguins)
    calls, reply = await chat.say("train a model to predict species", html_as_csv())
    assert '"sales.csv" was refused' in reply and calls == []


async def test_with_one_file_taken_and_one_refused_the_reply_says_which_was_refused(
    settings: Settings, penguins_csv: Path
) -> None:
    chat = await Chat(settings).start(settings)
    table = types.Part(
        inline_data=types.Blob(
            data=penguins_csv.read_bytes(), mime_type="text/csv", display_name="penguins.csv"
        )
    )
    calls, reply = await chat.say("describe the data", table, html_as_csv())
    assert [name for name, _ in calls] == ["list_data_files", "analyze_dataset"]
    assert reply.startswith('The file "sales.csv" was refused')
    assert "344 rows" in reply  # the file that was taken in is described


def test_a_filter_reply_says_how_many_rows_were_kept_of_how_many() -> None:
    titanic = FRAMES["titanic.csv"]()
    kept = titanic[titanic["age"] > 60]
    result = {
        "status": "ok",
        "dataset_id": "ds_00000000000000f1",
        "source_dataset_id": "ds_0000000000000001",
        "action": f"kept {len(kept):,} of {len(titanic):,} rows where age > 60",
        "rows_before": len(titanic),
        "rows_after": len(kept),
        "columns": list(titanic.columns),
        "preview": kept.head(5)[["age", "name"]].to_dict("records"),
    }
    reply = render_result("filter_rows", result)
    share = f"{100 * len(kept) / len(titanic):.1f} %"
    assert f"Kept **{len(kept)} of {len(titanic)} rows** ({share}) where age > 60." in reply
    assert "ds_00000000000000f1" in reply and str(kept["name"].iloc[0]) in reply


def test_a_derive_reply_names_the_new_column_and_a_sort_reply_shows_the_top_rows() -> None:
    diamonds = FRAMES["diamonds.csv"]()
    ratio = (diamonds["price"] / diamonds["carat"]).rename("price_per_carat")
    derived = {
        "status": "ok",
        "dataset_id": "ds_00000000000000d1",
        "action": "added the column 'price_per_carat' = price / carat",
        "rows_before": len(diamonds),
        "rows_after": len(diamonds),
        "preview": pd.concat([ratio, diamonds[["price", "carat"]]], axis=1)
        .head(3)
        .to_dict("records"),
    }
    reply = render_result("derive_column", derived)
    assert reply.startswith("Added the column **price_per_carat** = price / carat.")
    assert f"{ratio.iloc[0]:.4g}" in reply
    top = diamonds.sort_values("price", ascending=False).head(3)
    sorted_result = {
        "status": "ok",
        "dataset_id": "ds_00000000000000d2",
        "action": f"sorted {len(diamonds)} rows by price (descending) and kept the first 3",
        "rows_before": len(diamonds),
        "rows_after": 3,
        "preview": top[["price", "carat"]].to_dict("records"),
    }
    reply = render_result("sort_rows", sorted_result)
    assert f"has 3 of the {len(diamonds)} rows" in reply and "The top rows:" in reply
    assert f"{top['price'].iloc[0]:,.0f}" in reply or f"{top['price'].iloc[0]:.4g}" in reply


def test_a_regression_report_reply_gives_r2_and_only_the_significant_coefficients() -> None:
    diamonds = FRAMES["diamonds.csv"]()
    # Named as regression_report names it (ml/regression.py): the constant is "intercept".
    design = sm.add_constant(diamonds[["carat", "depth"]]).rename(columns={"const": "intercept"})
    fitted = sm.OLS(diamonds["price"], design).fit()
    intervals = fitted.conf_int(alpha=0.05)
    result = {
        "status": "ok",
        "kind": "ols",
        "model": "OLS (ordinary least squares)",
        "target": "price",
        "n": int(fitted.nobs),
        "alpha": 0.05,
        "coefficients": [
            {
                "term": term,
                "coef": float(fitted.params[term]),
                "std_err": float(fitted.bse[term]),
                "t": float(fitted.tvalues[term]),
                "p_value": float(fitted.pvalues[term]),
                "ci_95": [float(intervals.loc[term, 0]), float(intervals.loc[term, 1])],
            }
            for term in fitted.params.index
        ],
        "fit": {"r2": fitted.rsquared, "adj_r2": fitted.rsquared_adj, "aic": fitted.aic},
    }
    reply = render_result("regression_report", result)
    assert f"R² {fitted.rsquared:.4g} (adjusted {fitted.rsquared_adj:.4g})" in reply
    significant_line = next(line for line in reply.splitlines() if line.startswith("Significant"))
    for term in ("carat", "depth"):
        named = f"{term} (" in significant_line
        assert named == bool(fitted.pvalues[term] < 0.05), (term, fitted.pvalues[term])
    assert "intercept (" not in significant_line


def test_a_sql_reply_says_how_many_rows_the_query_returned() -> None:
    flights = FRAMES["flights.csv"]()
    means = flights.groupby("carrier", as_index=False)["dep_delay"].mean()
    result = {
        "status": "ok",
        "dataset_id": "ds_00000000000000e1",
        "rows": len(means),
        "columns": list(means.columns),
        "tables_used": ["ds_0000000000000002"],
        "preview": means.to_dict("records"),
    }
    reply = render_result("run_sql", result)
    assert f"**{len(means)} rows** and 2 columns from ds_0000000000000002" in reply
    assert str(means["carrier"].iloc[0]) in reply
