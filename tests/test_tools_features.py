"""Feature selection, with rankings checked against scikit-learn run here on the same data."""

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_selection import (
    RFE,
    RFECV,
    SequentialFeatureSelector,
    f_classif,
    f_regression,
    mutual_info_classif,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.preprocessing import StandardScaler

from data_science.tools.base import workspace_for
from data_science.tools.features import select_features
from tests.conftest import Refusal, add_dataset, call, load_table


def breast_cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True, scaled=False).frame


def scores_by_feature(result: dict[str, object]) -> dict[str, float]:
    ranking = result["ranking"]
    assert isinstance(ranking, list)
    return {entry["feature"]: entry["score"] for entry in ranking}


async def test_univariate_scores_equal_f_classif_and_the_top_k_are_selected(
    tool_context: ToolContext,
) -> None:
    frame = breast_cancer()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "cancer.csv")
    result = await call(select_features, tool_context, dataset_id=dataset_id, target="target", k=5)
    assert result["task"] == "classification" and result["features_considered"] == 30
    assert result["rows_used"] == 569 and "sampled" not in result
    f_scores, p_values = f_classif(features, frame["target"])
    got = scores_by_feature(result)
    np.testing.assert_allclose([got[c] for c in features.columns], f_scores)
    assert result["ranking"][0]["p_value"] == pytest.approx(p_values.min())
    top = list(features.columns[np.argsort(-f_scores)[:5]])
    assert set(result["selected_features"]) == set(top)
    assert result["selected_columns"] == [c for c in features.columns if c in top]
    assert "dataset_id" not in result


async def test_univariate_regression_uses_f_regression(tool_context: ToolContext) -> None:
    frame = diabetes()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "diabetes.csv")
    result = await call(select_features, tool_context, dataset_id=dataset_id, target="target", k=3)
    assert result["task"] == "regression"
    got = scores_by_feature(result)
    expected, _ = f_regression(features, frame["target"])
    np.testing.assert_allclose([got[c] for c in features.columns], expected)
    assert set(result["selected_features"]) == {"bmi", "s5", "bp"}


async def test_rfe_keeps_the_same_features_as_sklearn_rfe(tool_context: ToolContext) -> None:
    frame = breast_cancer()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "cancer.csv")
    result = await call(
        select_features, tool_context, dataset_id=dataset_id, target="target", method="rfe", k=6
    )
    scaled = StandardScaler().fit_transform(features)
    rfe = RFE(LogisticRegression(max_iter=1000), n_features_to_select=6, step=1)
    rfe.fit(scaled, frame["target"].astype(str))
    assert set(result["selected_features"]) == set(features.columns[rfe.support_])
    ranks = {entry["feature"]: entry["rank"] for entry in result["ranking"]}
    assert [ranks[c] for c in features.columns] == rfe.ranking_.tolist()


async def test_rfecv_chooses_the_number_of_features_as_sklearn_does(
    tool_context: ToolContext,
) -> None:
    frame = diabetes()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "diabetes.csv")
    result = await call(
        select_features, tool_context, dataset_id=dataset_id, target="target", method="rfecv"
    )
    rfecv = RFECV(LinearRegression(), step=1, cv=5, scoring="r2")
    rfecv.fit(StandardScaler().fit_transform(features), frame["target"])
    assert result["k"] == rfecv.n_features_
    assert set(result["selected_features"]) == set(features.columns[rfecv.support_])
    assert len(result["cv_scores_by_n_features"]) == 10


async def test_sequential_selection_matches_sklearn_and_records_the_order(
    tool_context: ToolContext,
) -> None:
    frame = diabetes()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "diabetes.csv")
    result = await call(
        select_features,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        method="sequential",
        k=3,
    )
    selector = SequentialFeatureSelector(LinearRegression(), n_features_to_select=3, cv=3)
    selector.fit(StandardScaler().fit_transform(features), frame["target"])
    assert set(result["selected_features"]) == set(features.columns[selector.get_support()])
    first = result["ranking"][0]
    assert first["rank"] == 1 and first["feature"] == "bmi"
    steps = [entry["score"] for entry in result["ranking"][:3]]
    assert steps == sorted(steps)


