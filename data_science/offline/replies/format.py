"""Number and table formatting shared by the replies."""

from __future__ import annotations

from typing import Any

METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "Macro F1",
    "roc_auc": "ROC AUC",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
    "mape": "MAPE",
    "smape": "sMAPE",
}


def number(value: Any) -> str:
    """A short, readable number: 4 significant digits, thousands separators when large."""
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def p_value(value: Any) -> str:
    if not isinstance(value, int | float):
        return "n/a"
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A markdown table (cells formatted with `number`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(number(cell) for cell in row) + " |" for row in rows]
    return lines


def metrics_table(metrics: dict[str, Any], title: str = "test metric") -> list[str]:
    return table(
        [title, "value"], [[METRIC_LABELS.get(key, key), value] for key, value in metrics.items()]
    )


def names(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(value) for value in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def sample_sentence(result: dict[str, Any]) -> str | None:
    """The sentence saying a result was computed on a sample of a large table's rows."""
    charts = result.get("charts")
    found = [result.get("sample")]
    found += [chart.get("sample") for chart in charts or [] if isinstance(chart, dict)]
    sample = next((entry for entry in found if isinstance(entry, dict)), None)
    if sample is None:
        return None
    return (
        f"The table is too large to use every row here, so this was computed on a random "
        f"sample of {number(sample.get('rows'))} of its {number(sample.get('of'))} rows "
        f"(seed {sample.get('seed')})."
    )
