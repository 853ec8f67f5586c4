"""Replies for models: training, validation, tuning, ensembles, searches, predictions."""

from __future__ import annotations

from typing import Any

from data_science.offline.replies.format import (
    METRIC_LABELS,
    metrics_table,
    names,
    number,
    p_value,
    table,
)


def trained(result: dict[str, Any]) -> str:
    """`train`, `tune_model`, `train_ensemble`, `search_models` and `automl` share this shape."""
    lines = [
        f"I trained a **{result['model']}** to predict **{result['target']}** "
        f"({result['task']}). It was fitted on {result['n_train']:,} rows and scored on "
        f"{result['n_test']:,} held-out rows it never saw (split {result['split']}).",
        "",
        *metrics_table(result.get("test_metrics", {})),
    ]
    cv = result.get("cross_validation") or {}
    if cv.get("mean") is not None:
        lines += [
            "",
            f"{cv['folds']}-fold cross-validation on the training part: "
            f"{cv['scoring']} {number(cv['mean'])} ± {number(cv['std'])}.",
        ]
    elif cv.get("left_out"):
        lines += ["", str(cv["left_out"])]
    lines += _extras(result)
    if result.get("dropped_columns"):
        dropped = ", ".join(f"{name} ({why})" for name, why in result["dropped_columns"].items())
        lines += ["", f"Columns not used as features: {dropped}."]
    lines += ["", f"The model is saved as `{result['model_id']}`; ask me to predict with it."]
    return "\n".join(lines)


def _extras(result: dict[str, Any]) -> list[str]:
    """What tuning, ensembles, searches and AutoML add to a trained model's report."""
    lines: list[str] = []
    if result.get("best_params"):
        settings = ", ".join(f"{k.split('__')[-1]}={v}" for k, v in result["best_params"].items())
        lines += ["", f"Best settings found: {settings}."]
    comparison = result.get("comparison") or {}
    if comparison:
        verdict = "beats" if comparison.get("ensemble_beats_best_member") else "does not beat"
        lines += [
            "",
            f"The {result.get('method', '')} ensemble of {names(result.get('members', []))} "
            f"{verdict} its best member, {comparison.get('best_member')} "
            f"({comparison.get('metric')} {number(comparison.get('ensemble'))} vs "
            f"{number(comparison.get('best_member_score'))}).",
        ]
    if result.get("families_tried"):
        lines += ["", f"Families tried: {names(list(result['families_tried']))}."]
    board = result.get("leaderboard") or []
    if board:
        lines += ["", *table(["model", "test score", "fit seconds"], [
            [row["model"], row["test_score"], row["fit_seconds"]] for row in board[:8]
        ])]  # fmt: skip
    if result.get("cut_short"):
        lines += [
            "",
            "AutoML ran out of time before trying every model it planned, so this is the best "
            "of those it trained. A larger time budget lets it try more.",
        ]
    return lines


def one_shot(result: dict[str, Any]) -> str:
    profile = result.get("profile") or {}
    strong = result.get("strong_model") or {}
    baseline = result.get("baseline") or {}
    improvement = result.get("improvement") or {}
    gaps = sum((profile.get("missing") or {}).values())
    lines = [
        f"Profile: {number(profile.get('rows'))} rows, {profile.get('columns')} columns, "
        f"{gaps} missing values, {profile.get('duplicate_rows', 0)} duplicate rows.",
        f"Baseline **{baseline.get('model')}** vs strong **{strong.get('model')}** on the same "
        f"{strong.get('n_test')} held-out rows ({improvement.get('metric')}: "
        f"{number(improvement.get('baseline'))} → {number(improvement.get('strong'))}).",
        "",
        *table(["test metric", "baseline", "strong"], [
            [METRIC_LABELS.get(key, key), baseline.get("test_metrics", {}).get(key), value]
            for key, value in (strong.get("test_metrics") or {}).items()
        ]),
        "",
        f"The strong model is saved as `{result.get('model_id')}`.",
    ]  # fmt: skip
    return "\n".join(lines)


