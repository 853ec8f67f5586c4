"""Which rows a model learns from and which it is tested on: the task, the feature columns, and
the held-out split with its options (test fraction, seed, stratification).

Every training and evaluation tool splits through `held_out_split`, so a model's test rows are
the same whichever tool made it, and a chart of the model can rebuild them from its report.
Pure functions with no ADK import, so they can run in a worker process.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data_science.errors import ToolError
from data_science.ml.common import SEED, is_row_id

TEST_SIZE = 0.2
MIN_ROWS = 20
# Each side of a split needs enough rows to learn from and to score on.
MIN_TRAIN_ROWS = 10
MIN_TEST_ROWS = 4
MAX_SEED = 2**32 - 1  # numpy's seeds
MAX_CLASSES_FOR_NUMERIC_TARGET = 20
TIME_NAME = re.compile(r"date|time|timestamp|month|period|day", re.IGNORECASE)


@dataclass(frozen=True)
class SplitOptions:
    """How to split: the test fraction, the seed, and whether classes keep their shares.

    Built where a tool reads its arguments, so a wrong value is refused before any work starts.
    """

    test_size: float = TEST_SIZE
    seed: int = SEED
    stratify: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.test_size, bool) or not 0 < self.test_size < 1:
            raise ToolError(
                f"test_size must be a fraction strictly between 0 and 1; got {self.test_size}. "
                "For a 70/30 split use test_size=0.3.",
                "bad_test_size",
            )
        if isinstance(self.seed, bool) or not 0 <= self.seed <= MAX_SEED:
            raise ToolError(
                f"seed must be a whole number from 0 to {MAX_SEED}; got {self.seed}.", "bad_seed"
            )

    @property
    def shares(self) -> str:
        """ "80/20" for a test_size of 0.2."""
        test = round(100 * self.test_size, 1)
        return f"{round(100 - test, 1):g}/{test:g}"


@dataclass(frozen=True)
class FeaturePlan:
    numeric: list[str]
    categorical: list[str]
    dropped: dict[str, str]

    @property
    def features(self) -> list[str]:
        return self.numeric + self.categorical


def detect_task(target: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(target) or not pd.api.types.is_numeric_dtype(target):
        return "classification"
    distinct = target.nunique(dropna=True)
    if pd.api.types.is_integer_dtype(target) and distinct <= MAX_CLASSES_FOR_NUMERIC_TARGET:
        return "classification"
    return "regression"


def model_task(target: pd.Series, model: str, name: str) -> str:
    """The task a model family gives the target `name`: as detected, except that "linear" is
    always a linear regression, so a 0/1 (or other numeric) target is modelled as a number.

    "linear" on text classes cannot be a regression and is refused, pointing at "logistic".
    """
    task = detect_task(target)
    if model != "linear" or task == "regression":
        return task
    if not pd.api.types.is_numeric_dtype(target):  # booleans count as 0/1 numbers
        raise ToolError(
            f"'linear' is a linear regression and needs a numeric target, but '{name}' holds "
            "classes (text). Use model='logistic' for a linear classifier.",
            "wrong_model_for_task",
        )
    return "regression"


def plan_features(frame: pd.DataFrame, target: str) -> FeaturePlan:
    """Choose feature columns; say why each other column was left out."""
    numeric, categorical, dropped = [], [], {}
    rows = len(frame)
    for column in frame.columns:
        if column == target:
            continue
        series = frame[column]
        distinct = series.nunique(dropna=True)
        if is_row_id(str(column), distinct, rows):
            dropped[column] = "row identifier"
        elif distinct <= 1:
            dropped[column] = "constant"
        elif pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            numeric.append(column)
        elif pd.api.types.is_datetime64_any_dtype(series):
            dropped[column] = "date/time (expand it into parts first)"
        elif distinct > max(50, 0.5 * rows):
            dropped[column] = "free text or identifier (too many distinct values)"
        else:
            categorical.append(column)
    if not numeric and not categorical:
        raise ToolError(
            f"No usable feature columns remain besides '{target}'. Dropped: {dropped}.",
            code="no_features",
        )
    return FeaturePlan(numeric, categorical, dropped)


def labelled_rows(
    frame: pd.DataFrame, target: str, purpose: str, model: str = "auto"
) -> tuple[pd.DataFrame, str, FeaturePlan, pd.Series]:
    """The rows with a value for `target`, the task, the feature plan and the labels (text for
    classification, floats for regression); too few rows or a single class is explained,
    naming the `purpose`."""
    labelled = frame[frame[target].notna()]
    if len(labelled) < MIN_ROWS:
        raise ToolError(
            f"Only {len(labelled)} rows have a value for '{target}'; at least {MIN_ROWS} are "
            f"needed {purpose}.",
            code="too_few_rows",
        )
    task = model_task(labelled[target], model, target)
    plan = plan_features(labelled, target)
    labels = labelled[target]
    if task == "classification":
        labels = labels.astype(str)
        if labels.nunique() < 2:
            raise ToolError(f"'{target}' has a single class; nothing to predict.", "single_class")
    elif pd.api.types.is_bool_dtype(labels):
        labels = labels.astype(float)
    return labelled, task, plan, labels


@dataclass(frozen=True)
class RowSplit:
    """Positions of the training and the test rows, and how they were chosen."""

    train: np.ndarray
    test: np.ndarray
    options: SplitOptions
    task: str
    stratified: bool
    time_column: str | None = None
    unstratified_because: str = ""

    @property
    def description(self) -> str:
        """One sentence part saying how the rows were split, for every report."""
        shares, seed = self.options.shares, self.options.seed
        if self.time_column:
            test_pct = f"{100 * self.options.test_size:g} %"
            return (
                f"{shares} temporal on '{self.time_column}' (the latest {test_pct} is the test "
                "set; seed and stratify do not choose the rows of a time-ordered split)"
            )
        if self.stratified:
            return f"{shares}, seed {seed}, stratified"
        return f"{shares}, seed {seed}" + (
            f", not stratified ({self.unstratified_because})" if self.unstratified_because else ""
        )

    @property
    def settings(self) -> dict[str, Any]:
        """The split as numbers a report carries (and `plot_model` rebuilds it from)."""
        return {
            "test_size": self.options.test_size,
            "seed": self.options.seed,
            "stratified": self.stratified,
        }


def split_rows(
    frame: pd.DataFrame, labels: pd.Series, task: str, options: SplitOptions, target: str
) -> RowSplit:
    """Split the rows of `frame` (one per label): the latest rows are the test set when a
    date column orders them in time, else a seeded random share, stratified for classes."""
    rows = len(frame)
    if rows < MIN_TRAIN_ROWS + MIN_TEST_ROWS:
        raise ToolError(
            f"{rows} rows are too few to hold some out: a split needs at least "
            f"{MIN_TRAIN_ROWS} training and {MIN_TEST_ROWS} test rows.",
            "too_few_rows",
        )
    n_test = math.ceil(options.test_size * rows)
    if n_test < MIN_TEST_ROWS or rows - n_test < MIN_TRAIN_ROWS:
        # The range's ends rounded inwards to 3 decimals, so both ends work as given.
        low = math.ceil(1000 * MIN_TEST_ROWS / rows) / 1000
        high = math.floor(1000 * (rows - MIN_TRAIN_ROWS) / rows) / 1000
        raise ToolError(
            f"A test_size of {options.test_size:g} leaves {rows - n_test} training and {n_test} "
            f"test rows of {rows}; at least {MIN_TRAIN_ROWS} training and {MIN_TEST_ROWS} test "
            f"rows are needed. With {rows} rows, use a test_size between {low:g} and {high:g}.",
            "bad_test_size",
        )
    time_column = find_time_column(frame, target)
    if time_column is not None:
        order = pd.to_datetime(frame[time_column], errors="coerce", format="mixed").argsort(
            kind="stable"
        )
        positions = np.asarray(order)
        cut = rows - n_test
        return RowSplit(positions[:cut], positions[cut:], options, task, False, time_column)
    stratify, reason = _stratify_labels(labels, task, options, n_test)
    from sklearn.model_selection import (
        train_test_split,
    )  # workers only: the server imports this module

    train, test = train_test_split(
        np.arange(rows), test_size=options.test_size, random_state=options.seed, stratify=stratify
    )
    return RowSplit(train, test, options, task, stratify is not None, None, reason)


def _stratify_labels(
    labels: pd.Series, task: str, options: SplitOptions, n_test: int
) -> tuple[pd.Series | None, str]:
    """The labels to stratify by (None: a plain random split) and, if none, why not."""
    if task == "regression":
        return None, "the target is numeric; stratify applies to classes"
    if not options.stratify:
        return None, ""
    counts = labels.value_counts()
    if counts.min() < 2:
        return None, f"class '{counts.idxmin()}' has a single row"
    n_train = len(labels) - n_test
    if min(n_test, n_train) < len(counts):
        raise ToolError(
            f"A stratified split needs a row of each of the {len(counts)} classes on both sides, "
            f"but a test_size of {options.test_size:g} gives {n_train} training and {n_test} "
            "test rows. Use a test_size nearer 0.5, or stratify=false.",
            "bad_test_size",
        )
    return labels, ""


@dataclass(frozen=True)
class HeldOutSplit:
    """The one split every model of a target is trained and scored on."""

    task: str
    plan: FeaturePlan
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series
    rows: RowSplit

    @property
    def stratified(self) -> bool:
        return self.rows.stratified

    @property
    def time_column(self) -> str | None:
        return self.rows.time_column

    @property
    def seed(self) -> int:
        return self.rows.options.seed

    @property
    def description(self) -> str:
        return self.rows.description

    @property
    def settings(self) -> dict[str, Any]:
        return self.rows.settings

    def cross_validation_folds(self, folds: int) -> Any:
        """Time-ordered folds for time-indexed data (never train on the future), else k-fold."""
        from sklearn.model_selection import TimeSeriesSplit  # workers only (see split_rows)

        return TimeSeriesSplit(n_splits=folds) if self.time_column else folds


def find_time_column(frame: pd.DataFrame, target: str) -> str | None:
    """The column that orders the rows in time, if there is one (dates, not years)."""
    for column in frame.columns:
        if column != target and pd.api.types.is_datetime64_any_dtype(frame[column]):
            return str(column)
    for column in frame.columns:
        if column == target or not TIME_NAME.search(str(column)):
            continue
        if pd.api.types.is_numeric_dtype(frame[column]):
            continue
        parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
        if parsed.notna().mean() >= 0.9:
            return str(column)
    return None


def held_out_split(
    frame: pd.DataFrame,
    target: str,
    options: SplitOptions | None = None,
    model: str = "auto",
) -> HeldOutSplit:
    """Rows with a target, split by `options` (default 80/20, seed 42, stratified for classes):
    by time when the rows are time-indexed (the latest share is the test set), else at random.
    `model` matters only for "linear", which makes a numeric target a regression."""
    labelled, task, plan, labels = labelled_rows(frame, target, "to train and test a model", model)
    rows = split_rows(labelled, labels, task, options or SplitOptions(), target)
    features = labelled[plan.features]
    return HeldOutSplit(
        task,
        plan,
        features.iloc[rows.train],
        features.iloc[rows.test],
        labels.iloc[rows.train],
        labels.iloc[rows.test],
        rows,
    )
