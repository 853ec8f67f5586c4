"""One AutoML run on the local pool against the same run on Ray with 1, 2 and all cores.

The run is the `automl` tool's job (`run_autogluon` through `workers.run_with_deadline`, the
preset and budget given here) on a table shipped with scikit-learn, so nothing is downloaded.
Each Ray run gets a fresh head (Ray's own CLI, tests/ray_cluster.py: a loopback-only network
namespace) with that many CPUs; the driver runs in the namespace like the app would. Printed
side by side: wall time, models trained, whether the budget cut the plan short, test accuracy,
and the ratio of each run's wall time to the local pool's.

Run: `uv run python bench/ray_scaling.py [--budget 60] [--preset medium_quality]` (prints the
table and writes it to bench/results/ray_scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import met, write_table
from data_science.runtime.workers import usable_cores

DEADLINE_MARGIN = 1.1
START_SECONDS = 15


def drive(budget: float, preset: str, out_dir: Path) -> dict[str, object]:
    """In the driver process: one AutoML run, through Ray when RAY_ADDRESS is set."""
    from sklearn.datasets import load_breast_cancer

    from data_science.config import load_settings
    from data_science.ml.automl import run_autogluon
    from data_science.runtime import ray_compute
    from data_science.runtime.workers import run_with_deadline
    from data_science.storage.tables import TableFile

    if problem := ray_compute.connect(load_settings()):
        sys.exit(problem)
    table_path = out_dir / "table.parquet"
    load_breast_cancer(as_frame=True).frame.to_parquet(table_path)
    started = time.perf_counter()
    report = asyncio.run(
        run_with_deadline(
            run_autogluon,
            TableFile(table_path, "parquet"),
            "target",
            out_dir / "predictor",
            budget,
            preset,
            time.time() + budget,
            deadline=budget * DEADLINE_MARGIN + START_SECONDS,
        )
    )
    seconds = time.perf_counter() - started
    ray_compute.disconnect()
    return {
        "seconds": round(seconds, 1),
        "models": len(report["leaderboard"]),
        "cut_short": report["cut_short"],
        "accuracy": round(report["test_metrics"]["accuracy"], 3),
    }


def run_driver(prefix: list[str], env: dict[str, str], budget: float, preset: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as tmp:
        done = subprocess.run(
            [*prefix, sys.executable, __file__, "--driver", tmp, "--budget", str(budget),
             "--preset", preset],
            env=env, capture_output=True, timeout=budget * 3 + 120,
        )  # fmt: skip
    if done.returncode:
        raise RuntimeError(done.stderr.decode(errors="replace")[-3000:])
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=60)
    parser.add_argument("--preset", default="medium_quality")
    parser.add_argument("--driver", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.driver:
        sys.stdout.write(json.dumps(drive(args.budget, args.preset, Path(args.driver))) + "\n")
        return
    from tests.ray_cluster import Namespace, RayHead

    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    rows = {"local pool": run_driver([], env, args.budget, args.preset)}
    cores = usable_cores()
    for cpus in sorted({1, 2, cores}):
        namespace = Namespace()
        try:
            head = RayHead(namespace, cpus=cpus)
            try:
                ray_env = {**head.env, "RAY_ADDRESS": head.address}
                rows[f"Ray, {cpus} CPU"] = run_driver(
                    namespace.prefix, ray_env, args.budget, args.preset
                )
            finally:
                head.close()
        finally:
            namespace.close()
    local = float(rows["local pool"]["seconds"])
    deadline = args.budget * DEADLINE_MARGIN + START_SECONDS
    lines = [
        [
            name,
            str(row["seconds"]),
            f"{float(row['seconds']) / local:.2f}",
            str(row["models"]),
            "yes" if row["cut_short"] else "no",
            str(row["accuracy"]),
            met(float(row["seconds"]), deadline),
        ]
        for name, row in rows.items()
    ]
    text = write_table(
        "ray_scaling",
        f"AutoGluon {args.preset}, budget {args.budget:.0f} s, breast_cancer (569 rows); "
        f"{cores} cores on this machine; the job's deadline is {deadline:.0f} s",
        ["run", "wall s", "vs local", "models", "cut short", "accuracy", "within deadline"],
        lines,
    )
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
