"""Cleaning and preprocessing tools, each checked against pandas/scikit-learn run here directly."""

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from sklearn.datasets import load_diabetes
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import KFold
from sklearn.preprocessing import MinMaxScaler, OrdinalEncoder, StandardScaler, TargetEncoder

from data_science.config import Settings
from data_science.tools.prep import (
    cast_column,
    drop_columns,
    encode_columns,
    expand_dates,
    handle_outliers,
    impute_missing,
    remove_duplicates,
    rename_columns,
    scale_columns,
    text_to_tfidf,
)
from tests.conftest import Refusal, add_dataset, call, call_error, load_table, refusal

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]


def load(tool_context: ToolContext, dataset_id: str) -> pd.DataFrame:
    return load_table(tool_context, dataset_id)


def diabetes() -> pd.DataFrame:
    return load_diabetes(as_frame=True, scaled=False).frame


# Imputation ----------------------------------------------------------------------------------
async def test_median_imputation_fills_the_pandas_median_and_leaves_the_source_alone(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(impute_missing, tool_context, dataset_id=dataset_id)
    assert result["filled_per_column"] == dict.fromkeys(NUMERIC, 2)
    assert result["skipped_columns"] == {
        "sex": "not numeric: use strategy 'most_frequent' or 'constant'"
    }
    assert (result["rows_before"], result["rows_after"]) == (344, 344)
    assert result["changed_columns"] == NUMERIC
    filled = load(tool_context, result["dataset_id"])
    for column in NUMERIC:
        assert result["fill_values"][column] == penguins[column].median()
        gaps = penguins[column].isna()
        assert (filled.loc[gaps, column] == penguins[column].median()).all()
        assert filled[column].notna().all()
    assert filled["sex"].isna().sum() == 11
    assert load(tool_context, dataset_id)["bill_length_mm"].isna().sum() == 2
    assert result["source_dataset_id"] == dataset_id


async def test_most_frequent_fills_text_like_sklearn_simple_imputer(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        impute_missing,
        tool_context,
        dataset_id=dataset_id,
        columns=["sex"],
        strategy="most_frequent",
    )
    expected = SimpleImputer(strategy="most_frequent").fit_transform(penguins[["sex"]])[:, 0]
    assert load(tool_context, result["dataset_id"])["sex"].tolist() == list(expected)
    assert result["filled_per_column"] == {"sex": 11}
    assert result["fill_values"] == {"sex": "male"}


async def test_constant_fill_needs_a_value_of_the_right_kind(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await call_error(
        impute_missing,
        tool_context,
        "missing_fill_value",
        dataset_id=dataset_id,
        strategy="constant",
    )
    await call_error(
        impute_missing,
        tool_context,
        "bad_fill_value",
        says=["must be a number"],
        dataset_id=dataset_id,
        columns=["body_mass_g"],
        strategy="constant",
        fill_value="heavy",
    )
    right = await call(
        impute_missing,
        tool_context,
        dataset_id=dataset_id,
        columns=["sex", "body_mass_g"],
        strategy="constant",
        fill_value="0",
    )
    filled = load(tool_context, right["dataset_id"])
    assert (filled.loc[penguins["sex"].isna(), "sex"] == "0").all()
    assert (filled.loc[penguins["body_mass_g"].isna(), "body_mass_g"] == 0.0).all()


async def test_knn_imputation_equals_sklearn_on_standardized_numeric_columns(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        impute_missing, tool_context, dataset_id=dataset_id, columns=["body_mass_g"], strategy="knn"
    )
    evidence = [*NUMERIC, "year"]
    assert result["evidence_columns"] == evidence
    scaler = StandardScaler().fit(penguins[evidence])
    imputed = KNNImputer(n_neighbors=5).fit_transform(scaler.transform(penguins[evidence]))
    expected = scaler.inverse_transform(imputed)[:, evidence.index("body_mass_g")]
    got = load(tool_context, result["dataset_id"])["body_mass_g"]
    np.testing.assert_allclose(got.to_numpy(), expected)
    assert result["filled_per_column"] == {"body_mass_g": 2}


async def test_iterative_imputation_equals_sklearn_with_seed_42(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(impute_missing, tool_context, dataset_id=dataset_id, strategy="iterative")
    evidence = [*NUMERIC, "year"]
    expected = IterativeImputer(random_state=42, max_iter=10).fit_transform(penguins[evidence])
    got = load(tool_context, result["dataset_id"])
    np.testing.assert_allclose(got[NUMERIC].to_numpy(), expected[:, :4])


async def test_cast_then_mean_fill_of_a_whole_number_column_keeps_the_exact_mean(
    tool_context: ToolContext,
) -> None:
    frame = pd.DataFrame({"count": ["1", None, "4", "2"], "other": ["a", "b", "c", "d"]})
    dataset_id = add_dataset(tool_context, frame, "counts.csv")
    cast = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="count", to="integer"
    )
    assert cast["could_not_convert"] == 0
    result = await call(
        impute_missing, tool_context, dataset_id=cast["dataset_id"], strategy="mean"
    )
    assert load(tool_context, result["dataset_id"])["count"][1] == pytest.approx(7 / 3)


async def test_imputing_a_table_without_gaps_says_there_is_nothing_to_fill(
    tool_context: ToolContext,
) -> None:
    dataset_id = add_dataset(tool_context, diabetes(), "diabetes.csv")
    await call_error(impute_missing, tool_context, "nothing_to_fill", dataset_id=dataset_id)


# Editing columns -----------------------------------------------------------------------------
async def test_drop_and_rename_columns_make_new_datasets(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    dropped = await call(drop_columns, tool_context, dataset_id=dataset_id, columns=["year", "Sex"])
    assert dropped["removed_columns"] == ["sex", "year"]
    assert (dropped["columns_before"], dropped["columns_after"]) == (8, 6)
    renamed = await call(
        rename_columns,
        tool_context,
        dataset_id=dropped["dataset_id"],
        mapping={"bill_length_mm": "bill_length", "species": "kind"},
    )
    frame = load(tool_context, renamed["dataset_id"])
    assert list(frame.columns[:3]) == ["kind", "island", "bill_length"]
    assert frame["bill_length"].equals(penguins["bill_length_mm"])


async def test_rename_refuses_a_name_already_taken(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    await call_error(
        rename_columns,
        tool_context,
        "name_collision",
        dataset_id=dataset_id,
        mapping={"year": "island"},
    )
    await call(
        rename_columns,
        tool_context,
        dataset_id=dataset_id,
        mapping={"bill_length_mm": "bill_depth_mm", "bill_depth_mm": "bill_length_mm"},
    )


async def test_cast_counts_the_values_that_could_not_be_converted(
    tool_context: ToolContext,
) -> None:
    frame = pd.DataFrame(
        {
            "amount": ["1", " 2", "x", "3.5", None],
            "flag": ["yes", "No", "maybe", "1", None],
            "when": ["2024-01-31", "31 March 2024", "soon", "2024-02-29 10:30", None],
        }
    )
    dataset_id = add_dataset(tool_context, frame, "raw.csv")
    number = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="amount", to="number"
    )
    assert (number["converted"], number["could_not_convert"]) == (3, 1)
    assert number["already_missing"] == 1 and number["unconvertible_examples"] == ["x"]
    cast = load(tool_context, number["dataset_id"])["amount"]
    assert cast.tolist()[:2] == [1.0, 2.0] and cast[3] == 3.5 and cast.isna().sum() == 2
    integer = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="amount", to="integer"
    )
    assert integer["could_not_convert"] == 2 and integer["to_type"] == "Int64"
    flag = await call(cast_column, tool_context, dataset_id=dataset_id, column="flag", to="boolean")
    assert flag["could_not_convert"] == 1
    flags = load(tool_context, flag["dataset_id"])["flag"]
    assert flags[:2].tolist() == [True, False] and bool(flags[3]) is True
    when = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="when", to="datetime"
    )
    assert when["could_not_convert"] == 1
    dates = load(tool_context, when["dataset_id"])["when"]
    assert dates[1] == pd.Timestamp("2024-03-31") and dates[3] == pd.Timestamp("2024-02-29 10:30")


# How people write numbers -> the number it shows (api14: cast_column's number rule).
FORMATTED = {
    "5,350,380": 5350380.0,
    "$1,200.50": 1200.5,
    "€5": 5.0,
    "£3": 3.0,
    "-$4": -4.0,
    "12.5%": 12.5,
    "(1,000)": -1000.0,
    " 7 ": 7.0,
    "-0.5": -0.5,
}
DECIMAL_COMMAS = ["1.234,5", "3,5"]  # ambiguous: never guessed


async def test_cast_reads_separators_currency_percent_and_accounting_negatives(
    tool_context: ToolContext,
) -> None:
    frame = pd.DataFrame({"amount": [*FORMATTED, *DECIMAL_COMMAS, "n/a", None]})
    dataset_id = add_dataset(tool_context, frame, "money.csv")
    result = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="amount", to="number"
    )
    got = load(tool_context, result["dataset_id"])["amount"]
    assert got[: len(FORMATTED)].tolist() == list(FORMATTED.values())
    assert got[len(FORMATTED) :].isna().all()
    assert (result["converted"], result["could_not_convert"]) == (len(FORMATTED), 3)
    assert "dropped the percent sign of 1 value" in result["action"]
    assert "2 value(s) with a decimal comma" in result["action"]
    assert "mixes currencies ($, £, €)" in result["note"]
    integer = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="amount", to="integer"
    )
    whole = load(tool_context, integer["dataset_id"])["amount"]
    assert whole[[0, 2, 6]].tolist() == [5350380, 5, -1000] and pd.isna(whole[1])


