"""Every model family `train` offers fits, scores on the same 80/20 split, and can predict."""

import math
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LinearRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from data_science.ml import supervised
from data_science.ml.estimators import family_names
from data_science.ml.split import SplitOptions, held_out_split
from data_science.ml.supervised import build_pipeline
from data_science.offline.replies import render_result
from data_science.tools import predict, train
from data_science.tools.base import workspace_for
from tests.conftest import Refusal, add_dataset, call, load_table

CLASSIFIERS = [name for name in family_names() if name != "linear"]
REGRESSORS = [name for name in family_names() if name not in {"logistic", "naive_bayes"}]


@pytest.mark.parametrize("model", CLASSIFIERS)
async def test_each_classifier_scores_on_the_held_out_split(
    tool_context: ToolContext, penguins: pd.DataFrame, model: str
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="species", model=model)
    assert (result["n_train"], result["n_test"]) == (275, 69)
    assert result["model_family"] == model
    assert result["test_metrics"]["accuracy"] > 0.7  # majority class alone: 0.44
    predicted = await call(
        predict, tool_context, model_id=result["model_id"], dataset_id=dataset_id
    )
    frame = load_table(tool_context, predicted["dataset_id"])
    assert set(frame["predicted_species"]) <= {"Adelie", "Chinstrap", "Gentoo"}


