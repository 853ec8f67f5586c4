"""Charts of a trained model, drawn from its predictions on its held-out test rows.

Pure functions with no ADK import, so they run in a worker process. The test rows are rebuilt
from the model's dataset with `held_out_split` and the split the model's report names (test
size, seed, stratification), the very split `train` scored the model on, so no chart ever
shows rows the model learned from.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.inspection import permutation_importance
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from data_science.errors import ToolError
from data_science.ml.charts.canvas import (
    COLOR,
    MAX_POINTS,
    OTHER,
    Chart,
    check_kind,
    figure_png,
    short_label,
)
from data_science.ml.common import SEED
from data_science.ml.split import SplitOptions, held_out_split
from data_science.ml.supervised import positive_scores
from data_science.storage.tables import TableFile

MAX_MATRIX_CLASSES = 25  # more classes: the rarest are pooled as "other"
MAX_ROC_CURVES = 10
TOP_FEATURES = 20
IMPORTANCE_REPEATS = 5
MAX_IMPORTANCE_ROWS = 5_000


def render_model_chart(
    model_path: Path,
    table: TableFile,
    target: str,
    features: list[str],
    kind: str,
    n_test: int,
    options: SplitOptions | None = None,
    model_family: str = "auto",
) -> Chart:
    """Recreate the model's test split, load the model and draw `kind` (run in a worker)."""
    split = held_out_split(table.load(), target, options, model_family)
    check_kind(split.task, kind, target)
    if len(split.y_test) != n_test or list(split.plan.features) != list(features):
        raise ToolError(
            f"The model's dataset no longer gives the split it was tested on ({n_test} test "
            f"rows then, {len(split.y_test)} now). Train the model again, then chart it.",
            code="dataset_changed",
        )
    model = joblib.load(model_path)
    x_test, y_test = split.x_test[features], split.y_test
    size = (11.0, 5.0) if kind == "residuals" else (8.0, 6.5)
    figure = Figure(figsize=size, dpi=100, layout="constrained")
    title, notes, facts = _DRAWERS[kind](figure, model, x_test, y_test, target)
    facts["n_test"] = len(y_test)
    return Chart(figure_png(figure), title, len(y_test), notes, facts)


Drawn = tuple[str, list[str], dict[str, Any]]


def _confusion_matrix(
    figure: Figure, model: Any, x_test: pd.DataFrame, y_test: pd.Series, target: str
) -> Drawn:
    notes: list[str] = []
    truth = y_test.astype(str).to_numpy()
    predicted = np.ravel(model.predict(x_test)).astype(str)
    labels = [str(label) for label in model.classes_]
    if len(labels) > MAX_MATRIX_CLASSES:
        keep = list(pd.Series(truth).value_counts().index[: MAX_MATRIX_CLASSES - 1])
        truth = np.where(np.isin(truth, keep), truth, OTHER)
        predicted = np.where(np.isin(predicted, keep), predicted, OTHER)
        notes.append(
            f"the {len(labels) - len(keep)} rarest of {len(labels)} classes are pooled as '{OTHER}'"
        )
        labels = [*keep, OTHER]
    matrix = confusion_matrix(truth, predicted, labels=labels)
    axes = figure.subplots()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, label="test rows", shrink=0.8)
    ticks = [short_label(label, 20) for label in labels]
    axes.set_xticks(np.arange(len(labels)), ticks, rotation=45 if len(labels) > 4 else 0)
    axes.set_yticks(np.arange(len(labels)), ticks)
    size = 10 if len(labels) <= 8 else 7
    brightest = matrix.max() or 1
    for row in range(len(labels)):
        for col in range(len(labels)):
            count = int(matrix[row, col])
            axes.text(
                col,
                row,
                str(count),
                ha="center",
                va="center",
                fontsize=size,
                color="white" if count > brightest / 2 else "black",
            )
    axes.set_xlabel(f"predicted {short_label(target)}")
    axes.set_ylabel(f"actual {short_label(target)}")
    accuracy = float(np.trace(matrix) / matrix.sum())
    title = f"Confusion matrix for {short_label(target)} on {len(y_test)} test rows"
    axes.set_title(f"{title}\naccuracy {accuracy:.1%}")
    facts = {"labels": labels, "matrix": matrix.tolist(), "accuracy": accuracy}
    return title, notes, facts