# Rows ----------------------------------------------------------------------------------------
async def test_remove_duplicates_removes_what_pandas_counts(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    doubled = pd.concat([penguins, penguins.iloc[:10], penguins.iloc[:3]], ignore_index=True)
    dataset_id = add_dataset(tool_context, doubled, "doubled.csv")
    result = await call(remove_duplicates, tool_context, dataset_id=dataset_id)
    assert result["rows_removed"] == int(doubled.duplicated().sum()) == 13
    assert result["duplicate_groups"] == 10
    assert (result["rows_before"], result["rows_after"]) == (357, 344)
    assert load(tool_context, result["dataset_id"]).equals(penguins)
    none = await call(remove_duplicates, tool_context, dataset_id=dataset_id, keep="none")
    assert none["rows_after"] == 334
    subset = await call(
        remove_duplicates,
        tool_context,
        dataset_id=dataset_id,
        columns=["species", "island"],
        keep="last",
    )
    assert subset["rows_after"] == len(doubled.drop_duplicates(["species", "island"])) == 5


async def test_iqr_clipping_uses_the_quartile_fences(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        handle_outliers, tool_context, dataset_id=dataset_id, columns=NUMERIC, threshold=1.0
    )
    clipped = load(tool_context, result["dataset_id"])
    for column in NUMERIC:
        q1, q3 = np.nanpercentile(penguins[column], [25, 75])
        lower, upper = q1 - (q3 - q1), q3 + (q3 - q1)
        bounds = result["bounds"][column]
        assert bounds["lower"] == pytest.approx(lower) and bounds["upper"] == pytest.approx(upper)
        assert bounds["below"] == int((penguins[column] < lower).sum())
        assert bounds["above"] == int((penguins[column] > upper).sum())
        pd.testing.assert_series_equal(
            clipped[column], penguins[column].clip(lower, upper), check_dtype=False
        )
    assert result["rows_after"] == 344


async def test_zscore_removal_drops_rows_beyond_three_standard_deviations(
    tool_context: ToolContext,
) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"value": rng.normal(50, 5, 500), "other": rng.normal(0, 1, 500)})
    frame.loc[[10, 20, 30], "value"] = [150.0, -60.0, 120.0]
    dataset_id = add_dataset(tool_context, frame, "values.csv")
    result = await call(
        handle_outliers,
        tool_context,
        dataset_id=dataset_id,
        columns=["value"],
        method="zscore",
        action="remove",
    )
    z = (frame["value"] - frame["value"].mean()) / frame["value"].std(ddof=0)
    assert result["rows_after"] == int((z.abs() <= 3).sum()) == 497
    assert result["rows_with_outliers"] == 3 and result["bounds"]["value"]["above"] == 2
    kept = load(tool_context, result["dataset_id"])
    assert kept["value"].max() < 80


