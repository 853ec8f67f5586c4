"""Replies for charts, clusters, anomalies, time series and guidance."""

from __future__ import annotations

from typing import Any

from data_science.offline.replies.format import names, number, table


def chart(result: dict[str, Any]) -> str:
    plotted = result.get("rows_plotted")
    rows = f" ({plotted:,} rows plotted)" if isinstance(plotted, int) else ""
    return f"Here is the chart: **{result.get('title', result.get('chart'))}**{rows}."


def overview(result: dict[str, Any]) -> str:
    lines = [f"{len(result.get('charts') or [])} charts for a first look:"]
    lines += [
        f"- **{item['title']}**: {item.get('why', '')}" for item in result.get("charts") or []
    ]
    return "\n".join(lines)


def clusters(result: dict[str, Any]) -> str:
    sizes = ", ".join(f"cluster {label}: {size}" for label, size in result["sizes"].items())
    silhouette = result.get("silhouette")
    quality = f" (silhouette {number(silhouette)})" if silhouette is not None else ""
    return (
        f"I found **{result['n_clusters']} clusters** with {result.get('method', 'k-means')} on "
        f"{names(result['columns_used'])}{quality}. Sizes: {sizes}. The rows with their cluster "
        f"are stored as dataset `{result['dataset_id']}`."
    )


def choose_k(result: dict[str, Any]) -> str:
    return (
        f"The best-separated grouping has **k = {result.get('suggested_k')}** "
        f"({result.get('suggested_by')}); the elbow of the inertia curve is at k = "
        f"{result.get('elbow_k')}. Ask me to cluster into that many groups.\n\n"
        + "\n".join(
            table(["k", "inertia", "silhouette"], [
                [row["k"], row["inertia"], row["silhouette"]] for row in result.get("table", [])
            ])
        )
    )  # fmt: skip


def anomalies(result: dict[str, Any]) -> str:
    top = result.get("most_anomalous") or []
    lines = [
        f"**{result.get('anomalies')} of {number(result.get('rows'))} rows** look unusual "
        f"(isolation forest, contamination {result.get('contamination')}). Most unusual rows: "
        f"{names([row['row'] for row in top], 10)}. All rows with an `anomaly` flag are stored as "
        f"dataset `{result.get('dataset_id')}`."
    ]
    return "\n".join(lines)


def forecast(result: dict[str, Any]) -> str:
    holdout = result.get("holdout") or {}
    scores = holdout.get("metrics") or {}
    best = result.get("best_model")
    lines = [
        f"Forecast of {result.get('horizon')} steps with **{best}** (season length "
        f"{result.get('season_length')}); it "
        f"{'beats' if result.get('beats_seasonal_naive') else 'does not beat'} the seasonal-naive "
        f"baseline on the last {holdout.get('size')} known steps:",
        "",
        *table(["model", "MAE", "RMSE", "sMAPE"], [
            [name, m.get("mae"), m.get("rmse"), m.get("smape")] for name, m in scores.items()
        ]),
        "",
        f"The forecast with its 95 % interval is stored as dataset `{result.get('dataset_id')}`.",
    ]  # fmt: skip
    return "\n".join(lines)


def decomposition(result: dict[str, Any]) -> str:
    return (
        f"Trend strength {number(result.get('trend_strength'))} and seasonal strength "
        f"{number(result.get('seasonal_strength'))} (0 = none, 1 = dominant), season length "
        f"{result.get('season_length')}; the trend changed by {number(result.get('trend_change'))} "
        "over the series. The chart shows trend, seasonal pattern and remainder."
    )


def capabilities(result: dict[str, Any]) -> str:
    return "\n".join(f"- `{tool['name']}`: {tool['does']}" for tool in result.get("tools", []))


def model_families(result: dict[str, Any]) -> str:
    lines = [f"Model families for `train` (default {result.get('default')}):"]
    lines += [
        f"- **{family['name']}**: {', '.join(family['tasks'])}"
        for family in result.get("families", [])
    ]
    if result.get("also"):
        lines.append(f"Also: {', '.join(result['also'])}.")
    return "\n".join(lines)


def suggestions(result: dict[str, Any]) -> str:
    lines = [
        f"Suggested next steps (likely target: {result.get('likely_target') or 'none found'}):"
    ]
    for step in result.get("suggestions") or []:
        columns = f" on {names(step['columns'], 4)}" if step.get("columns") else ""
        lines.append(f"- `{step['tool']}`{columns}: {step.get('why', '')}")
    return "\n".join(lines)


def notebook(result: dict[str, Any]) -> str:
    files = result.get("data_files") or []
    notes = result.get("notes") or 0
    skipped = f" {notes} step(s) could not be written as code: they are notes." if notes else ""
    return (
        f"Here is **{result.get('file')}**: a Jupyter notebook with {result.get('code_cells')} "
        f"code cells, one per step, and a `data/` folder with {names(files)}. Unzip it and run "
        f"the cells in order; each model prints the metrics reported here.{skipped}"
    )


def code(result: dict[str, Any]) -> str:
    """The code of the last step(s) in a python block (fenced past any backticks inside)."""
    blocks = []
    for step in result.get("steps") or []:
        if step.get("code"):
            lines = "\n".join(step["code"])
            fence = "`" * max(3, _longest_backtick_run(lines) + 1)
            blocks.append(f"`{step['tool']}`:\n\n{fence}python\n{lines}\n{fence}")
        else:
            blocks.append(f"`{step['tool']}`: {step.get('note', 'no code')}.")
    preamble = "\n".join(result.get("preamble") or [])
    return (
        "This is the code, with the same columns, split, seed and options; it expects this "
        f"set-up first:\n\n```python\n{preamble}\n```\n\n" + "\n\n".join(blocks)
    )


def _longest_backtick_run(text: str) -> int:
    longest = current = 0
    for character in text:
        current = current + 1 if character == "`" else 0
        longest = max(longest, current)
    return longest