def _roc_curve(
    figure: Figure, model: Any, x_test: pd.DataFrame, y_test: pd.Series, target: str
) -> Drawn:
    classes = [str(label) for label in model.classes_]
    truth = y_test.astype(str)
    if truth.nunique() < 2:
        raise ToolError(
            "The test rows hold a single class, so a ROC curve is undefined. Try "
            "kind='confusion_matrix'.",
            code="single_class",
        )
    axes = figure.subplots()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.50)")
    notes: list[str] = []
    facts: dict[str, Any]
    if len(classes) == 2:
        positive = classes[1]
        is_positive = (truth == positive).to_numpy()
        scores = np.ravel(positive_scores(model, x_test))
        fpr, tpr, _ = roc_curve(is_positive, scores)
        auc = float(roc_auc_score(is_positive, scores))
        axes.plot(
            fpr, tpr, color=COLOR, linewidth=2, label=f"{short_label(positive)} (AUC {auc:.3f})"
        )
        title = f"ROC curve for {short_label(target)} = {short_label(positive)}"
        facts = {"positive_class": positive, "roc_auc": auc}
    else:
        scores = _class_scores(model, x_test)
        by_class: dict[str, float] = {}
        curves = []
        for index, label in enumerate(classes):
            is_class = (truth == label).to_numpy()
            if 0 < is_class.sum() < len(is_class):
                by_class[label] = float(roc_auc_score(is_class, scores[:, index]))
                curves.append((int(is_class.sum()), label, is_class, scores[:, index]))
        if len(by_class) < len(classes):
            notes.append("classes absent from the test rows have no curve and no AUC")
        macro = float(np.mean(list(by_class.values())))
        curves.sort(key=lambda curve: -curve[0])
        if len(curves) > MAX_ROC_CURVES:
            notes.append(f"drawing the {MAX_ROC_CURVES} most frequent of {len(curves)} classes")
        for _, label, is_class, class_scores in curves[:MAX_ROC_CURVES]:
            fpr, tpr, _ = roc_curve(is_class, class_scores)
            axes.plot(fpr, tpr, label=f"{short_label(label)} (AUC {by_class[label]:.3f})")
        title = f"One-vs-rest ROC curves for {short_label(target)}"
        facts = {"roc_auc_macro_ovr": macro, "roc_auc_by_class": by_class}
        axes.text(0.98, 0.02, f"macro AUC {macro:.3f}", ha="right", transform=axes.transAxes)
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.01)
    axes.set_aspect("equal")
    axes.legend(loc="lower right" if len(classes) == 2 else "center right", fontsize="small")
    axes.set_title(f"{title}\n{len(y_test)} test rows")
    return title, notes, facts


def _class_scores(model: Any, x: pd.DataFrame) -> np.ndarray:
    """One score column per class: probabilities where the model has them, else margins."""
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=float)
    return np.asarray(model.decision_function(x), dtype=float)