# Transforming values -------------------------------------------------------------------------
async def test_standard_scaling_equals_sklearn_with_mean_0_and_std_1(
    tool_context: ToolContext,
) -> None:
    frame = diabetes()
    dataset_id = add_dataset(tool_context, frame, "diabetes.csv")
    result = await call(scale_columns, tool_context, dataset_id=dataset_id)
    scaled = load(tool_context, result["dataset_id"])
    columns = list(frame.columns)
    assert result["changed_columns"] == columns
    np.testing.assert_allclose(scaled.to_numpy(), StandardScaler().fit_transform(frame))
    np.testing.assert_allclose(scaled.mean().to_numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(scaled.std(ddof=0).to_numpy(), 1)
    assert result["parameters"]["bmi"]["mean"] == pytest.approx(frame["bmi"].mean())


async def test_minmax_scaling_keeps_missing_values_and_spans_zero_to_one(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        scale_columns, tool_context, dataset_id=dataset_id, columns=NUMERIC, method="minmax"
    )
    scaled = load(tool_context, result["dataset_id"])
    np.testing.assert_allclose(
        scaled[NUMERIC].to_numpy(), MinMaxScaler().fit_transform(penguins[NUMERIC])
    )
    assert scaled["body_mass_g"].min() == 0 and scaled["body_mass_g"].max() == 1
    assert scaled["body_mass_g"].isna().sum() == 2


async def test_onehot_makes_the_same_columns_as_get_dummies(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        encode_columns, tool_context, dataset_id=dataset_id, columns=["species", "island", "sex"]
    )
    encoded = load(tool_context, result["dataset_id"])
    expected = pd.get_dummies(penguins, columns=["species", "island", "sex"], dtype="uint8")
    assert set(encoded.columns) == set(expected.columns)
    pd.testing.assert_frame_equal(encoded[expected.columns], expected)
    assert result["removed_columns"] == ["species", "island", "sex"]
    assert result["per_column"]["sex"]["missing_rows"] == 11


async def test_onehot_pools_values_beyond_the_50_most_frequent_into_other(
    tool_context: ToolContext,
) -> None:
    codes = [f"c{i:02d}" for i in range(60) for _ in range(60 - i)]
    frame = pd.DataFrame({"code": codes, "n": range(len(codes))})
    dataset_id = add_dataset(tool_context, frame, "codes.csv")
    result = await call(encode_columns, tool_context, dataset_id=dataset_id, columns=["code"])
    encoded = load(tool_context, result["dataset_id"])
    assert result["per_column"]["code"] == {
        "categories": 60,
        "columns_made": 51,
        "pooled_into_other": 10,
        "missing_rows": 0,
    }
    assert "code_c49" in encoded.columns and "code_c50" not in encoded.columns
    assert encoded["code_other"].sum() == sum(60 - i for i in range(50, 60))
    assert (encoded.filter(like="code_").sum(axis=1) == 1).all()


async def test_ordinal_codes_equal_sklearn_ordinal_encoder(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        encode_columns,
        tool_context,
        dataset_id=dataset_id,
        columns=["island", "sex"],
        method="ordinal",
    )
    encoded = load(tool_context, result["dataset_id"])
    expected = OrdinalEncoder().fit_transform(penguins[["island", "sex"]])
    np.testing.assert_array_equal(encoded[["island", "sex"]].to_numpy(dtype=float), expected)
    assert result["codes"]["island"] == {"Biscoe": 0, "Dream": 1, "Torgersen": 2}


async def test_target_encoding_equals_sklearn_cross_fitting(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    frame = penguins[penguins["body_mass_g"].notna()].reset_index(drop=True)
    dataset_id = add_dataset(tool_context, frame, "penguins.csv")
    result = await call(
        encode_columns,
        tool_context,
        dataset_id=dataset_id,
        columns=["island", "species"],
        method="target",
        target="body_mass_g",
    )
    assert result["target_type"] == "continuous"
    encoder = TargetEncoder(
        target_type="continuous", cv=KFold(n_splits=5, shuffle=True, random_state=42)
    )
    expected = encoder.fit_transform(frame[["island", "species"]], frame["body_mass_g"])
    encoded = load(tool_context, result["dataset_id"])
    np.testing.assert_allclose(encoded[["island", "species"]].to_numpy(), expected)


async def test_target_encoding_refuses_too_few_rows(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    dataset_id = add_dataset(tool_context, penguins.head(12), "tiny.csv")
    await call_error(
        encode_columns,
        tool_context,
        "too_few_rows",
        dataset_id=dataset_id,
        columns=["island"],
        method="target",
        target="body_mass_g",
    )


async def test_expand_dates_adds_the_parts_pandas_reads(tool_context: ToolContext) -> None:
    stamps = pd.date_range("2023-12-29 08:00", periods=40, freq="31h")
    frame = pd.DataFrame({"when": stamps.strftime("%Y-%m-%d %H:%M"), "sales": range(40)})
    frame.loc[5, "when"] = "not a date"
    dataset_id = add_dataset(tool_context, frame, "sales.csv")
    result = await call(expand_dates, tool_context, dataset_id=dataset_id, column="when")
    assert result["could_not_parse"] == 1
    assert result["parts"] == ["year", "month", "day", "weekday", "dayofyear", "hour", "is_weekend"]
    expanded = load(tool_context, result["dataset_id"])
    good = expanded.index != 5
    assert expanded.loc[good, "when_year"].tolist() == list(stamps.year[good])
    assert expanded.loc[good, "when_weekday"].tolist() == list(stamps.weekday[good])
    assert expanded.loc[good, "when_hour"].tolist() == list(stamps.hour[good])
    assert expanded.loc[good, "when_is_weekend"].tolist() == list((stamps.weekday >= 5)[good])
    assert expanded.loc[5, ["when_year", "when_is_weekend"]].isna().all()
    assert expanded["when"].equals(frame["when"])


async def test_tfidf_columns_equal_sklearn_vectorizer(tool_context: ToolContext) -> None:
    texts = [
        "The penguin swims fast in cold water",
        "A small penguin eats fish",
        "Cold water and fish",
        None,
        "The big bird walks slowly on ice",
    ] * 4
    frame = pd.DataFrame({"note": texts, "score": range(len(texts))})
    dataset_id = add_dataset(tool_context, frame, "notes.csv")
    result = await call(
        text_to_tfidf, tool_context, dataset_id=dataset_id, column="note", max_features=6
    )
    vectorizer = TfidfVectorizer(stop_words="english", max_features=6)
    expected = vectorizer.fit_transform(frame["note"].fillna("")).toarray()
    names = [f"tfidf_{term}" for term in vectorizer.get_feature_names_out()]
    got = load(tool_context, result["dataset_id"])
    assert result["added_columns"] == names
    np.testing.assert_allclose(got[names].to_numpy(), expected)
    assert result["empty_rows"] == 4


# Refusals ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "case",
    [
        refusal(
            "mean-of-a-text-column-lists-the-numeric-columns",
            impute_missing,
            {"columns": ["sex"], "strategy": "mean"},
            "not_numeric",
            "'body_mass_g'",
            "'sex'",
        ),
        refusal(
            "an-unknown-column-suggests-the-right-one",
            drop_columns,
            {"columns": ["body_mass"]},
            "unknown_column",
            "Did you mean 'body_mass_g'",
        ),
        refusal(
            "scaling-a-text-column-lists-the-numeric-ones",
            scale_columns,
            {"columns": ["species", "body_mass_g"]},
            "not_numeric",
            "'species'",
            "'flipper_length_mm'",
        ),
        refusal(
            "target-encoding-without-a-target-says-what-is-needed",
            encode_columns,
            {"columns": ["island"], "method": "target"},
            "missing_target",
            "onehot",
        ),
        refusal("tfidf-of-a-numeric-column", text_to_tfidf, {"column": "year"}, "not_text"),
    ],
)
async def test_a_wrong_request_is_refused_with_the_way_forward(
    tool_context: ToolContext, penguins: pd.DataFrame, case: Refusal
) -> None:
    await case.check(tool_context, dataset_id=add_dataset(tool_context, penguins, "penguins.csv"))


async def test_summary_mode_hides_previews_and_examples(
    tool_context: ToolContext,
    penguins: pd.DataFrame,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    dataset_id = add_dataset(tool_context, penguins, "penguins.csv")
    result = await call(
        cast_column, tool_context, dataset_id=dataset_id, column="species", to="number"
    )
    assert result["could_not_convert"] == 344
    assert "preview" not in result and "unconvertible_examples" not in result
    assert "Adelie" not in str(result)