def validated(result: dict[str, Any]) -> str:
    metrics = result.get("metrics") or {}
    lines = [
        f"{result.get('cv', 'Cross-validation')} of **{result.get('model')}** predicting "
        f"**{result.get('target')}** on {result.get('n_train')} training rows "
        f"({result.get('held_out_test_rows_untouched')} test rows untouched):",
        "",
        *table(["metric", "mean", "std"], [
            [METRIC_LABELS.get(key, key), value.get("mean"), value.get("std")]
            for key, value in metrics.items()
        ]),
    ]  # fmt: skip
    return "\n".join(lines)


def selected(result: dict[str, Any]) -> str:
    ranking = result.get("ranking") or []
    lines = [
        f"Selected {len(result.get('selected_features') or [])} of "
        f"{result.get('features_considered')} features for **{result.get('target')}** "
        f"({result.get('method')}): {names(result.get('selected_features') or [], 12)}.",
        "",
        *table(["rank", "feature", "score"], [
            [entry.get("rank"), entry.get("feature"), entry.get("score", entry.get("mean"))]
            for entry in ranking[:10]
        ]),
    ]  # fmt: skip
    if result.get("dataset_id"):
        lines += ["", f"The selected columns are stored as dataset `{result['dataset_id']}`."]
    return "\n".join(lines)


def prediction(result: dict[str, Any]) -> str:
    return (
        f"Predictions for {result['rows']:,} rows are stored as dataset "
        f"`{result['dataset_id']}`. First predictions: "
        + ", ".join(str(value) for value in result.get("preview", []))
        + "."
    )


def model_chart(result: dict[str, Any]) -> str:
    lines = [f"Here is the chart: **{result.get('title', result.get('kind'))}**."]
    if result.get("importances"):
        top = [f"{entry['feature']} ({number(entry['mean'])})" for entry in result["importances"]]
        lines.append(f"Most important: {names(top, 5)}.")
    for key in ("accuracy", "auc", "macro_auc", "rmse", "r2"):
        if isinstance(result.get(key), int | float):
            lines.append(
                f"{METRIC_LABELS.get(key, key.upper())} on the test rows: {number(result[key])}."
            )
    return " ".join(lines)


def regression(result: dict[str, Any]) -> str:
    """`regression_report`: the fit, the coefficients that matter at its alpha, held-out scores."""
    fit = result.get("fit") or {}
    alpha = result.get("alpha", 0.05)
    logit = result.get("kind") == "logit"
    quality = (
        f"pseudo R² {number(fit.get('pseudo_r2'))}"
        if logit
        else f"R² {number(fit.get('r2'))} (adjusted {number(fit.get('adj_r2'))})"
    )
    lines = [
        f"**{result.get('model') or result.get('kind')}** of **{result.get('target')}** on "
        f"{number(result.get('n'))} complete rows: {quality}, AIC {number(fit.get('aic'))}.",
    ]
    terms = [c for c in result.get("coefficients") or [] if isinstance(c, dict)]
    significant = [c for c in terms if _p(c) < alpha and c.get("term") != "intercept"]
    if significant:
        shown = [
            f"{c.get('term')} ({number(c.get('coef'))}, p {p_value(_p(c))})" for c in significant
        ]
        lines.append(f"Significant at {alpha}: {names(shown, 10)}.")
    elif terms:
        lines.append(f"No feature is significant at {alpha}.")
    if logit and result.get("positive_class") is not None:
        lines.append(f"Coefficients raise the log-odds of {result['positive_class']}.")
    lines += ["", *table(["term", "coef", "std err", "p-value", "95 % interval"], [
        [c.get("term"), c.get("coef"), c.get("std_err"), p_value(_p(c)), _interval(c)]
        for c in terms[:20]
    ])]  # fmt: skip
    held_out = result.get("held_out") or {}
    if held_out.get("test_metrics"):
        lines += [
            "",
            f"Refitted on {held_out.get('n_train')} rows and scored on {held_out.get('n_test')} "
            "held-out rows:",
            "",
            *metrics_table(held_out["test_metrics"]),
        ]
    return "\n".join(lines)


def _p(coefficient: dict[str, Any]) -> float:
    value = coefficient.get("p_value", coefficient.get("p"))
    return float(value) if isinstance(value, int | float) else 1.0


def _interval(coefficient: dict[str, Any]) -> str:
    low, high = [*(coefficient.get("ci_95") or []), None, None][:2]
    return f"[{number(low)}, {number(high)}]" if low is not None else "n/a"