def _residuals(
    figure: Figure, model: Any, x_test: pd.DataFrame, y_test: pd.Series, target: str
) -> Drawn:
    notes: list[str] = []
    actual = y_test.to_numpy(float)
    predicted = np.ravel(model.predict(x_test)).astype(float)
    residual = actual - predicted
    facts = {
        "rmse": float(root_mean_squared_error(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
        "mean_residual": float(residual.mean()),
    }
    shown = np.arange(len(actual))
    if len(shown) > MAX_POINTS:
        shown = np.random.default_rng(SEED).choice(shown, MAX_POINTS, replace=False)
        notes.append(f"drew a random sample of {MAX_POINTS:,} of {len(actual):,} test rows")
    fit_axes, residual_axes = figure.subplots(1, 2)
    fit_axes.scatter(predicted[shown], actual[shown], s=12, alpha=0.6, color=COLOR)
    low = float(min(actual.min(), predicted.min()))
    high = float(max(actual.max(), predicted.max()))
    fit_axes.plot([low, high], [low, high], linestyle="--", color="grey", label="perfect fit")
    fit_axes.set_xlabel(f"predicted {short_label(target)}")
    fit_axes.set_ylabel(f"actual {short_label(target)}")
    fit_axes.legend(fontsize="small")
    fit_axes.set_title(f"Actual vs predicted (R² {facts['r2']:.3f})")
    residual_axes.scatter(predicted[shown], residual[shown], s=12, alpha=0.6, color=COLOR)
    residual_axes.axhline(0, linestyle="--", color="grey")
    residual_axes.set_xlabel(f"predicted {short_label(target)}")
    residual_axes.set_ylabel("residual (actual - predicted)")
    residual_axes.set_title(f"Residuals (RMSE {facts['rmse']:.4g})")
    title = f"Residuals of {short_label(target)} on {len(y_test)} test rows"
    figure.suptitle(title)
    return title, notes, facts


def _feature_importance(
    figure: Figure, model: Any, x_test: pd.DataFrame, y_test: pd.Series, target: str
) -> Drawn:
    notes: list[str] = []
    classification = not pd.api.types.is_numeric_dtype(y_test)  # class labels are text
    if len(x_test) > MAX_IMPORTANCE_ROWS:
        x_test = x_test.sample(MAX_IMPORTANCE_ROWS, random_state=SEED)
        y_test = y_test.loc[x_test.index]
        notes.append(f"measured on a random sample of {MAX_IMPORTANCE_ROWS:,} test rows")
    scoring = _accuracy if classification else _r2
    result = permutation_importance(
        model,
        x_test,
        y_test,
        scoring=scoring,
        n_repeats=IMPORTANCE_REPEATS,
        random_state=SEED,
        n_jobs=1,
    )
    means, stds = result.importances_mean, result.importances_std
    order = np.argsort(-means, kind="stable")[:TOP_FEATURES]
    if len(means) > TOP_FEATURES:
        notes.append(f"showing the {TOP_FEATURES} most important of {len(means)} features")
    names = [str(x_test.columns[index]) for index in order]
    axes = figure.subplots()
    positions = np.arange(len(order))[::-1]
    axes.barh(positions, means[order], xerr=stds[order], color=COLOR, capsize=3)
    axes.set_yticks(positions, [short_label(name) for name in names])
    axes.axvline(0, color="grey", linewidth=0.8)
    metric = "accuracy" if classification else "R²"
    axes.set_xlabel(f"drop in test {metric} when the feature is shuffled")
    title = f"Permutation importance for predicting {short_label(target)}"
    axes.set_title(f"{title}\n{len(y_test)} test rows, {IMPORTANCE_REPEATS} shuffles each")
    facts = {
        "scoring": "accuracy" if classification else "r2",
        "n_repeats": IMPORTANCE_REPEATS,
        "importances": [
            {"feature": name, "mean": float(means[index]), "std": float(stds[index])}
            for name, index in zip(names, order, strict=True)
        ],
    }
    return title, notes, facts


def _accuracy(model: Any, x: pd.DataFrame, y: pd.Series) -> float:
    return float(accuracy_score(y.astype(str), np.ravel(model.predict(x)).astype(str)))


def _r2(model: Any, x: pd.DataFrame, y: pd.Series) -> float:
    return float(r2_score(y, np.ravel(model.predict(x))))


_DRAWERS: dict[str, Callable[[Figure, Any, pd.DataFrame, pd.Series, str], Drawn]] = {
    "confusion_matrix": _confusion_matrix,
    "roc_curve": _roc_curve,
    "residuals": _residuals,
    "feature_importance": _feature_importance,
}
