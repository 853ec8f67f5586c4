"""cross_validate, tune_model and train_ensemble: numbers recomputed with scikit-learn directly."""

from __future__ import annotations

from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_diabetes, load_wine
from sklearn.metrics import accuracy_score, root_mean_squared_error
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    train_test_split,
)
from sklearn.tree import DecisionTreeClassifier

from data_science.ml.split import held_out_split
from data_science.ml.supervised import build_pipeline
from data_science.ml.tuning import PARAM_SPACES, grid_size, param_space
from data_science.tools import predict, train
from data_science.tools.base import workspace_for
from data_science.tools.tuning import cross_validate, train_ensemble, tune_model
from tests.conftest import Refusal, add_dataset, call, load_table


@pytest.fixture
def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True).frame


def load_saved_model(tool_context: ToolContext, model_id: str) -> Any:
    _, path = workspace_for(tool_context).model_file(model_id)
    return joblib.load(path)


async def test_cross_validation_matches_sklearn_on_the_training_part(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        cross_validate, tool_context, dataset_id=dataset_id, target="species", model="logistic"
    )
    assert result["n_train"] == 275 and result["held_out_test_rows_untouched"] == 69
    assert set(result["metrics"]) == {"accuracy", "balanced_accuracy", "f1_macro"}
    split = held_out_split(penguins, "species")
    expected = cross_val_score(
        build_pipeline(split.plan, split.task, "logistic"),
        split.x_train,
        split.y_train,
        cv=StratifiedKFold(5, shuffle=True, random_state=42),
        scoring="accuracy",
    )
    accuracy = result["metrics"]["accuracy"]
    assert accuracy["mean"] == pytest.approx(expected.mean())
    assert accuracy["std"] == pytest.approx(expected.std())
    assert accuracy["per_fold"] == pytest.approx(list(expected))
    assert "species" not in result["features"]


async def test_regression_errors_are_positive_and_match_sklearn(
    tool_context: ToolContext, diabetes: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, diabetes, "diabetes.csv")
    result = await call(
        cross_validate, tool_context, dataset_id=dataset_id, target="target", model="ridge", folds=4
    )
    assert set(result["metrics"]) == {"rmse", "mae", "r2"}
    assert len(result["metrics"]["rmse"]["per_fold"]) == 4
    split = held_out_split(diabetes, "target")
    expected = -cross_val_score(
        build_pipeline(split.plan, split.task, "ridge"),
        split.x_train,
        split.y_train,
        cv=KFold(4, shuffle=True, random_state=42),
        scoring="neg_root_mean_squared_error",
    )
    assert result["metrics"]["rmse"]["mean"] == pytest.approx(expected.mean())
    assert result["metrics"]["rmse"]["mean"] > 0 and result["metrics"]["mae"]["mean"] > 0


async def test_binary_cross_validation_adds_roc_auc(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins.dropna(subset=["sex"]), "penguins.csv")
    result = await call(
        cross_validate, tool_context, dataset_id=dataset_id, target="sex", model="ridge", folds=3
    )
    assert 0.8 < result["metrics"]["roc_auc"]["mean"] <= 1.0


async def test_grid_search_finds_sklearns_best_and_scores_the_held_out_rows(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        tune_model, tool_context, dataset_id=dataset_id, target="species", model="logistic", folds=3
    )
    assert result["search"]["candidates"] == 5 and result["n_test"] == 69
    split = held_out_split(penguins, "species")
    direct = GridSearchCV(
        build_pipeline(split.plan, split.task, "logistic"),
        param_space("logistic", "classification"),
        cv=StratifiedKFold(3, shuffle=True, random_state=42),
        scoring="accuracy",
    ).fit(split.x_train, split.y_train)
    assert result["best_params"] == {"C": direct.best_params_["model__C"]}
    assert result["cross_validation"]["mean"] == pytest.approx(direct.best_score_)
    saved = load_saved_model(tool_context, result["model_id"])
    predicted = saved.predict(split.x_test)
    assert result["test_metrics"]["accuracy"] == pytest.approx(
        accuracy_score(split.y_test, predicted)
    )
    details = workspace_for(tool_context).get(result["model_id"]).details
    assert details["best_params"] == result["best_params"]
    assert details["classes"] == ["Adelie", "Chinstrap", "Gentoo"]
    await call(predict, tool_context, model_id=result["model_id"], dataset_id=dataset_id)


