"""Cores: `train` in the app against the same scikit-learn fit called directly, and /healthz.

Issue #17's target: with nothing else running, `train` on a 300k-row table takes at most 1.3x
the same fit called directly with the library's default threading (every core), and /healthz
p99 stays under 50 ms while it runs. The app is `main.py` in its own process; the offline model
turns "train a model to predict y" into a `train` call with the default family (scikit-learn's
HistGradientBoostingRegressor). The direct fit is that estimator on the same 80 % of the rows.
Run: `uv run python bench/cores.py [--rows N]` (prints the table, writes bench/results/cores.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import HealthProbe, met, new_session, running_app, turn, upload, write_table

FEATURES = 12
UPLOAD_LIMIT = 1_000_000_000  # 300k rows of full-precision floats pass the default 50 MB


def table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(rows, FEATURES))
    frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(FEATURES)])
    frame["y"] = (
        features[:, :4] @ [3.0, -2.0, 1.0, 0.5] + np.sin(features[:, 4]) + rng.normal(size=rows)
    )
    return frame


def direct_fit_seconds(frame: pd.DataFrame) -> float:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import train_test_split

    train, _ = train_test_split(frame, test_size=0.2, random_state=42)
    started = time.perf_counter()
    HistGradientBoostingRegressor(random_state=42).fit(train.drop(columns="y"), train["y"])
    return time.perf_counter() - started


def app_train(frame: pd.DataFrame, folder: Path) -> tuple[float, HealthProbe, dict[str, object]]:
    csv = folder / "table.csv"
    frame.to_csv(csv, index=False)
    with (
        running_app(folder / "data", {"MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as server,
        httpx.Client(base_url=server.url, timeout=1800) as http,
    ):
        session = new_session(http)
        upload(http, session, csv)
        turn(http, session, "list my files")  # the workers are warm, as on a serving app
        with HealthProbe(server.url) as probe:
            started = time.perf_counter()
            results = turn(http, session, "train a model to predict y")
            seconds = time.perf_counter() - started
    return seconds, probe, results["train"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    rows = parser.parse_args().rows
    frame = table(rows)
    direct = direct_fit_seconds(frame)
    with tempfile.TemporaryDirectory() as tmp:
        in_app, probe, trained = app_train(frame, Path(tmp))
    if trained["status"] != "ok":
        raise SystemExit(f"train failed: {trained}")
    p99 = probe.percentile(0.99)
    text = write_table(
        "cores",
        f"`train` on {rows:,} rows x {FEATURES} features ({trained['model']}), "
        f"{len(probe.latencies_ms)} /healthz probes",
        ["measure", "figure", "target", "met"],
        [
            ["direct fit, default threading", f"{direct:.1f} s", "", ""],
            ["`train` chat turn in the app", f"{in_app:.1f} s", "", ""],
            ["ratio", f"{in_app / direct:.2f}x", "1.3x", met(in_app / direct, 1.3)],
            ["/healthz p99 during `train`", f"{p99:.1f} ms", "50 ms", met(p99, 50)],
        ],
    )
    print(text)


if __name__ == "__main__":
    main()
