"""The model families `train` can fit by name, one scikit-learn-compatible estimator each.

Every entry gives the classifier and the regressor of a family (None where the family has no
such model) and whether its numeric inputs need scaling. All are seeded for repeatable results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

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

from data_science.errors import ToolError
from data_science.ml.common import SEED

ModelName = Literal[
    "auto",
    "hist_gradient_boosting",
    "random_forest",
    "extra_trees",
    "gradient_boosting",
    "lightgbm",
    "xgboost",
    "catboost",
    "logistic",
    "linear",
    "ridge",
    "lasso",
    "svm",
    "knn",
    "naive_bayes",
]


@dataclass(frozen=True)
class Family:
    classifier: tuple[type, dict[str, Any]] | None
    regressor: tuple[type, dict[str, Any]] | None
    scale: bool = False
    max_train_rows: int | None = None
    note: str = field(default="")


def _lightgbm(kind: str) -> tuple[type, dict[str, Any]]:
    import lightgbm

    cls = lightgbm.LGBMClassifier if kind == "classifier" else lightgbm.LGBMRegressor
    return cls, {"random_state": SEED, "verbose": -1, "n_jobs": 1}


def _xgboost(kind: str) -> tuple[type, dict[str, Any]]:
    import xgboost

    params = {"random_state": SEED, "n_jobs": 1, "verbosity": 0}
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


def _catboost(kind: str) -> tuple[type, dict[str, Any]]:
    import catboost

    cls = catboost.CatBoostClassifier if kind == "classifier" else catboost.CatBoostRegressor
    return cls, {"random_seed": SEED, "verbose": 0, "thread_count": 1, "allow_writing_files": False}


FAMILIES: dict[str, Family] = {
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
    "linear": Family((LogisticRegression, {"max_iter": 2000}), (LinearRegression, {}), scale=True),
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


def family_names() -> list[str]:
    return sorted([*FAMILIES, *EXTERNAL])


def family(name: str) -> Family:
    name = DEFAULT_MODEL if name == "auto" else name
    if name in EXTERNAL:
        build = EXTERNAL[name]
        return Family(build("classifier"), build("regressor"))
    if name not in FAMILIES:
        raise ToolError(
            f"Unknown model '{name}'. Choose one of: auto, {', '.join(family_names())}.",
            "unknown_model",
        )
    return FAMILIES[name]


def make_estimator(name: str, task: str) -> Any:
    """A fresh, unfitted estimator of family `name` for `task` (classification|regression)."""
    chosen = family(name)
    spec = chosen.classifier if task == "classification" else chosen.regressor
    if spec is None:
        raise wrong_task(name, task)
    cls, params = spec
    return cls(**params)


def wrong_task(name: str, task: str) -> ToolError:
    """The error for a family that has no model for `task` (e.g. logistic for a number)."""
    other = "regression" if task == "classification" else "classification"
    return ToolError(
        f"'{name}' is a {other} model but the target calls for {task}. Pick another model, "
        "for example random_forest or hist_gradient_boosting.",
        "wrong_model_for_task",
    )
