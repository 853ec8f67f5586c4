"""Code templates for the tools of `data_science.tools.train` (and `export_model`, a model step
although its tool lives in `tools.files`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates.heldout import (
    Cell,
    metrics_code,
    options_of,
    pipeline_code,
    preprocessing_code,
    print_metrics,
    split_code,
    time_column,
)


def cv_splitter(cell: Cell, result: Mapping[str, Any], folds: int) -> str:
    """`train`'s cross-validation folds: time-ordered for time-indexed rows, else k-fold."""
    if time_column(result) is not None:
        cell.need("from sklearn.model_selection import TimeSeriesSplit")
        return f"TimeSeriesSplit(n_splits={literal(folds)})"
    return literal(folds)


@code_for("train")
def train_code(step: Step, names: Names) -> str:
    """The split, the pipeline, `auto`'s comparison when it made one, 5-fold CV on the training
    part, the fit and the held-out metrics (`ml.supervised.fit_and_evaluate`)."""
    result = step.result
    task, seed = str(result["task"]), int(result["seed"])
    options = options_of(step.args)
    cell = Cell()
    cell.need("from sklearn.model_selection import cross_val_score")
    split_code(cell, step, names)
    preprocessing_code(cell)
    metrics_code(cell, task)
    model = names.new_model(str(result["model_id"]))
    validation = result["cross_validation"]
    folds, scoring = int(validation["folds"]), str(validation["scoring"])
    cv = cv_splitter(cell, result, folds) if folds else ""
    selection = result.get("model_selection")
    if selection:
        cell.add(
            "# 'auto' compares these by cross-validation on the training part, keeps the best.",
            "candidates = {",
            *[
                f"    {literal(name)}: {pipeline_code(cell, name, task, seed, options)},"
                for name in selection
            ],
            "}",
            "cv_scores = {",
            f"    name: cross_val_score(pipeline, X_train, y_train, cv={cv}, "
            f"scoring={literal(scoring)})",
            "    for name, pipeline in candidates.items()",
            "}",
            "for name, scores in cv_scores.items():",
            "    print(f'auto candidate {name}: {scores.mean():.4f}')",
            "chosen = max(cv_scores, key=lambda name: cv_scores[name].mean())",
            f"{model} = candidates[chosen]",
            "cv = cv_scores[chosen]",
        )
    else:
        family = str(result["model_family"])
        cell.add(f"{model} = {pipeline_code(cell, family, task, seed, options)}")
        if folds:
            cell.add(
                f"cv = cross_val_score({model}, X_train, y_train, cv={cv}, "
                f"scoring={literal(scoring)})"
            )
    cell.add(
        f"{model}.fit(X_train, y_train)",
        "print(f'n_train: {len(X_train)}')",
        "print(f'n_test: {len(X_test)}')",
    )
    print_metrics(cell, f"test_metrics({model})", "test")
    if folds:
        cell.add(
            f"print({literal(f'cross-validation {scoring} mean:')}, f'{{cv.mean():.4f}}')",
            f"print({literal(f'cross-validation {scoring} std:')}, f'{{cv.std():.4f}}')",
        )
    return cell.render()


@code_for("predict")
def predict_code(step: Step, names: Names) -> str:
    """The model's predictions as a new column of a copy of the dataset."""
    model = names.model(str(step.args["model_id"]))
    frame = names.frame(str(step.args["dataset_id"]))
    column = str(step.result.get("column", "predicted"))
    made = names.new_frame(str(step.result["dataset_id"]))
    return "\n".join(
        [
            "import numpy as np",
            "",
            "# The columns the model was fitted on (an AutoGluon predictor lists them itself).",
            f"features = list({model}.features()) if hasattr({model}, 'features') "
            f"else list({model}.feature_names_in_)",
            f"{made} = {frame}.assign(",
            f"    **{{{literal(column)}: np.ravel({model}.predict({frame}[features]))}}",
            ")",
            f"print(f'rows: {{len({made})}}')",
            f"print({made}[{literal(column)}].head(5).tolist())",
        ]
    )


@code_for("export_model")
def export_model_code(step: Step, names: Names) -> str:
    """The fitted model saved with joblib under the file name the download had."""
    model = names.model(str(step.args["model_id"]))
    return "\n".join(
        [
            "import joblib",
            "",
            f"joblib.dump({model}, {literal(step.result['file'])})",
            f"print('features:', {literal(step.result.get('features'))})",
        ]
    )