@pytest.mark.parametrize("model", REGRESSORS)
async def test_each_regressor_scores_on_the_held_out_split(
    tool_context: ToolContext, model: str
) -> None:
    data = load_diabetes(as_frame=True).frame
    dataset_id = add_dataset(tool_context, data, "diabetes.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="target", model=model)
    assert result["task"] == "regression" and result["n_test"] == 89
    assert math.isfinite(result["test_metrics"]["rmse"]) and result["test_metrics"]["r2"] > 0.0


async def test_auto_keeps_the_family_with_the_best_training_cross_validation(
    tool_context: ToolContext,
) -> None:
    data = load_diabetes(as_frame=True).frame
    dataset_id = add_dataset(tool_context, data, "diabetes.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="target")
    split = held_out_split(data, "target")
    expected = {
        name: cross_val_score(
            build_pipeline(split.plan, "regression", name),
            split.x_train,
            split.y_train,
            cv=5,
            scoring="r2",
        ).mean()
        for name in ("hist_gradient_boosting", "random_forest", "ridge")
    }
    assert result["model_selection"] == pytest.approx(expected, abs=1e-4)
    assert result["model_family"] == max(expected, key=expected.__getitem__) == "ridge"
    assert result["cross_validation"]["mean"] == pytest.approx(expected["ridge"])
    ridge = build_pipeline(split.plan, "regression", "ridge").fit(split.x_train, split.y_train)
    test_r2 = r2_score(split.y_test, ridge.predict(split.x_test))
    assert result["test_metrics"]["r2"] == pytest.approx(test_r2, abs=1e-4)


async def test_binary_auc_comes_from_margins_when_a_model_has_no_probabilities(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    frame = penguins.dropna(subset=["sex"])
    dataset_id = add_dataset(tool_context, frame, "penguins.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="sex", model="ridge")
    assert 0.8 < result["test_metrics"]["roc_auc"] <= 1.0


@pytest.mark.parametrize(
    ("data", "case"),
    [
        pytest.param(
            "diabetes",
            Refusal(
                train,
                {"target": "target", "model": "naive_bayes"},
                "wrong_model_for_task",
                ["random_forest"],
            ),
            id="a-classification-only-model-on-a-numeric-target-is-explained",
        ),
        pytest.param(
            "penguins",
            Refusal(
                train,
                {"target": "species", "model": "deep_magic"},
                "unknown_model",
                ["random_forest"],
            ),
            id="an-unknown-model-lists-the-choices",
        ),
    ],
)
async def test_a_model_that_cannot_serve_is_refused_with_the_choices(
    tool_context: ToolContext, penguins: pd.DataFrame, data: str, case: Refusal
) -> None:
    frame = penguins if data == "penguins" else load_diabetes(as_frame=True).frame
    await case.check(tool_context, dataset_id=add_dataset(tool_context, frame, f"{data}.csv"))


def test_the_split_is_the_one_every_model_shares(penguins: pd.DataFrame) -> None:
    first, second = held_out_split(penguins, "species"), held_out_split(penguins, "species")
    assert list(first.x_test.index) == list(second.x_test.index)
    assert first.stratified and len(first.x_test) == 69
    shares = first.y_test.value_counts(normalize=True)
    overall = penguins["species"].value_counts(normalize=True)
    assert (shares - overall).abs().max() < 0.02


def test_time_indexed_rows_are_split_by_time(penguins: pd.DataFrame) -> None:
    shuffled = penguins.sample(frac=1.0, random_state=1).reset_index(drop=True)
    dates = pd.date_range("2024-01-01", periods=len(shuffled), freq="D")
    frame = shuffled.assign(observed_date=dates.strftime("%Y-%m-%d")).sample(
        frac=1.0, random_state=2
    )
    split = held_out_split(frame, "species")
    assert split.time_column == "observed_date" and not split.stratified
    assert "temporal" in split.description
    test_dates = pd.to_datetime(frame.loc[split.x_test.index, "observed_date"])
    train_dates = pd.to_datetime(frame.loc[split.x_train.index, "observed_date"])
    assert len(split.x_test) == 69 and train_dates.max() < test_dates.min()


async def test_training_on_time_indexed_data_reports_the_temporal_split(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dates = pd.date_range("2024-01-01", periods=len(penguins), freq="D")
    frame = penguins.assign(observed_on=dates)
    dataset_id = add_dataset(tool_context, frame, "p.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="body_mass_g")
    assert "temporal on 'observed_on'" in result["split"] and result["n_test"] == 69
    assert result["cross_validation"]["folds"] == 5


def purchases(rows: int = 240) -> pd.DataFrame:
    """Two numeric features and a 0/1 target drawn from a logistic model (no gaps, no text)."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"income": rng.normal(50, 10, rows), "visits": rng.poisson(4, rows)})
    odds = 0.08 * (frame["income"] - 50) + 0.4 * (frame["visits"] - 4)
    frame["bought"] = (rng.random(rows) < 1 / (1 + np.exp(-odds))).astype(int)
    return frame


async def test_linear_on_a_0_1_target_is_a_linear_regression(tool_context: ToolContext) -> None:
    frame = purchases()
    dataset_id = add_dataset(tool_context, frame, "purchases.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="bought", model="linear")
    assert (result["model"], result["task"]) == ("LinearRegression", "regression")
    x_train, x_test, y_train, y_test = train_test_split(
        frame[["income", "visits"]], frame["bought"], test_size=0.2, random_state=42
    )
    expected = LinearRegression().fit(x_train, y_train).predict(x_test)
    assert result["test_metrics"]["r2"] == pytest.approx(r2_score(y_test, expected))
    assert any("logistic" in note for note in result["notes"])


def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame


@pytest.mark.parametrize(
    ("test_size", "seed", "stratify", "options"),
    [
        pytest.param(0.2, 42, True, {}, id="the-default-80-20"),
        pytest.param(0.3, 42, True, {"max_depth": 3}, id="70-30-depth-3"),
        pytest.param(0.25, 7, False, {"class_weight": "balanced"}, id="75-25-seed-7-balanced"),
        pytest.param(0.5, 0, True, {"max_depth": 2, "class_weight": "balanced"}, id="half"),
    ],
)
async def test_a_decision_tree_on_the_asked_split_equals_sklearns(
    tool_context: ToolContext,
    test_size: float,
    seed: int,
    stratify: bool,
    options: dict[str, Any],
) -> None:
    frame = wine()
    dataset_id = add_dataset(tool_context, frame, "wine.csv")
    result = await call(
        train,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        model="decision_tree",
        test_size=test_size,
        seed=seed,
        stratify=stratify,
        **options,
    )
    x, y = frame.drop(columns="target"), frame["target"]
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y if stratify else None
    )
    tree = DecisionTreeClassifier(random_state=seed, **options).fit(x_train, y_train)
    assert (result["n_train"], result["n_test"]) == (len(x_train), len(x_test))
    assert (result["test_size"], result["seed"], result["stratified"]) == (
        test_size,
        seed,
        stratify,
    )
    assert result["test_metrics"]["accuracy"] == pytest.approx(
        accuracy_score(y_test, tree.predict(x_test))
    )
    assert {key: result[key] for key in options} == options
    saved = joblib.load(workspace_for(tool_context).model_file(result["model_id"])[1])
    assert saved.named_steps["model"].get_depth() == tree.get_depth()


async def test_a_numeric_target_is_never_stratified_and_says_so(tool_context: ToolContext) -> None:
    data = load_diabetes(as_frame=True).frame
    dataset_id = add_dataset(tool_context, data, "diabetes.csv")
    result = await call(
        train,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        model="decision_tree",
        test_size=0.3,
        seed=3,
        max_depth=4,
    )
    x_train, x_test, y_train, y_test = train_test_split(
        data.drop(columns="target"), data["target"], test_size=0.3, random_state=3
    )
    tree = DecisionTreeRegressor(random_state=3, max_depth=4).fit(x_train, y_train)
    assert result["test_metrics"]["r2"] == pytest.approx(r2_score(y_test, tree.predict(x_test)))
    assert result["stratified"] is False
    assert result["split"] == "70/30, seed 3, not stratified (the target is numeric; " + (
        "stratify applies to classes)"
    )


async def test_auto_with_a_depth_compares_only_families_with_trees(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(train, tool_context, dataset_id=dataset_id, target="species", max_depth=2)
    assert set(result["model_selection"]) == {"hist_gradient_boosting", "random_forest"}
    assert any("left out logistic" in note for note in result["notes"])
    assert result["max_depth"] == 2


async def test_a_time_ordered_split_keeps_its_rule_at_any_test_size(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dates = pd.date_range("2024-01-01", periods=len(penguins), freq="D")
    frame = penguins.assign(observed_on=dates).sample(frac=1.0, random_state=4)
    split = held_out_split(frame, "species", SplitOptions(test_size=0.3, seed=9))
    assert len(split.x_test) == math.ceil(0.3 * len(frame)) and not split.stratified
    latest = frame["observed_on"].sort_values().iloc[-len(split.x_test) :]
    assert set(frame.loc[split.x_test.index, "observed_on"]) == set(latest)
    assert "seed and stratify do not choose the rows" in split.description


def few_rows_of_many_classes() -> pd.DataFrame:
    return pd.DataFrame({"x": np.arange(60.0), "kind": [f"k{i % 12}" for i in range(60)]})


def option_refusal(name: str, data: str, arguments: dict[str, Any], code: str, *says: str) -> Any:
    """A refused `train` call on the dataset `data` as a parametrized case named `name`."""
    return pytest.param(data, Refusal(train, arguments, code, says), id=name)


@pytest.mark.parametrize(
    ("data", "case"),
    [
        option_refusal(
            "no-test-rows", "penguins", {"test_size": 0}, "bad_test_size", "test_size=0.3"
        ),
        option_refusal(
            "a-percentage", "penguins", {"test_size": 30}, "bad_test_size", "between 0 and 1"
        ),
        option_refusal(
            "nearly-every-row-tested",
            "penguins",
            {"test_size": 0.99},
            "bad_test_size",
            "between 0.012 and 0.97",
        ),
        option_refusal("a-negative-seed", "penguins", {"seed": -1}, "bad_seed"),
        option_refusal(
            "depth-0", "penguins", {"model": "random_forest", "max_depth": 0}, "bad_max_depth"
        ),
        option_refusal(
            "depth-of-knn",
            "penguins",
            {"model": "knn", "max_depth": 3},
            "option_not_supported",
            "decision_tree",
        ),
        option_refusal(
            "weights-of-xgboost",
            "penguins",
            {"model": "xgboost", "class_weight": "balanced"},
            "option_not_supported",
            "random_forest",
        ),
        option_refusal(
            "weights-of-an-unknown-kind", "penguins", {"class_weight": "heavy"}, "bad_class_weight"
        ),
        option_refusal(
            "weights-of-a-number",
            "diabetes",
            {"class_weight": "balanced"},
            "option_not_supported",
            "regression",
        ),
        option_refusal(
            "linear-on-text-classes",
            "penguins",
            {"model": "linear"},
            "wrong_model_for_task",
            "model='logistic'",
        ),
        option_refusal(
            "more-classes-than-test-rows",
            "classes",
            {"test_size": 0.1},
            "bad_test_size",
            "stratify=false",
        ),
    ],
)
async def test_split_and_model_options_are_checked(
    tool_context: ToolContext, penguins: pd.DataFrame, data: str, case: Refusal
) -> None:
    frames = {
        "penguins": (penguins, "species"),
        "diabetes": (load_diabetes(as_frame=True).frame, "target"),
        "classes": (few_rows_of_many_classes(), "kind"),
    }
    frame, target = frames[data]
    dataset_id = add_dataset(tool_context, frame, f"{data}.csv")
    await case.check(tool_context, dataset_id=dataset_id, target=target)
    assert workspace_for(tool_context).items("model") == []


@pytest.mark.parametrize("cap, folds", [(400, 5), (100, 0)])
def test_cross_validation_is_left_out_past_its_training_rows_and_the_result_says_why(
    penguins: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, cap: int, folds: int
) -> None:
    monkeypatch.setattr(supervised, "CV_MAX_TRAIN_ROWS", cap)
    _, report = supervised.fit_and_evaluate(penguins, "body_mass_g", "ridge")
    validation = report["cross_validation"]
    assert validation["folds"] == folds
    reply = render_result("train", {"status": "ok", "model_id": "mdl_1", **report})
    if folds:
        assert validation["mean"] is not None and "left_out" not in validation
        assert "5-fold cross-validation on the training part" in reply
    else:
        n_train, n_test = report["n_train"], report["n_test"]
        assert validation["mean"] is None and n_train > cap
        assert f"on {n_train:,} training rows the {n_test:,} held-out test rows" in reply
        assert "cross_validate" in reply
