"""The model families `train` can fit by name, one scikit-learn-compatible estimator each.

Every entry gives the classifier and the regressor of a family (None where the family has no
such model) and whether its numeric inputs need scaling. All are seeded for repeatable results
(seed 42 unless a tool is given another), and `ModelOptions` sets a tree depth or balanced class
weights on the families that have them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import Lasso, LinearRegression, LogisticRegression, Ridge, RidgeClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from data_science.errors import ToolError
from data_science.ml.arguments import ModelOptions
from data_science.ml.common import SEED
from data_science.runtime.workers import job_threads


@dataclass(frozen=True)
class Family:
    classifier: tuple[type, dict[str, Any]] | None
    regressor: tuple[type, dict[str, Any]] | None
    scale: bool = False
    max_train_rows: int | None = None
    note: str = field(default="")


def _lightgbm(kind: str, seed: int) -> tuple[type, dict[str, Any]]:
    import lightgbm

    cls = lightgbm.LGBMClassifier if kind == "classifier" else lightgbm.LGBMRegressor
    return cls, {"random_state": seed, "verbose": -1, "n_jobs": job_threads()}


def _xgboost(kind: str, seed: int) -> tuple[type, dict[str, Any]]:
    import xgboost

    params = {"random_state": seed, "n_jobs": job_threads(), "verbosity": 0}
    if kind == "classifier":
        return LabelEncodedClassifier, {"estimator": xgboost.XGBClassifier(**params)}
    return xgboost.XGBRegressor, params


class LabelEncodedClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Fits a classifier that only accepts labels 0..n-1 (XGBoost) on any labels."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator

    def fit(self, x: Any, y: Any) -> LabelEncodedClassifier:
        self.encoder_ = LabelEncoder().fit(y)
        self.classes_ = self.encoder_.classes_
        self.estimator_ = clone(self.estimator).fit(x, self.encoder_.transform(y))
        return self

    def predict(self, x: Any) -> Any:
        return self.encoder_.inverse_transform(self.estimator_.predict(x))

    def predict_proba(self, x: Any) -> Any:
        return self.estimator_.predict_proba(x)


def _catboost(kind: str, seed: int) -> tuple[type, dict[str, Any]]:
    import catboost

    cls = catboost.CatBoostClassifier if kind == "classifier" else catboost.CatBoostRegressor
    return cls, {
        "random_seed": seed,
        "verbose": 0,
        "thread_count": job_threads(),
        "allow_writing_files": False,
    }


FAMILIES: dict[str, Family] = {
    "decision_tree": Family(
        (DecisionTreeClassifier, {"random_state": SEED}),
        (DecisionTreeRegressor, {"random_state": SEED}),
    ),
    "hist_gradient_boosting": Family(
        (HistGradientBoostingClassifier, {"random_state": SEED}),
        (HistGradientBoostingRegressor, {"random_state": SEED}),
    ),
    "random_forest": Family(
        (RandomForestClassifier, {"random_state": SEED, "n_estimators": 200, "n_jobs": 1}),
        (RandomForestRegressor, {"random_state": SEED, "n_estimators": 200, "n_jobs": 1}),
    ),
    "extra_trees": Family(
        (ExtraTreesClassifier, {"random_state": SEED, "n_estimators": 200, "n_jobs": 1}),
        (ExtraTreesRegressor, {"random_state": SEED, "n_estimators": 200, "n_jobs": 1}),
    ),
    "gradient_boosting": Family(
        (GradientBoostingClassifier, {"random_state": SEED}),
        (GradientBoostingRegressor, {"random_state": SEED}),
    ),
    "logistic": Family((LogisticRegression, {"max_iter": 2000}), None, scale=True),
    # "linear" is a linear regression whatever the target (a 0/1 target included); the linear
    # classifier is "logistic".
    "linear": Family(None, (LinearRegression, {}), scale=True),
    "ridge": Family((RidgeClassifier, {}), (Ridge, {"random_state": SEED}), scale=True),
    "lasso": Family(
        (LogisticRegression, {"l1_ratio": 1.0, "solver": "saga", "max_iter": 5000}),
        (Lasso, {"random_state": SEED}),
        scale=True,
    ),
    "svm": Family(
        (SVC, {"probability": True, "random_state": SEED}),
        (SVR, {}),
        scale=True,
        max_train_rows=20_000,
        note="SVMs are trained on at most 20,000 rows",
    ),
    "knn": Family((KNeighborsClassifier, {}), (KNeighborsRegressor, {}), scale=True),
    "naive_bayes": Family((GaussianNB, {}), None, scale=True),
}
EXTERNAL = {"lightgbm": _lightgbm, "xgboost": _xgboost, "catboost": _catboost}
DEFAULT_MODEL = "hist_gradient_boosting"
# The parameter that bounds the depth of each family's trees (catboost calls it `depth`).
DEPTH_PARAMETER = {
    "decision_tree": "max_depth",
    "random_forest": "max_depth",
    "extra_trees": "max_depth",
    "gradient_boosting": "max_depth",
    "hist_gradient_boosting": "max_depth",
    "lightgbm": "max_depth",
    "xgboost": "max_depth",
    "catboost": "depth",
}
MAX_CATBOOST_DEPTH = 16
# The classifiers that can weigh classes by their inverse frequency (catboost by its own name).
BALANCED_PARAMETER = {
    **dict.fromkeys(
        (
            "decision_tree",
            "random_forest",
            "extra_trees",
            "hist_gradient_boosting",
            "lightgbm",
            "logistic",
            "ridge",
            "lasso",
            "svm",
        ),
        ("class_weight", "balanced"),
    ),
    "catboost": ("auto_class_weights", "Balanced"),
}


def family_names() -> list[str]:
    return sorted([*FAMILIES, *EXTERNAL])


def family_catalogue() -> list[dict[str, Any]]:
    """Each entry `train` knows, its tasks and the options it takes (describe_model_families)."""
    families: list[dict[str, Any]] = []
    for name in family_names():
        entry = FAMILIES.get(name)
        tasks = (
            ["classification", "regression"]
            if entry is None
            else [
                task
                for task, spec in (
                    ("classification", entry.classifier),
                    ("regression", entry.regressor),
                )
                if spec is not None
            ]
        )
        families.append(
            {
                "name": name,
                "tasks": tasks,
                "scaled_inputs": bool(entry and entry.scale),
                "max_depth": name in DEPTH_PARAMETER,
                "class_weight": name in BALANCED_PARAMETER,
                "note": entry.note if entry else "",
            }
        )
    return families


def family(name: str, seed: int = SEED) -> Family:
    name = DEFAULT_MODEL if name == "auto" else name
    if name in EXTERNAL:
        build = EXTERNAL[name]
        return Family(build("classifier", seed), build("regressor", seed))
    if name not in FAMILIES:
        raise ToolError(
            f"Unknown model '{name}'. Choose one of: auto, {', '.join(family_names())}.",
            "unknown_model",
        )
    return FAMILIES[name]


def make_estimator(
    name: str, task: str, seed: int = SEED, options: ModelOptions | None = None
) -> Any:
    """A fresh, unfitted estimator of family `name` for `task` (classification|regression),
    seeded with `seed` and with the `options` set (refused where the family lacks them)."""
    name = DEFAULT_MODEL if name == "auto" else name
    chosen = family(name, seed)
    spec = chosen.classifier if task == "classification" else chosen.regressor
    if spec is None:
        raise wrong_task(name, task)
    cls, params = spec
    if "random_state" in params:
        params = {**params, "random_state": seed}
    if "n_jobs" in params:  # this call's share of the cores (runtime/workers.py)
        params = {**params, "n_jobs": job_threads()}
    settings = option_parameters(name, task, options or ModelOptions())
    estimator = cls(**params)
    known = estimator.get_params(deep=True)
    for parameter, value in settings.items():
        # A wrapped estimator takes it by its nested name (XGBoost's classifier is wrapped in
        # a label encoder); CatBoost lists only the parameters it was given, so a name
        # found nowhere is set as it is.
        names = [key for key in known if key.endswith(f"__{parameter}")]
        if parameter in known or not names:
            names = [parameter]
        estimator.set_params(**dict.fromkeys(names, value))
    return estimator


def option_parameters(name: str, task: str, options: ModelOptions) -> dict[str, Any]:
    """The estimator parameters the options ask for; a family without them is refused."""
    settings: dict[str, Any] = {}
    if options.max_depth is not None:
        parameter = DEPTH_PARAMETER.get(name)
        if parameter is None:
            raise ToolError(
                f"max_depth applies to tree models; '{name}' has no trees. Use one of: "
                f"{', '.join(DEPTH_PARAMETER)}.",
                "option_not_supported",
            )
        if name == "catboost" and options.max_depth > MAX_CATBOOST_DEPTH:
            raise ToolError(
                f"catboost's trees are at most {MAX_CATBOOST_DEPTH} deep; got max_depth "
                f"{options.max_depth}.",
                "bad_max_depth",
            )
        settings[parameter] = options.max_depth
    if options.class_weight is not None:
        if task != "classification":
            raise ToolError(
                "class_weight balances classes, but this target is a number (regression). "
                "Leave class_weight empty.",
                "option_not_supported",
            )
        weighted = BALANCED_PARAMETER.get(name)
        if weighted is None:
            raise ToolError(
                f"'{name}' cannot weigh classes. Families that can: "
                f"{', '.join(BALANCED_PARAMETER)}.",
                "option_not_supported",
            )
        settings[weighted[0]] = weighted[1]
    return settings


def wrong_task(name: str, task: str) -> ToolError:
    """The error for a family that has no model for `task` (e.g. logistic for a number)."""
    other = "regression" if task == "classification" else "classification"
    instead = "logistic, random_forest" if name == "linear" else "random_forest"
    return ToolError(
        f"'{name}' is a {other} model but the target calls for {task}. Pick another model, "
        f"for example {instead} or hist_gradient_boosting.",
        "wrong_model_for_task",
    )