async def test_model_importance_equals_random_forest_importances(
    tool_context: ToolContext,
) -> None:
    frame = breast_cancer()
    features = frame.drop(columns="target")
    dataset_id = add_dataset(tool_context, frame, "cancer.csv")
    result = await call(
        select_features,
        tool_context,
        dataset_id=dataset_id,
        target="target",
        method="model_importance",
        k=4,
    )
    forest = RandomForestClassifier(n_estimators=100, random_state=42)
    forest.fit(features.to_numpy(), frame["target"].astype(str))
    got = scores_by_feature(result)
    np.testing.assert_allclose([got[c] for c in features.columns], forest.feature_importances_)
    top = features.columns[np.argsort(-forest.feature_importances_)[:4]]
    assert set(result["selected_features"]) == set(top)


async def test_text_columns_are_one_hot_features_and_row_ids_are_excluded(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    frame = penguins.assign(penguin_id=range(len(penguins)))
    dataset_id = add_dataset(tool_context, frame, "penguins.csv")
    result = await call(select_features, tool_context, dataset_id=dataset_id, target="species", k=4)
    assert result["excluded_columns"] == {"penguin_id": "row identifier"}
    features = {entry["feature"]: entry["column"] for entry in result["ranking"]}
    assert features["island=Biscoe"] == "island" and features["sex=male"] == "sex"
    assert "species" not in features.values() and "penguin_id" not in features
    assert result["features_considered"] == 5 + 3 + 2  # numeric, island, sex
    for feature in result["selected_features"]:
        assert features[feature] in result["selected_columns"]


async def test_mutual_information_on_a_large_table_is_sampled_and_says_so(
    tool_context: ToolContext,
) -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(size=25_000)
    frame = pd.DataFrame(
        {
            "signal": signal,
            "noise": rng.normal(size=25_000),
            "label": np.where(signal + 0.3 * rng.normal(size=25_000) > 0, "yes", "no"),
        }
    )
    dataset_id = add_dataset(tool_context, frame, "big.csv")
    result = await call(
        select_features,
        tool_context,
        dataset_id=dataset_id,
        target="label",
        method="mutual_info",
        k=1,
    )
    assert result["rows_used"] == 20_000 and "20,000 of the 25,000" in result["sampled"]
    assert result["selected_features"] == ["signal"]
    sample = frame.sample(n=20_000, random_state=42)
    expected = mutual_info_classif(sample[["signal", "noise"]], sample["label"], random_state=42)
    got = scores_by_feature(result)
    np.testing.assert_allclose([got["signal"], got["noise"]], expected)


async def test_keep_only_selected_saves_the_selected_columns_and_the_target(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        select_features,
        tool_context,
        dataset_id=dataset_id,
        target="body_mass_g",
        k=2,
        keep_only_selected=True,
    )
    kept = load_table(tool_context, result["dataset_id"])
    assert list(kept.columns) == [*result["selected_columns"], "body_mass_g"]
    assert len(kept) == len(penguins)
    record = workspace_for(tool_context).get(result["dataset_id"])
    assert record.parent_id == dataset_id


@pytest.mark.parametrize(
    ("rows", "case"),
    [
        pytest.param(
            344,
            Refusal(
                select_features, {"target": "specie"}, "unknown_column", ["Did you mean 'species'"]
            ),
            id="an-unknown-target-suggests-the-right-one",
        ),
        pytest.param(
            344,
            Refusal(select_features, {"target": "species", "k": 0}, "bad_k"),
            id="k-must-be-positive",
        ),
        pytest.param(
            15,
            Refusal(select_features, {"target": "species"}, "too_few_rows", ["at least 20"]),
            id="too-few-rows",
        ),
    ],
)
async def test_wrong_arguments_get_helpful_messages(
    tool_context: ToolContext, penguins: pd.DataFrame, rows: int, case: Refusal
) -> None:
    dataset_id = add_dataset(tool_context, penguins.head(rows), "penguins.csv")
    await case.check(tool_context, dataset_id=dataset_id)
