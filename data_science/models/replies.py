"""Plain-language replies that the offline model writes from a tool's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from data_science.models.intents import render_catalogue

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "Macro F1",
    "roc_auc": "ROC AUC",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}


def render_result(tool_name: str, result: dict[str, Any]) -> str:
    if result.get("status") == "error":
        return f"That did not work: {result.get('message', 'the tool reported an error')}"
    renderer = RENDERERS.get(tool_name)
    return renderer(result) if renderer else f"`{tool_name}` finished."


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return "n/a" if value is None else str(value)


def _analysis(result: dict[str, Any]) -> str:
    lines = [
        f"The dataset has **{result['rows']:,} rows** and **{result['columns']} columns** "
        f"({result.get('duplicate_rows', 0)} duplicate rows).",
        "",
        "| column | type | missing | unique | mean | min | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for column in result.get("column_profiles", []):
        lines.append(
            f"| {column['name']} | {column['dtype']} | {column['missing']} "
            f"({column['missing_pct']}%) | {column['unique']} | {_number(column.get('mean'))} "
            f"| {_number(column.get('min'))} | {_number(column.get('max'))} |"
        )
    gaps = [c["name"] for c in result.get("column_profiles", []) if c["missing"]]
    lines.append("")
    lines.append(
        f"Columns with missing values: {', '.join(gaps)}." if gaps else "No values are missing."
    )
    return "\n".join(lines)


def _chart(result: dict[str, Any]) -> str:
    return (
        f"Here is the chart: **{result.get('title', result.get('chart'))}** "
        f"({result.get('rows_plotted', '?'):,} rows plotted)."
    )


def _training(result: dict[str, Any]) -> str:
    lines = [
        f"I trained a **{result['model']}** to predict **{result['target']}** "
        f"({result['task']}). It was fitted on {result['n_train']} rows and scored on "
        f"{result['n_test']} held-out rows it never saw (split {result['split']}).",
        "",
        "| test metric | value |",
        "|---|---|",
    ]
    for key, value in result.get("test_metrics", {}).items():
        lines.append(f"| {METRIC_LABELS.get(key, key)} | {_number(value)} |")
    cv = result.get("cross_validation") or {}
    if cv.get("mean") is not None:
        lines += [
            "",
            f"{cv['folds']}-fold cross-validation on the training part: "
            f"{cv['scoring']} {_number(cv['mean'])} ± {_number(cv['std'])}.",
        ]
    if result.get("dropped_columns"):
        dropped = ", ".join(f"{name} ({why})" for name, why in result["dropped_columns"].items())
        lines += ["", f"Columns not used as features: {dropped}."]
    lines += ["", f"The model is saved as `{result['model_id']}`; ask me to predict with it."]
    return "\n".join(lines)


def _prediction(result: dict[str, Any]) -> str:
    return (
        f"Predictions for {result['rows']:,} rows are stored as dataset "
        f"`{result['dataset_id']}`. First predictions: "
        + ", ".join(str(value) for value in result.get("preview", []))
        + "."
    )


def _clusters(result: dict[str, Any]) -> str:
    sizes = ", ".join(f"cluster {label}: {size}" for label, size in result["sizes"].items())
    return (
        f"I found **{result['n_clusters']} clusters** with k-means on "
        f"{', '.join(result['columns_used'])} (silhouette {_number(result['silhouette'])}). "
        f"Sizes: {sizes}. The rows with their cluster are stored as dataset "
        f"`{result['dataset_id']}`."
    )


def _download(result: dict[str, Any]) -> str:
    rows = f" ({result['rows']:,} rows)" if "rows" in result else ""
    return f"Here is **{result['file']}**{rows}; its download link is in the chat."


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "export_dataset": _download,
    "export_model": _download,
    "list_data_files": render_catalogue,
    "analyze_dataset": _analysis,
    "plot": _chart,
    "train": _training,
    "predict": _prediction,
    "cluster": _clusters,
}
