"""Algorithm selection with hyperparameter optimisation (FLAML) on the shared held-out split.

The design named auto-sklearn, which is unmaintained and pins scikit-learn < 0.25; FLAML does
the same job (cost-frugal search over model families and their settings under a time budget).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from data_science.ml.split import SplitOptions, held_out_split
from data_science.ml.supervised import held_out_metrics
from data_science.runtime.workers import job_threads
from data_science.storage.tables import TableFile

FIT_SHARE = 0.8
ESTIMATORS = {
    "classification": ["lgbm", "rf", "extra_tree", "lrl1", "kneighbor"],
    "regression": ["lgbm", "rf", "extra_tree", "kneighbor"],
}


def run_flaml(
    table: TableFile,
    target: str,
    model_path: Path,
    budget_seconds: float,
    options: SplitOptions | None = None,
) -> dict[str, Any]:
    """Search model families and hyperparameters on the training part; score the best on the
    test part (`options`: the split and the seed, which seeds the search too)."""
    from flaml.automl.automl import AutoML

    logging.getLogger("flaml.automl.logger").setLevel(logging.ERROR)
    split = held_out_split(table.load(), target, options)
    search = AutoML()  # type: ignore[no-untyped-call]  # flaml's constructor is untyped
    search.fit(
        split.x_train,
        split.y_train,
        task=split.task,
        time_budget=budget_seconds * FIT_SHARE,
        estimator_list=ESTIMATORS[split.task],
        seed=split.seed,
        verbose=0,
        n_jobs=job_threads(),  # this job's share of the cores (runtime/workers.py)
        eval_method="cv",
        n_splits=5,
    )
    predicted = np.ravel(search.predict(split.x_test))
    scores = None
    if split.task == "classification" and split.y_train.nunique() == 2:
        probabilities = search.predict_proba(split.x_test)  # type: ignore[no-untyped-call]
        scores = (probabilities[:, 1], search.classes_[1])
    joblib.dump(search, model_path)
    return {
        "task": split.task,
        "target": target,
        "model": f"FLAML best: {search.best_estimator}",
        "model_family": "flaml",
        "best_config": search.best_config,
        "best_cv_loss": float(search.best_loss),
        "families_tried": {
            name: float(loss)
            for name, loss in (search.best_loss_per_estimator or {}).items()
            if loss is not None and np.isfinite(loss)
        },
        "n_train": len(split.x_train),
        "n_test": len(split.x_test),
        "split": split.description,
        **split.settings,
        "test_metrics": held_out_metrics(split.y_test, predicted, split.task, scores),
        "features": split.plan.features,
        "dropped_columns": split.plan.dropped,
    }
