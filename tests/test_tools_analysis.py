"""The analysis tools on palmerpenguins, each number checked against scipy or pandas directly."""

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from google.adk.tools.tool_context import ToolContext
from scipy import stats

from data_science.config import Settings
from data_science.tools.analysis import (
    correlations,
    describe_distribution,
    group_by,
    hypothesis_test,
    preview_rows,
    value_counts,
)
from data_science.tools.data import analyze_dataset
from tests.conftest import Refusal, Tool, add_dataset, call, call_error, refusal

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]


@pytest.fixture
def penguins_id(tool_context: ToolContext, penguins: pd.DataFrame) -> str:
    return add_dataset(tool_context, penguins, "penguins.csv")


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# preview_rows ------------------------------------------------------------------------------------
async def test_preview_rows_shows_the_first_and_last_rows_with_their_numbers(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    head = await call(preview_rows, tool_context, dataset_id=penguins_id)
    assert head["rows_shown"] == 10 and head["total_rows"] == 344
    assert [row["row"] for row in head["rows"]] == list(range(10))
    assert head["rows"][0]["values"]["species"] == penguins.loc[0, "species"]
    assert head["rows"][1]["values"]["bill_length_mm"] == penguins.loc[1, "bill_length_mm"]
    assert head["rows"][3]["values"]["bill_length_mm"] is None  # a missing cell is null

    tail = await call(
        preview_rows,
        tool_context,
        dataset_id=penguins_id,
        n=3,
        position="tail",
        columns=["Body_Mass_G", "island"],
    )
    assert [row["row"] for row in tail["rows"]] == [341, 342, 343]
    assert tail["columns"] == ["body_mass_g", "island"]
    assert tail["rows"][-1]["values"] == {
        "body_mass_g": penguins["body_mass_g"].iloc[-1],
        "island": penguins["island"].iloc[-1],
    }


async def test_preview_rows_random_sample_is_reproducible_and_capped_at_max_sample_rows(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str, settings: Settings
) -> None:
    first = await call(preview_rows, tool_context, dataset_id=penguins_id, n=80, position="random")
    second = await call(preview_rows, tool_context, dataset_id=penguins_id, n=80, position="random")
    cap = settings.MAX_SAMPLE_ROWS
    assert first["rows_shown"] == cap and f"At most {cap}" in first["note"]
    numbers = [row["row"] for row in first["rows"]]
    assert numbers == sorted(set(numbers)) and numbers != list(range(cap))
    assert first["rows"] == second["rows"]
    for row in first["rows"]:
        assert row["values"]["island"] == penguins.loc[row["row"], "island"]


async def test_preview_rows_clips_long_text_to_80_characters(tool_context: ToolContext) -> None:
    dataset_id = add_dataset(
        tool_context, pd.DataFrame({"note": ["x" * 500, "short"], "n": [1, 2]}), "notes.csv"
    )
    result = await call(preview_rows, tool_context, dataset_id=dataset_id)
    assert result["rows"][0]["values"]["note"] == "x" * 80 + "…"
    assert result["rows"][1]["values"] == {"note": "short", "n": 2}


async def test_preview_rows_is_refused_in_summary_mode(
    tool_context: ToolContext,
    penguins_id: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    result = await call_error(preview_rows, tool_context, "summary_mode", dataset_id=penguins_id)
    assert "Adelie" not in str(result)


async def test_value_counts_shows_placeholders_for_text_and_refuses_numbers_in_summary_mode(
    tool_context: ToolContext,
    penguins_id: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SUMMARY_MODE_ONLY", True)
    text = await call(value_counts, tool_context, dataset_id=penguins_id, column="species")
    number = await call_error(
        value_counts, tool_context, "summary_mode", dataset_id=penguins_id, column="year"
    )
    assert "Adelie" not in str(text)
    assert [(row["value"], row["count"]) for row in text["values"]] == [
        ("category_1", 152),
        ("category_2", 124),
        ("category_3", 68),
    ]
    assert "2007" not in str(number)


# describe_distribution -------------------------------------------------------------------------
async def test_iqr_and_z_outliers_match_a_count_by_hand(
    tool_context: ToolContext, penguins: pd.DataFrame
) -> None:
    chinstrap = penguins[penguins["species"] == "Chinstrap"].reset_index(drop=True)
    dataset_id = add_dataset(tool_context, chinstrap, "chinstrap.csv")
    result = await call(
        describe_distribution,
        tool_context,
        dataset_id=dataset_id,
        column="body_mass_g",
        z_threshold=2.0,
    )
    (profile,) = result["columns"]
    values = chinstrap["body_mass_g"].dropna()
    q1, q3 = np.percentile(values, [25, 75])
    lower, upper = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    outside = values[(values < lower) | (values > upper)]
    iqr = profile["iqr_outliers"]
    assert profile["n"] == len(values) == 68
    assert iqr["count"] == len(outside) == 2
    assert (iqr["lower_fence"], iqr["upper_fence"]) == (lower, upper)
    assert {(e["row"], e["value"]) for e in iqr["examples"]} == set(outside.items())

    z = pd.Series(stats.zscore(values, ddof=1), index=values.index)
    flagged = z[z.abs() > 2.0]
    assert profile["z_outliers"]["count"] == len(flagged) > 0
    top = profile["z_outliers"]["examples"][0]
    assert top["row"] == flagged.abs().idxmax() and close(top["z"], flagged[top["row"]])


async def test_distribution_shape_matches_scipy_for_every_numeric_column(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(describe_distribution, tool_context, dataset_id=penguins_id)
    profiles = {profile["column"]: profile for profile in result["columns"]}
    assert list(profiles) == NUMERIC
    for column, profile in profiles.items():
        values = penguins[column].dropna().to_numpy(dtype=float)
        assert profile["n"] == len(values)
        assert close(profile["skewness"], stats.skew(values, bias=False))
        assert close(profile["excess_kurtosis"], stats.kurtosis(values, bias=False))
        assert close(profile["normality"]["p_value"], stats.shapiro(values).pvalue)
    flipper = profiles["flipper_length_mm"]
    assert flipper["iqr_outliers"]["count"] == 0 and flipper["missing"] == 2
    assert not flipper["normality"]["looks_normal"]  # flipper length is bimodal


@pytest.mark.parametrize(
    ("std", "skew_kurtosis"),
    [("sample", "unbiased"), ("population", "biased"), ("population", "unbiased")],
)
async def test_the_asked_std_and_skew_estimates_match_scipy(
    tool_context: ToolContext, penguins: pd.DataFrame, std: str, skew_kurtosis: str
) -> None:
    gentoo = penguins[penguins["species"] == "Gentoo"].reset_index(drop=True)
    dataset_id = add_dataset(tool_context, gentoo, "gentoo.csv")
    result = await call(
        describe_distribution,
        tool_context,
        dataset_id=dataset_id,
        column="bill_depth_mm",
        z_threshold=2.0,
        std=std,
        skew_kurtosis=skew_kurtosis,
    )
    (profile,) = result["columns"]
    values = gentoo["bill_depth_mm"].dropna().to_numpy(dtype=float)
    ddof, biased = (1 if std == "sample" else 0), skew_kurtosis == "biased"
    assert close(profile["z_outliers"]["std"], np.std(values, ddof=ddof))
    z = stats.zscore(values, ddof=ddof)
    assert profile["z_outliers"]["count"] == int((np.abs(z) > 2.0).sum())
    assert close(profile["skewness"], stats.skew(values, bias=biased))
    assert close(profile["excess_kurtosis"], stats.kurtosis(values, fisher=True, bias=biased))
    assert result["std"].startswith(std) and ("n - 1" in result["std"]) == (std == "sample")
    assert ("bias=True" in result["skew_kurtosis"]) == biased


@pytest.mark.parametrize("std", ["sample", "population"])
async def test_profile_and_group_std_are_the_asked_one(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str, std: str
) -> None:
    ddof = 1 if std == "sample" else 0
    profile = await call(analyze_dataset, tool_context, dataset_id=penguins_id, std=std)
    stds = {entry["name"]: entry.get("std") for entry in profile["column_profiles"]}
    for column in NUMERIC:
        assert close(stds[column], penguins[column].std(ddof=ddof))
    grouped = await call(
        group_by,
        tool_context,
        dataset_id=penguins_id,
        group_columns=["species"],
        value_columns=["body_mass_g", "bill_length_mm"],
        aggregations=["std", "mean"],
        std=std,
    )
    expected = penguins.groupby("species")[["body_mass_g", "bill_length_mm"]].std(ddof=ddof)
    for group in grouped["groups"]:
        for column in ("body_mass_g", "bill_length_mm"):
            assert close(group[f"{column}_std"], expected.loc[group["species"], column])
    assert grouped["std"] == profile["std"]
    assert [g["species"] for g in grouped["groups"]] == list(
        expected["body_mass_g"].sort_values(ascending=False).index
    )


async def test_normality_is_tested_on_at_most_5000_sampled_values(
    tool_context: ToolContext,
) -> None:
    values = np.random.default_rng(0).normal(size=12_000)
    dataset_id = add_dataset(tool_context, pd.DataFrame({"x": values}), "normal.csv")
    result = await call(describe_distribution, tool_context, dataset_id=dataset_id)
    (profile,) = result["columns"]
    assert profile["n"] == 12_000 and profile["normality"]["n_tested"] == 5_000
    assert profile["normality"]["looks_normal"] and "roughly symmetric" in profile["shape"]


# correlations ------------------------------------------------------------------------------------
async def test_named_pair_correlation_matches_scipy(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        correlations,
        tool_context,
        dataset_id=penguins_id,
        columns=["flipper_length_mm", "body_mass_g"],
    )
    (pair,) = result["pairs"]
    both = penguins[["flipper_length_mm", "body_mass_g"]].dropna()
    pearson = stats.pearsonr(both["flipper_length_mm"], both["body_mass_g"])
    spearman = stats.spearmanr(both["flipper_length_mm"], both["body_mass_g"])
    assert pair["n"] == len(both) == 342
    assert close(pair["pearson_r"], pearson.statistic) and close(pair["pearson_p"], pearson.pvalue)
    assert close(pair["spearman_rho"], spearman.statistic)
    assert close(pair["spearman_p"], spearman.pvalue)
    assert pair["strength"] == "strong positive"


async def test_top_pairs_are_the_strongest_by_pandas(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        correlations, tool_context, dataset_id=penguins_id, method="pearson", top_k=4
    )
    matrix = penguins[NUMERIC].corr().abs()
    expected = sorted(
        ((matrix.loc[a, b], {a, b}) for i, a in enumerate(NUMERIC) for b in NUMERIC[i + 1 :]),
        key=lambda item: item[0],
        reverse=True,
    )[:4]
    assert result["pairs_total"] == 10 and len(result["pairs"]) == 4
    assert result["pairs"][3]["pearson_r"] < 0  # strength is the absolute value
    for pair, (strength, names) in zip(result["pairs"], expected, strict=True):
        assert {pair["column_a"], pair["column_b"]} == names
        assert close(abs(pair["pearson_r"]), strength)
        assert "spearman_rho" not in pair


# group_by and value_counts -----------------------------------------------------------------------
async def test_group_by_aggregates_match_pandas(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        group_by,
        tool_context,
        dataset_id=penguins_id,
        group_columns=["species", "sex"],
        value_columns=["body_mass_g"],
        aggregations=["mean", "median", "std", "count"],
    )
    expected = penguins.groupby(["species", "sex"])["body_mass_g"].agg(
        ["mean", "median", "std", "count"]
    )
    assert result["total_groups"] == len(expected) == 6
    assert result["rows_missing_group"] == int(penguins["sex"].isna().sum()) == 11
    means = [group["body_mass_g_mean"] for group in result["groups"]]
    assert means == sorted(means, reverse=True)
    for group in result["groups"]:
        row = expected.loc[(group["species"], group["sex"])]
        assert close(group["body_mass_g_mean"], row["mean"])
        assert close(group["body_mass_g_median"], row["median"])
        assert close(group["body_mass_g_std"], row["std"])
        assert group["body_mass_g_count"] == row["count"]


async def test_group_by_returns_at_most_50_groups_and_the_total(
    tool_context: ToolContext,
) -> None:
    frame = pd.DataFrame({"shop": [f"s{i % 120}" for i in range(600)], "sales": range(600)})
    dataset_id = add_dataset(tool_context, frame, "sales.csv")
    result = await call(
        group_by,
        tool_context,
        dataset_id=dataset_id,
        group_columns=["shop"],
        value_columns=["sales"],
        aggregations=["sum"],
    )
    expected = frame.groupby("shop")["sales"].sum().sort_values(ascending=False)
    assert result["total_groups"] == 120 and result["groups_shown"] == 50
    assert [group["shop"] for group in result["groups"]] == list(expected.index[:50])
    assert result["groups"][0]["sales_sum"] == expected.iloc[0]


async def test_value_counts_include_missing_values_and_percentages(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(value_counts, tool_context, dataset_id=penguins_id, column="sex")
    expected = penguins["sex"].value_counts(dropna=False)
    assert result["distinct"] == 2 and result["missing"] == 11 and result["rows"] == 344
    assert [(v["value"], v["count"]) for v in result["values"]] == [
        (None if pd.isna(key) else key, count) for key, count in expected.items()
    ]
    assert result["values"][0]["pct"] == round(100 * expected.iloc[0] / 344, 2)

    top = await call(value_counts, tool_context, dataset_id=penguins_id, column="island", top_k=1)
    assert top["values"] == [{"value": "Biscoe", "count": 168, "pct": round(16800 / 344, 2)}]
    assert top["other_values"] == {"distinct": 2, "count": 176, "pct": round(17600 / 344, 2)}


# hypothesis_test ---------------------------------------------------------------------------------
async def test_welch_t_test_of_body_mass_by_sex_matches_scipy(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        hypothesis_test,
        tool_context,
        dataset_id=penguins_id,
        test="t_test",
        column="body_mass_g",
        group_column="sex",
        groups=["Male", "female"],
    )
    male = penguins.loc[penguins["sex"] == "male", "body_mass_g"].dropna()
    female = penguins.loc[penguins["sex"] == "female", "body_mass_g"].dropna()
    expected = stats.ttest_ind(male, female, equal_var=False)
    assert close(result["statistic"], expected.statistic)
    assert close(result["p_value"], expected.pvalue)
    assert close(result["df"], expected.df)
    assert [(g["group"], g["n"]) for g in result["groups"]] == [("male", 168), ("female", 165)]
    assert close(result["groups"][0]["mean"], male.mean())
    assert result["n"] == 333 and result["significant"]
    assert result["interpretation"].startswith("The mean body_mass_g differs significantly")


async def test_t_test_without_groups_compares_the_two_largest_and_says_so(
    tool_context: ToolContext, penguins_id: str
) -> None:
    result = await call(
        hypothesis_test,
        tool_context,
        dataset_id=penguins_id,
        test="t_test",
        column="body_mass_g",
        group_column="species",
    )
    assert [group["group"] for group in result["groups"]] == ["Adelie", "Gentoo"]
    assert "two largest" in result["note"] and "anova" in result["note"]


async def test_chi_square_of_species_and_island_matches_scipy(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        hypothesis_test,
        tool_context,
        dataset_id=penguins_id,
        test="chi_square",
        column="species",
        group_column="island",
    )
    crosstab = pd.crosstab(penguins["species"], penguins["island"])
    expected = stats.chi2_contingency(crosstab)
    assert close(result["statistic"], expected.statistic)
    assert close(result["p_value"], expected.pvalue)
    assert result["df"] == expected.dof == 4 and result["n"] == 344
    assert close(result["cramers_v"], math.sqrt(expected.statistic / (344 * 2)))
    assert result["contingency_table"]["counts"] == {
        species: {island: int(count) for island, count in row.items()}
        for species, row in crosstab.iterrows()
    }
    assert "significantly associated" in result["interpretation"]


async def test_anova_of_body_mass_across_species_matches_scipy(
    tool_context: ToolContext, penguins: pd.DataFrame, penguins_id: str
) -> None:
    result = await call(
        hypothesis_test,
        tool_context,
        dataset_id=penguins_id,
        test="anova",
        column="body_mass_g",
        group_column="species",
    )
    samples = [group.dropna() for _, group in penguins.groupby("species")["body_mass_g"]]
    expected = stats.f_oneway(*samples)
    assert close(result["statistic"], expected.statistic)
    assert close(result["p_value"], expected.pvalue)
    assert (result["df_between"], result["df_within"]) == (2, 342 - 3)
    grand = penguins["body_mass_g"].mean()
    between = sum(len(s) * (s.mean() - grand) ** 2 for s in samples)
    total = ((penguins["body_mass_g"].dropna() - grand) ** 2).sum()
    assert close(result["eta_squared"], between / total)
    sizes = {group["group"]: group["n"] for group in result["groups"]}
    assert sizes == {"Adelie": 151, "Gentoo": 123, "Chinstrap": 68}


ONE_ROW_GROUP = ["'Emperor' has 1", "`groups`"]
LONELY = {"column": "body_mass_g", "group_column": "species"}


@pytest.mark.parametrize(
    "case",
    [
        refusal(
            "anova", hypothesis_test, {**LONELY, "test": "anova"}, "too_few_rows", *ONE_ROW_GROUP
        ),
        refusal(
            "t_test",
            hypothesis_test,
            {**LONELY, "test": "t_test", "groups": ["Adelie", "Emperor"]},
            "too_few_rows",
            *ONE_ROW_GROUP,
        ),
    ],
)
async def test_a_group_with_one_row_is_refused(
    tool_context: ToolContext, penguins: pd.DataFrame, case: Refusal
) -> None:
    lonely = pd.concat(
        [penguins, pd.DataFrame({"species": ["Emperor"], "body_mass_g": [23000.0]})],
        ignore_index=True,
    )
    await case.check(
        tool_context, dataset_id=add_dataset(tool_context, lonely, "penguins_plus.csv")
    )


@pytest.mark.parametrize(
    "case",
    [
        refusal(
            "distribution-of-a-text-column-lists-the-numeric-ones",
            describe_distribution,
            {"column": "island"},
            "wrong_column_type",
            "body_mass_g",
            "value_counts",
        ),
        refusal(
            "correlation-of-a-text-column-lists-the-numeric-ones",
            correlations,
            {"columns": ["species", "body_mass_g"]},
            "wrong_column_type",
            "'species' is text",
            "Numeric columns: " + ", ".join(NUMERIC),
        ),
        refusal(
            "group-by-of-a-text-value-column-lists-the-numeric-ones",
            group_by,
            {"group_columns": ["island"], "value_columns": ["sex"]},
            "wrong_column_type",
            "flipper_length_mm",
        ),
        refusal(
            "an-unknown-column-lists-the-real-columns",
            value_counts,
            {"column": "colour"},
            "unknown_column",
            "species, island, bill_length_mm",
        ),
        refusal(
            "chi-square-of-a-measurement-is-refused-with-the-alternative",
            hypothesis_test,
            {"test": "chi_square", "column": "body_mass_g", "group_column": "sex"},
            "too_many_groups",
            "'body_mass_g' has 93 distinct values",
            "t_test",
        ),
        refusal(
            "an-unknown-group-lists-the-groups",
            hypothesis_test,
            {
                "test": "t_test",
                "column": "body_mass_g",
                "group_column": "species",
                "groups": ["Adelie", "Emperor"],
            },
            "unknown_group",
            "Adelie (151), Gentoo (123), Chinstrap (68)",
        ),
        refusal(
            "an-unknown-std-names-the-two",
            describe_distribution,
            {"std": "median"},
            "bad_argument",
            "'sample'",
            "'population'",
        ),
        refusal(
            "an-unknown-skew-estimate-names-the-two",
            describe_distribution,
            {"skew_kurtosis": "fisher"},
            "bad_argument",
            "'unbiased'",
            "'biased'",
        ),
        refusal(
            "group-by-with-an-unknown-std",
            group_by,
            {"group_columns": ["island"], "value_columns": ["body_mass_g"], "std": "n"},
            "bad_argument",
            "'population'",
        ),
        refusal("profile-with-an-unknown-std", analyze_dataset, {"std": "n"}, "bad_argument"),
        refusal(
            "a-t-test-of-a-text-column-suggests-chi-square",
            hypothesis_test,
            {"test": "t_test", "column": "island", "group_column": "sex"},
            "wrong_column_type",
            "chi_square",
            "body_mass_g",
        ),
    ],
)
async def test_a_wrong_request_is_refused_with_the_way_forward(
    tool_context: ToolContext, penguins_id: str, case: Refusal
) -> None:
    await case.check(tool_context, dataset_id=penguins_id)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        pytest.param(preview_rows, {"position": "tail"}, id="preview_rows"),
        pytest.param(describe_distribution, {}, id="describe_distribution"),
        pytest.param(correlations, {}, id="correlations"),
        pytest.param(
            group_by,
            {"group_columns": ["island"], "value_columns": ["bill_depth_mm"]},
            id="group_by",
        ),
        pytest.param(value_counts, {"column": "year"}, id="value_counts"),
    ],
)
async def test_analysis_results_are_strict_json(
    tool_context: ToolContext, penguins_id: str, tool: Tool, arguments: dict[str, Any]
) -> None:
    result = await call(tool, tool_context, dataset_id=penguins_id, **arguments)
    json.dumps(result, allow_nan=False)