async def test_random_search_on_a_regression_target(
    tool_context: ToolContext, diabetes: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, diabetes, "diabetes.csv")
    result = await call(
        tune_model,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        model="random_forest",
        search="random",
        n_iter=2,
        folds=2,
    )
    assert result["search"]["candidates"] == 2 and result["task"] == "regression"
    assert set(result["best_params"]) == {
        "n_estimators",
        "max_depth",
        "min_samples_leaf",
        "max_features",
    }
    split = held_out_split(diabetes, "target")
    saved = load_saved_model(tool_context, result["model_id"])
    rmse = root_mean_squared_error(split.y_test, saved.predict(split.x_test))
    assert result["test_metrics"]["rmse"] == pytest.approx(rmse)


def tuning(model: str, code: str, says: str, target: str = "target") -> Refusal:
    """A tune_model request that must be refused: one row of the table below."""
    return Refusal(tune_model, {"target": target, "model": model}, code, [says])


@pytest.mark.parametrize(
    ("data", "case"),
    [
        pytest.param(
            "penguins",
            tuning("random_forest", "grid_too_large", 'search="random"', target="species"),
            id="a-huge-grid-is-refused-with-a-suggestion",
        ),
        pytest.param(
            "diabetes",
            tuning("logistic", "wrong_model_for_task", "random_forest"),
            id="a-classifier-on-a-numeric-target",
        ),
        pytest.param(
            "diabetes", tuning("xgboost", "not_tunable", "random_forest"), id="not-tunable"
        ),
        pytest.param(
            "diabetes", tuning("magic", "unknown_model", "random_forest"), id="unknown-model"
        ),
    ],
)
async def test_wrong_tuning_requests_are_explained(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    diabetes: pd.DataFrame,
    data: str,
    case: Refusal,
) -> None:
    frame = {"penguins": penguins, "diabetes": diabetes}[data]
    await case.check(tool_context, dataset_id=add_dataset(tool_context, frame, f"{data}.csv"))


def test_every_required_family_has_a_space_and_default_grids_stay_small() -> None:
    required = {
        "random_forest",
        "extra_trees",
        "hist_gradient_boosting",
        "gradient_boosting",
        "lightgbm",
        "logistic",
        "ridge",
        "lasso",
        "svm",
        "knn",
    }
    assert required <= set(PARAM_SPACES)
    for name in required - {"logistic"}:
        space = param_space(name, "regression")
        assert all(key.startswith("model__") for key in space)
        assert grid_size(space) <= 108


