"""The code the modelling templates share: the held-out split, the preprocessing, the estimators
and the test metrics, written as plain Python from the same settings `ml/` uses.

The estimators' classes and parameters are read from `ml.estimators` (and the search spaces
from `ml.tuning` by the tuning templates), so a family that changes there changes here too; the
split and metrics mirror `ml.split` and `ml.supervised`, and the tests in
tests/test_reproduce_*.py run both and compare the numbers.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from data_science.ml.arguments import ModelOptions
from data_science.ml.estimators import DEFAULT_MODEL, family, option_parameters
from data_science.reproduce.code import Names, Step, literal

TIME_SPLIT = re.compile(r"temporal on '(?P<column>.*)' \(the latest")
SAMPLED = ("Trained on a random sample of", "SVMs are trained on at most")
LATEST = "Trained on the latest"
SEARCH_CAP_NOTE = "The sample's size and seed are the tool's (it caps the training rows)."


@dataclass
class Cell:
    """One code cell being written: its imports (printed first, sorted) and its lines."""

    imports: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)

    def need(self, *imports: str) -> None:
        self.imports.update(imports)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def render(self) -> str:
        plain = sorted(line for line in self.imports if line.startswith("import "))
        others = sorted(line for line in self.imports if not line.startswith("import "))
        return "\n".join([*plain, *others, "", *self.lines])


def time_column(result: Mapping[str, Any]) -> str | None:
    """The column a time-ordered split sorted by (the report's `split` sentence names it)."""
    match = TIME_SPLIT.search(str(result.get("split", "")))
    return match.group("column") if match else None


def split_code(cell: Cell, step: Step, names: Names) -> None:
    """Lines making `X_train, X_test, y_train, y_test` exactly as `ml.split.held_out_split`."""
    args, result = step.args, step.result
    frame = names.frame(str(args["dataset_id"]))
    task = result["task"]
    cell.need("import numpy as np", "import pandas as pd")
    cell.add(
        f"target = {literal(result['target'])}",
        f"features = {literal(list(result['features']))}",
        "# The rows with a target value; the tool left out the other columns as "
        f"{literal(dict(result.get('dropped_columns') or {}))}.",
        f"rows = {frame}[{frame}[target].notna()]",
        "y = rows[target].astype(str)"
        if task == "classification"
        else "y = rows[target].astype(float)",
        "X = rows[features]",
    )
    ordered_by = time_column(result)
    if ordered_by is not None:
        cell.need("import math")
        cell.add(
            "# Time-indexed rows: the latest share is the test set (the seed chooses nothing).",
            f"order = pd.to_datetime(rows[{literal(ordered_by)}], errors='coerce', "
            "format='mixed').argsort(kind='stable').to_numpy()",
            f"n_test = math.ceil({literal(result['test_size'])} * len(rows))",
            "train_rows, test_rows = order[:-n_test], order[-n_test:]",
        )
    else:
        cell.need("from sklearn.model_selection import train_test_split")
        stratify = "y" if result["stratified"] else "None"
        cell.add(
            "train_rows, test_rows = train_test_split(",
            f"    np.arange(len(rows)), test_size={literal(result['test_size'])}, "
            f"random_state={literal(result['seed'])}, stratify={stratify}",
            ")",
        )
    cell.add(
        "X_train, X_test = X.iloc[train_rows], X.iloc[test_rows]",
        "y_train, y_test = y.iloc[train_rows], y.iloc[test_rows]",
    )
    _cap_code(cell, result)


def _cap_code(cell: Cell, result: Mapping[str, Any]) -> None:
    """The tool's sample of a large training part, when its notes say it took one."""
    notes = [str(note) for note in result.get("notes") or []]
    size = literal(result["n_train"])
    if any(note.startswith(SAMPLED) for note in notes):
        cell.add(
            f"# {SEARCH_CAP_NOTE}",
            f"X_train = X_train.sample({size}, random_state={literal(result['seed'])})",
            "y_train = y_train.loc[X_train.index]",
        )
    elif any(note.startswith(LATEST) for note in notes):
        cell.add(
            f"# {SEARCH_CAP_NOTE}",
            f"X_train, y_train = X_train.iloc[-{size}:], y_train.iloc[-{size}:]",
        )


def preprocessing_code(cell: Cell) -> None:
    """`with_preprocessing(estimator, scale)`: the pipeline of `ml.supervised.build_pipeline`."""
    cell.need(
        "from sklearn.compose import ColumnTransformer",
        "from sklearn.impute import SimpleImputer",
        "from sklearn.pipeline import Pipeline, make_pipeline",
        "from sklearn.preprocessing import OneHotEncoder, StandardScaler",
    )
    cell.add(
        "numeric = [c for c in features if pd.api.types.is_numeric_dtype(X[c])]",
        "categorical = [c for c in features if c not in numeric]",
        "",
        "",
        "def with_preprocessing(estimator, scale):",
        '    """Median-fill numbers (and standardise them for scale-sensitive models), fill and',
        '    one-hot encode text columns, then the model."""',
        "    numbers = SimpleImputer(strategy='median')",
        "    if scale:",
        "        numbers = make_pipeline(SimpleImputer(strategy='median'), StandardScaler())",
        "    text = make_pipeline(",
        "        SimpleImputer(strategy='most_frequent'),",
        "        OneHotEncoder(handle_unknown='infrequent_if_exist', max_categories=30, "
        "sparse_output=False),",
        "    )",
        "    preprocess = ColumnTransformer(",
        "        [('numeric', numbers, numeric), ('categorical', text, categorical)]",
        "    )",
        "    return Pipeline([('preprocess', preprocess), ('model', estimator)])",
        "",
        "",
    )


LABEL_ENCODED = """\
class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):
    \"\"\"XGBoost only accepts classes 0..n-1: fit it on encoded labels, answer in the labels.\"\"\"

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, x, y):
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(x, self.encoder_.transform(y))
        return self

    def predict(self, x):
        return self.encoder_.inverse_transform(self.estimator_.predict(x))

    def predict_proba(self, x):
        return self.estimator_.predict_proba(x)

"""


def _public_module(cls: type) -> str:
    """Where a class is imported from: the shortest public module that exports it
    (`sklearn.ensemble` for a class defined in `sklearn.ensemble._forest`, `xgboost` ...)."""
    parts = cls.__module__.split(".")
    for end in range(1, len(parts) + 1):
        if parts[end - 1].startswith("_"):
            break
        module = ".".join(parts[:end])
        if module != "sklearn" and hasattr(importlib.import_module(module), cls.__name__):
            return module
    return cls.__module__


def _call(cls: type, params: Mapping[str, Any]) -> str:
    arguments = ", ".join(f"{key}={literal(value)}" for key, value in params.items())
    return f"{cls.__name__}({arguments})"


def estimator_code(
    cell: Cell, name: str, task: str, seed: int, options: ModelOptions | None = None
) -> str:
    """The expression making family `name`'s estimator, as `ml.estimators.make_estimator`."""
    name = DEFAULT_MODEL if name == "auto" else name
    chosen = family(name, seed)
    spec = chosen.classifier if task == "classification" else chosen.regressor
    if spec is None:
        raise LookupError(f"the family {name} has no model for {task}")
    cls, params = spec
    if "random_state" in params:
        params = {**params, "random_state": seed}
    settings = option_parameters(name, task, options or ModelOptions())
    inner = params.get("estimator")
    if inner is not None:  # XGBoost's classifier, wrapped in a label encoder
        inner_cls = type(inner)
        cell.need(
            f"from {_public_module(inner_cls)} import {inner_cls.__name__}",
            "from sklearn.base import BaseEstimator, ClassifierMixin, clone",
            "from sklearn.preprocessing import LabelEncoder",
        )
        if LABEL_ENCODED not in cell.lines:
            cell.lines.insert(0, LABEL_ENCODED)
        inner_params = {
            key: value
            for key, value in inner.get_params(deep=False).items()
            if key in {"random_state", "n_jobs", "verbosity"}
        }
        return f"{cls.__name__}({_call(inner_cls, {**inner_params, **settings})})"
    cell.need(f"from {_public_module(cls)} import {cls.__name__}")
    return _call(cls, {**params, **settings})


def pipeline_code(
    cell: Cell, name: str, task: str, seed: int, options: ModelOptions | None = None
) -> str:
    """`with_preprocessing(<estimator>, <scale>)` for family `name`."""
    name = DEFAULT_MODEL if name == "auto" else name
    expression = estimator_code(cell, name, task, seed, options)
    return f"with_preprocessing({expression}, scale={family(name).scale})"


def metrics_code(cell: Cell, task: str) -> None:
    """`test_metrics(model)`: the held-out metrics of `ml.supervised.held_out_metrics`."""
    if task == "regression":
        cell.need(
            "from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error"
        )
        cell.add(
            "def test_metrics(fitted):",
            '    """RMSE, MAE and R² on the held-out rows."""',
            "    predicted = np.ravel(fitted.predict(X_test))",
            "    return {",
            "        'rmse': root_mean_squared_error(y_test, predicted),",
            "        'mae': mean_absolute_error(y_test, predicted),",
            "        'r2': r2_score(y_test, predicted),",
            "    }",
            "",
            "",
        )
        return
    cell.need(
        "from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, "
        "roc_auc_score"
    )
    cell.add(
        "def test_metrics(fitted):",
        '    """Accuracy, balanced accuracy, macro F1 (and ROC AUC for two classes, where the',
        '    model gives scores) on the held-out rows."""',
        "    predicted = np.ravel(fitted.predict(X_test))",
        "    metrics = {",
        "        'accuracy': accuracy_score(y_test, predicted),",
        "        'balanced_accuracy': balanced_accuracy_score(y_test, predicted),",
        "        'f1_macro': f1_score(y_test, predicted, average='macro'),",
        "    }",
        "    scored = hasattr(fitted, 'predict_proba') or hasattr(fitted, 'decision_function')",
        "    if len(fitted.classes_) == 2 and y_test.nunique() == 2 and scored:",
        "        if hasattr(fitted, 'predict_proba'):",
        "            scores = fitted.predict_proba(X_test)[:, 1]",
        "        else:",
        "            scores = fitted.decision_function(X_test)",
        "        metrics['roc_auc'] = roc_auc_score(y_test == fitted.classes_[1], scores)",
        "    return metrics",
        "",
        "",
    )


def print_metrics(cell: Cell, expression: str, prefix: str) -> None:
    """Print each metric of the dict `expression` as `<prefix> <name>: <value>` (4 decimals)."""
    cell.add(
        f"for name, value in {expression}.items():",
        f"    print({literal(prefix + ' ')} + f'{{name}}: {{value:.4f}}')",
    )


def options_of(args: Mapping[str, Any]) -> ModelOptions:
    """The model options a `train` call was given."""
    return ModelOptions(args.get("max_depth"), args.get("class_weight"))


def comment_lines(text: Iterable[str]) -> list[str]:
    return [f"# {line}" for line in text]
