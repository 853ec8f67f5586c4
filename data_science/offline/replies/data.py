"""Replies for looking at data and changing it: profile, rows, analysis, cleaning, files."""

from __future__ import annotations

from typing import Any

from data_science.offline.replies.format import names, number, p_value, table


def analysis(result: dict[str, Any]) -> str:
    lines = [
        f"The dataset has **{result['rows']:,} rows** and **{result['columns']} columns** "
        f"({result.get('duplicate_rows', 0)} duplicate rows).",
        "",
        *table(
            ["column", "type", "missing", "unique", "mean", "min", "max"],
            [
                [
                    column["name"],
                    column["dtype"],
                    f"{column['missing']} ({column['missing_pct']}%)",
                    column["unique"],
                    column.get("mean"),
                    column.get("min"),
                    column.get("max"),
                ]
                for column in result.get("column_profiles", [])
            ],
        ),
    ]
    gaps = [c["name"] for c in result.get("column_profiles", []) if c["missing"]]
    lines.append("")
    lines.append(
        f"Columns with missing values: {', '.join(gaps)}." if gaps else "No values are missing."
    )
    return "\n".join(lines)


def rows(result: dict[str, Any]) -> str:
    shown = result.get("rows") or []
    columns = list(result.get("columns") or [])
    where = {"head": "first", "tail": "last", "random": "randomly chosen"}
    lines = [
        f"The {where.get(result.get('position', 'head'), '')} {len(shown)} of "
        f"{result.get('total_rows', '?'):,} rows:",
        "",
        *table(
            ["row", *columns], [[r["row"], *[r["values"].get(c) for c in columns]] for r in shown]
        ),
    ]
    return "\n".join(lines)


def distribution(result: dict[str, Any]) -> str:
    lines = []
    for column in result.get("columns", []):
        iqr = column.get("iqr_outliers") or {}
        lines.append(
            f"- **{column['column']}**: {column.get('shape', '')}; {iqr.get('count', 0)} outliers "
            f"outside [{number(iqr.get('lower_fence'))}, {number(iqr.get('upper_fence'))}] "
            f"(IQR rule), skewness {number(column.get('skewness'))}."
        )
    return "\n".join(lines) or "No numeric column to describe."


def correlations(result: dict[str, Any]) -> str:
    pairs = result.get("pairs") or []
    if not pairs:
        return "No pair of numeric columns could be compared."
    lines = [
        f"The strongest of {result.get('pairs_total', len(pairs))} correlations:",
        "",
        *table(
            ["column A", "column B", "Pearson r", "Spearman rho", "p-value", "strength"],
            [
                [
                    pair["column_a"],
                    pair["column_b"],
                    pair.get("pearson_r"),
                    pair.get("spearman_rho"),
                    p_value(pair.get("pearson_p", pair.get("spearman_p"))),
                    pair.get("strength", ""),
                ]
                for pair in pairs[:10]
            ],
        ),
    ]
    return "\n".join(lines)


def grouped(result: dict[str, Any]) -> str:
    groups = result.get("groups") or []
    if not groups:
        return "No groups were found."
    header = list(groups[0])
    lines = [
        f"{result.get('total_groups', len(groups))} groups by "
        f"{', '.join(result.get('group_columns', []))} "
        f"(sorted by {result.get('sorted_by', 'rows')}):",
        "",
        *table(header, [[group.get(key) for key in header] for group in groups[:20]]),
    ]
    return "\n".join(lines)


def counts(result: dict[str, Any]) -> str:
    values = result.get("values") or []
    lines = [
        f"**{result.get('column')}** has {result.get('distinct', '?')} distinct values "
        f"({result.get('missing', 0)} missing):",
        "",
        *table(
            ["value", "count", "%"],
            [
                ["(missing)" if v["value"] is None else v["value"], v["count"], v["pct"]]
                for v in values
            ],
        ),
    ]
    return "\n".join(lines)


def test(result: dict[str, Any]) -> str:
    significant = isinstance(result.get("p_value"), float) and result["p_value"] < result.get(
        "alpha", 0.05
    )
    verdict = "significant" if significant else "not significant"
    lines = [
        f"**{result.get('test')}** of {result.get('column')} by {result.get('group_column')}: "
        f"statistic {number(result.get('statistic'))}, p-value {p_value(result.get('p_value'))} — "
        f"{verdict} at alpha = {result.get('alpha', 0.05)} (n = {number(result.get('n'))})."
    ]
    if result.get("interpretation"):
        lines.append(str(result["interpretation"]))
    groups = result.get("groups") or []
    if groups and "mean" in groups[0]:
        lines += ["", *table(["group", "n", "mean", "median"], [
            [g["group"], g["n"], g.get("mean"), g.get("median")] for g in groups
        ])]  # fmt: skip
    return "\n".join(lines)


def derived(result: dict[str, Any]) -> str:
    """Every cleaning or preparation tool: what it did and the new dataset it wrote."""
    change = []
    if result.get("added_columns"):
        change.append(f"new columns: {names(result['added_columns'])}")
    if result.get("removed_columns"):
        change.append(f"removed: {names(result['removed_columns'])}")
    detail = f" ({'; '.join(change)})" if change else ""
    return (
        f"Done: {result.get('action', 'the data was changed')}{detail}. "
        f"{result.get('rows_after', '?'):,} rows and {result.get('columns_after', '?')} columns "
        f"are stored as the new dataset `{result.get('dataset_id')}`; the original is unchanged."
    )


def merged(result: dict[str, Any]) -> str:
    return (
        f"Joined ({result.get('how')}): {number(result.get('rows'))} rows, "
        f"{number(result.get('matched_rows'))} matched; {number(result.get('only_left_rows'))} "
        f"only on the left, {number(result.get('only_right_rows'))} only on the right. Stored as "
        f"dataset `{result.get('dataset_id')}`."
    )


def sheet(result: dict[str, Any]) -> str:
    columns = [column["name"] for column in result.get("columns") or []]
    return (
        f"Opened the sheet as dataset `{result.get('dataset_id')}`: "
        f"{number(result.get('rows'))} rows; columns {names(columns)}."
    )


def download(result: dict[str, Any]) -> str:
    rows_note = f" ({result['rows']:,} rows)" if "rows" in result else ""
    return f"Here is **{result['file']}**{rows_note}."