async def test_voting_ensemble_reports_members_exactly_as_train_would(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    members = ["random_forest", "logistic", "knn"]
    result = await call(
        train_ensemble, tool_context, dataset_id=dataset_id, target="species", models=members
    )
    assert result["voting"] == "soft" and result["model"] == "VotingClassifier"
    for member in members:
        alone = await call(
            train, tool_context, dataset_id=dataset_id, target="species", model=member
        )
        assert result["member_test_metrics"][member] == pytest.approx(alone["test_metrics"])
    split = held_out_split(penguins, "species")
    saved = load_saved_model(tool_context, result["model_id"])
    predicted = saved.predict(split.x_test)
    assert result["test_metrics"]["accuracy"] == pytest.approx(
        accuracy_score(split.y_test, predicted)
    )
    comparison = result["comparison"]
    best = max(result["member_test_metrics"][m]["accuracy"] for m in members)
    assert comparison["best_member_score"] == best
    assert comparison["ensemble_beats_best_member"] == (comparison["ensemble"] > best)
    predictions = await call(
        predict, tool_context, model_id=result["model_id"], dataset_id=dataset_id
    )
    frame = load_table(tool_context, predictions["dataset_id"])
    assert set(frame["predicted_species"]) <= {"Adelie", "Chinstrap", "Gentoo"}


async def test_hard_voting_on_a_binary_target_without_probabilities(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins.dropna(subset=["sex"]), "penguins.csv")
    result = await call(
        train_ensemble, tool_context, dataset_id=dataset_id, target="sex", models=["ridge", "knn"]
    )
    assert result["voting"] == "hard" and "roc_auc" not in result["test_metrics"]
    assert "roc_auc" in result["member_test_metrics"]["knn"]


async def test_stacking_regressor(tool_context: ToolContext, diabetes: pd.DataFrame) -> None:
    dataset_id = add_dataset(tool_context, diabetes, "diabetes.csv")
    result = await call(
        train_ensemble,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        models=["ridge", "hist_gradient_boosting"],
        method="stacking",
    )
    assert result["model"] == "StackingRegressor" and result["final_estimator"] == "Ridge"
    split = held_out_split(diabetes, "target")
    saved = load_saved_model(tool_context, result["model_id"])
    rmse = root_mean_squared_error(split.y_test, np.ravel(saved.predict(split.x_test)))
    assert result["test_metrics"]["rmse"] == pytest.approx(rmse)
    assert result["comparison"]["metric"] == "rmse"


def ensemble(models: list[str], code: str, *says: str, target: str = "target") -> Refusal:
    """A train_ensemble request that must be refused: one row of the table below."""
    return Refusal(train_ensemble, {"target": target, "models": models}, code, says)


@pytest.mark.parametrize(
    ("data", "case"),
    [
        pytest.param("diabetes", ensemble(["random_forest"], "bad_members"), id="one-member"),
        pytest.param(
            "diabetes", ensemble(["knn", "knn"], "duplicate_members"), id="duplicate-members"
        ),
        pytest.param(
            "diabetes",
            ensemble(["knn", "naive_bayes"], "wrong_model_for_task"),
            id="a-classifier-in-a-regression-ensemble",
        ),
        pytest.param("diabetes", ensemble(["knn", "magic"], "unknown_model"), id="unknown-member"),
        pytest.param(
            "penguins",
            ensemble(["linear", "knn"], "wrong_model_for_task", "logistic", target="species"),
            id="linear-is-a-regression-so-classes-take-logistic",
        ),
        pytest.param(
            "penguins",
            ensemble(["ridge", "catboost"], "hard_voting_catboost", "stacking", target="species"),
            id="hard-voting-with-catboost-is-refused-with-a-way-out",
        ),
    ],
)
async def test_wrong_ensembles_are_explained(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    diabetes: pd.DataFrame,
    data: str,
    case: Refusal,
) -> None:
    frame = {"penguins": penguins, "diabetes": diabetes}[data]
    await case.check(tool_context, dataset_id=add_dataset(tool_context, frame, f"{data}.csv"))


@pytest.fixture
def daily_sales() -> pd.DataFrame:
    """Two years of daily sales with a trend, so the order of rows matters."""
    days = pd.date_range("2024-01-01", periods=730, freq="D")
    rng = np.random.default_rng(7)
    temperature = 15 + 10 * np.sin(np.arange(730) / 58) + rng.normal(0, 2, 730)
    sales = 100 + 0.2 * np.arange(730) + 3 * temperature + rng.normal(0, 5, 730)
    shuffled = rng.permutation(730)  # rows arrive out of order; the split sorts them by date
    return pd.DataFrame({"date": days, "temperature": temperature, "sales": sales}).iloc[shuffled]


async def test_time_indexed_data_is_cross_validated_on_time_ordered_folds(
    tool_context: ToolContext, daily_sales: pd.DataFrame
) -> None:
    from sklearn.model_selection import TimeSeriesSplit

    dataset_id = add_dataset(tool_context, daily_sales, "sales.csv")
    result = await call(
        cross_validate, tool_context, dataset_id=dataset_id, target="sales", model="ridge"
    )
    assert "time-ordered" in result["cv"]
    split = held_out_split(daily_sales, "sales")
    assert split.time_column == "date"
    expected = -cross_val_score(
        build_pipeline(split.plan, split.task, "ridge"),
        split.x_train,
        split.y_train,
        cv=TimeSeriesSplit(5),
        scoring="neg_root_mean_squared_error",
    )
    assert result["metrics"]["rmse"]["per_fold"] == pytest.approx(list(expected))


async def test_tuning_and_stacking_on_time_indexed_data_never_shuffle_time(
    tool_context: ToolContext, daily_sales: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, daily_sales, "sales.csv")
    tuned = await call(
        tune_model, tool_context, dataset_id=dataset_id, target="sales", model="ridge"
    )
    assert "time-ordered" in tuned["search"]["cv"]
    stacked = await call(
        train_ensemble,
        tool_context,
        dataset_id=dataset_id,
        target="sales",
        models=["ridge", "knn"],
        method="stacking",
    )
    assert stacked["stacking_cv"] == "5-fold in row order"
    assert "temporal" in stacked["split"]


async def test_knn_tuning_on_a_small_table_skips_neighbour_counts_larger_than_a_fold(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    small = penguins.dropna().groupby("species").head(8).reset_index(drop=True)
    dataset_id = add_dataset(tool_context, small, "small.csv")
    result = await call(
        tune_model, tool_context, dataset_id=dataset_id, target="species", model="knn"
    )
    # 24 rows -> 19 training rows -> the smallest of 5 folds trains on 15 rows.
    assert result["best_params"]["n_neighbors"] <= 15
    assert result["search"]["space_size"] == 5 * 2 * 2  # 25 was dropped


# The split options (test_size, seed, stratify) -------------------------------------------------
@pytest.fixture
def wine_split() -> tuple[pd.DataFrame, Any]:
    """Wine (numbers only, no gaps: the pipeline adds nothing to a tree) and scikit-learn's own
    70/30 split with seed 5, stratified by class."""
    frame = load_wine(as_frame=True).frame
    x, y = frame.drop(columns="target"), frame["target"]
    return frame, train_test_split(x, y, test_size=0.3, random_state=5, stratify=y)


SPLIT = {"test_size": 0.3, "seed": 5}


async def test_cross_validation_on_the_asked_split_equals_sklearn(
    tool_context: ToolContext, wine_split: tuple[pd.DataFrame, Any]
) -> None:
    frame, (x_train, x_test, y_train, _) = wine_split
    dataset_id = add_dataset(tool_context, frame, "wine.csv")
    result = await call(
        cross_validate,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        model="decision_tree",
        folds=3,
        **SPLIT,
    )
    expected = cross_val_score(
        DecisionTreeClassifier(random_state=5),
        x_train,
        y_train,
        cv=StratifiedKFold(3, shuffle=True, random_state=5),
        scoring="accuracy",
    )
    assert result["metrics"]["accuracy"]["per_fold"] == pytest.approx(list(expected))
    assert (result["n_train"], result["held_out_test_rows_untouched"]) == (124, len(x_test))
    assert (result["test_size"], result["seed"], result["stratified"]) == (0.3, 5, True)
    assert result["cv"] == "3-fold stratified shuffled, seed 5"


async def test_tuning_on_the_asked_split_equals_sklearns_grid_search(
    tool_context: ToolContext, wine_split: tuple[pd.DataFrame, Any]
) -> None:
    frame, (x_train, x_test, y_train, y_test) = wine_split
    dataset_id = add_dataset(tool_context, frame, "wine.csv")
    result = await call(
        tune_model,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        model="decision_tree",
        folds=3,
        **SPLIT,
    )
    space = {
        key.removeprefix("model__"): values
        for key, values in param_space("decision_tree", "classification").items()
    }
    direct = GridSearchCV(
        DecisionTreeClassifier(random_state=5),
        space,
        cv=StratifiedKFold(3, shuffle=True, random_state=5),
        scoring="accuracy",
    ).fit(x_train, y_train)
    assert result["best_params"] == direct.best_params_
    assert result["cross_validation"]["mean"] == pytest.approx(direct.best_score_)
    assert result["test_metrics"]["accuracy"] == pytest.approx(direct.score(x_test, y_test))
    assert result["n_test"] == len(x_test) and result["seed"] == 5


async def test_an_ensemble_on_the_asked_split_scores_its_members_as_sklearn(
    tool_context: ToolContext, wine_split: tuple[pd.DataFrame, Any]
) -> None:
    frame, (x_train, x_test, y_train, y_test) = wine_split
    dataset_id = add_dataset(tool_context, frame, "wine.csv")
    result = await call(
        train_ensemble,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        models=["decision_tree", "logistic"],
        **SPLIT,
    )
    tree = DecisionTreeClassifier(random_state=5).fit(x_train, y_train)
    assert result["member_test_metrics"]["decision_tree"]["accuracy"] == pytest.approx(
        accuracy_score(y_test, tree.predict(x_test))
    )
    assert (result["n_test"], result["test_size"], result["stratified"]) == (54, 0.3, True)
