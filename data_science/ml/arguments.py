"""What the tools hand the computations: the option names they declare to the model and the
records of arguments they build, checked where the tool reads them.

Light on purpose (no scikit-learn, DuckDB or matplotlib): the server process imports this module,
the worker processes import the computations that use it (see runtime/remote.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from data_science.errors import ToolError
from data_science.storage.tables import TableFile

ModelName = Literal[
    "auto",
    "hist_gradient_boosting",
    "decision_tree",
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
class ModelOptions:
    """What a person may set on a family: the trees' depth and balanced class weights.

    Built where the tool reads its arguments, so a malformed value is refused at once; whether
    the family has the setting is checked when the estimator is made (`make_estimator`).
    """

    max_depth: int | None = None
    class_weight: str | None = None

    def __post_init__(self) -> None:
        if self.max_depth is not None and (isinstance(self.max_depth, bool) or self.max_depth < 1):
            raise ToolError(
                f"max_depth must be a whole number of at least 1 (or left empty for the "
                f"family's default); got {self.max_depth}.",
                "bad_max_depth",
            )
        if self.class_weight not in {None, "balanced"}:
            raise ToolError(
                f"class_weight can be 'balanced' (weigh classes by their inverse frequency) or "
                f"left empty; got '{self.class_weight}'.",
                "bad_class_weight",
            )


# Clustering (ml/clustering.py)
Method = Literal["kmeans", "dbscan", "agglomerative", "gaussian_mixture"]
Linkage = Literal["ward", "average", "complete"]
METHODS: tuple[str, ...] = get_args(Method)
LINKAGES: tuple[str, ...] = get_args(Linkage)


@dataclass(frozen=True)
class SqlLimits:
    """What one query may use, and how much of its result the model may see."""

    timeout_seconds: float
    memory_bytes: int
    threads: int
    max_rows: int
    max_columns: int
    preview_rows: int
    summary_only: bool


@dataclass(frozen=True)
class SessionTable:
    """One dataset of the chat: its id, its name and the handle a worker opens it with."""

    dataset_id: str
    name: str
    table: TableFile
