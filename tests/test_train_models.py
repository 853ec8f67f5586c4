"""Every model family `train` offers fits, scores on the same 80/20 split, and can predict."""

import math

import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_score

from data_science.ml.estimators import family_names
from data_science.ml.supervised import build_pipeline, held_out_split
from data_science.tools import predict, train
from tests.conftest import Refusal, add_dataset, call, load_table

CLASSIFIERS = family_names()
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
