"""What to do next with a dataset, and a one-shot profile-and-model pass (worker-side)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import is_numeric
from data_science.ml.split import detect_task, plan_features
from data_science.ml.supervised import fit_and_evaluate
from data_science.storage.tables import TableFile

TARGET_NAMES = re.compile(
    r"^(target|label|class|y|outcome|churn|species|default|survived|price)$", re.IGNORECASE
)
# The simple model `analyze_and_model` compares the strong one with, by task.
BASELINE_MODEL = {"classification": "logistic", "regression": "linear"}
STRONG_MODEL = "hist_gradient_boosting"


def likely_target(frame: pd.DataFrame) -> str | None:
    """A column that looks like what people usually predict (by name, else the last column)."""
    for column in frame.columns:
        if TARGET_NAMES.match(str(column)):
            return str(column)
    last = frame.columns[-1]
    return str(last) if frame[last].nunique(dropna=True) > 1 else None


def next_steps(table: TableFile) -> dict[str, Any]:
    """Concrete suggestions, each naming the tool and the columns it would use."""
    frame = table.load()
    numeric = [str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    text = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    missing = {str(c): int(n) for c, n in frame.isna().sum().items() if n}
    dates = [c for c in text if _looks_like_dates(frame[c])]
    long_text = [c for c in text if c not in dates and frame[c].astype(str).str.len().mean() > 40]
    steps: list[dict[str, Any]] = [{"tool": "analyze_dataset", "why": "a profile of every column"}]
    if missing:
        steps.append(
            {
                "tool": "impute_missing",
                "columns": list(missing),
                "why": f"{sum(missing.values())} missing values in {len(missing)} columns",
            }
        )
    if len(numeric) >= 3:
        steps.append({"tool": "correlations", "why": f"{len(numeric)} numeric columns to relate"})
    if dates:
        steps.append(
            {"tool": "expand_dates", "columns": dates, "why": "dates become usable features"}
        )
        if numeric:
            steps.append(
                {
                    "tool": "forecast",
                    "columns": [dates[0], numeric[0]],
                    "why": "a time column and a numeric one: a series to forecast",
                }
            )
    if long_text:
        steps.append(
            {"tool": "text_to_tfidf", "columns": long_text, "why": "free text to features"}
        )
    target = likely_target(frame)
    if target:
        steps.append(
            {
                "tool": "train",
                "columns": [target],
                "why": f"'{target}' looks like something to predict",
            }
        )
    if len(numeric) >= 2:
        steps.append({"tool": "cluster", "why": "look for natural groups among the rows"})
    return {
        "rows": len(frame),
        "columns": len(frame.columns),
        "likely_target": target,
        "suggestions": steps,
    }


def quick_actions(table: TableFile) -> dict[str, Any]:
    """The few next steps the chat page offers as buttons: the likely target and the one chart
    that says most about the data (`chart` is None when no numeric column can be drawn)."""
    frame = table.load()
    target = likely_target(frame)
    return {"likely_target": target, "chart": telling_chart(frame, target)}


def telling_chart(frame: pd.DataFrame, target: str | None) -> dict[str, str] | None:
    """The numeric column most related to the target (plotted against a numeric target, else as
    a histogram); with no target, the numeric column with the most distinct values."""
    try:
        numeric = plan_features(frame, target or "").numeric
    except ToolError:
        return None
    numeric = [str(c) for c in numeric if is_numeric(frame[c])]
    if not numeric:
        return None
    if target is None:
        return {"kind": "histogram", "x": max(numeric, key=lambda c: frame[c].nunique())}
    labels = frame[target]
    task = detect_task(labels)
    strength = {column: _association(frame[column], labels, task) for column in numeric}
    best = max(strength, key=strength.__getitem__)
    if task == "regression":
        return {"kind": "scatter", "x": best, "y": target}
    return {"kind": "histogram", "x": best}


def _association(values: pd.Series, target: pd.Series, task: str) -> float:
    """|Pearson r| against a numeric target; the correlation ratio (eta squared) against classes."""
    both = pd.DataFrame({"x": values, "y": target}).dropna()
    if len(both) < 3 or both["x"].nunique() < 2:
        return 0.0
    if task == "regression":
        r = both["x"].corr(both["y"])
        return 0.0 if pd.isna(r) else abs(float(r))
    total = float(((both["x"] - both["x"].mean()) ** 2).sum())
    groups = both.groupby("y")["x"]
    between = float((groups.count() * (groups.mean() - both["x"].mean()) ** 2).sum())
    return between / total if total else 0.0


def _looks_like_dates(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).head(50)
    if sample.empty or not sample.str.contains(r"\d{4}|\d{1,2}[/.-]\d{1,2}").all():
        return False
    return bool(pd.to_datetime(sample, errors="coerce", format="mixed").notna().mean() > 0.9)


def profile_and_model(table: TableFile, target: str, model_path: Path) -> dict[str, Any]:
    """Profile, then a simple baseline and a strong model on the same split; keep the strong one."""
    frame = table.load()
    missing = {str(c): int(n) for c, n in frame.isna().sum().items() if n}
    strong_model, strong = fit_and_evaluate(frame, target, STRONG_MODEL)
    _, baseline = fit_and_evaluate(frame, target, BASELINE_MODEL[strong["task"]])
    joblib.dump(strong_model, model_path)
    metric = "accuracy" if strong["task"] == "classification" else "r2"
    gain = strong["test_metrics"][metric] - baseline["test_metrics"][metric]
    return {
        "profile": {
            "rows": len(frame),
            "columns": len(frame.columns),
            "missing": missing,
            "duplicate_rows": int(frame.duplicated().sum()),
        },
        "cleaning": "missing values imputed inside each model (median / most frequent); text "
        "columns one-hot encoded; row ids and constant columns left out",
        "baseline": {key: baseline[key] for key in ("model", "test_metrics", "cross_validation")},
        "model_report": strong,
        "improvement": {
            "metric": metric,
            "baseline": baseline["test_metrics"][metric],
            "strong": strong["test_metrics"][metric],
            "gain": gain,
        },
    }
