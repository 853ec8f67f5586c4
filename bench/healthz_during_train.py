"""How quickly /healthz answers while a model trains, against an idle server.

Starts the real app (`main.py`) on a free port, uploads a 150,000-row CSV, and probes /healthz
every 50 ms: idle, during the first chat turn, and while the offline model trains on the CSV.
The target (issue: foundation) is "well under 100 ms while a train call is running".
Run: `uv run python bench/healthz_during_train.py`
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import LiveServer

ROWS = 150_000


async def probe(url: str, until: asyncio.Task[object] | None, count: int = 40) -> list[float]:
    latencies = []
    async with httpx.AsyncClient(base_url=url) as http:
        while (until is None and len(latencies) < count) or (
            until is not None and not until.done()
        ):
            started = time.perf_counter()
            (await http.get("/healthz", timeout=60)).raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.05)
    return latencies


def describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return (
        f"n={len(ordered):4d}  p50={statistics.median(ordered):7.1f} ms  "
        f"p95={p95:7.1f} ms  max={ordered[-1]:7.1f} ms"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rng = np.random.default_rng(7)
        features = rng.normal(size=(ROWS, 12))
        frame = pd.DataFrame(features, columns=[f"f{i}" for i in range(12)])
        frame["label"] = np.where(features[:, :3].sum(axis=1) + rng.normal(size=ROWS) > 0, "a", "b")
        csv = Path(tmp) / "big.csv"
        frame.to_csv(csv, index=False)
        server = LiveServer(Path(tmp) / "data").start()
        try:
            idle = await probe(server.url, None)
            async with httpx.AsyncClient(base_url=server.url, timeout=600) as http:
                session = (
                    await http.post("/apps/data_science/users/bench/sessions", json={})
                ).json()
                with csv.open("rb") as handle:
                    (
                        await http.post(
                            "/api/uploads",
                            data={"user_id": "bench", "session_id": session["id"]},
                            files={"file": ("big.csv", handle)},
                        )
                    ).raise_for_status()

                def body_for(text: str) -> dict[str, object]:
                    return {
                        "appName": "data_science",
                        "userId": "bench",
                        "sessionId": session["id"],
                        "newMessage": {"role": "user", "parts": [{"text": text}]},
                    }

                first = asyncio.create_task(http.post("/run", json=body_for("list my files")))
                first_turn = await probe(server.url, first)
                body = body_for("train a model to predict label")
                started = time.perf_counter()
                training = asyncio.create_task(http.post("/run", json=body))
                busy = await probe(server.url, training)
                (await training).raise_for_status()
                duration = time.perf_counter() - started
        finally:
            server.stop()

    print(f"/healthz latency, idle server          : {describe(idle)}")
    print(f"/healthz latency, first chat turn      : {describe(first_turn)}")
    print(f"/healthz latency, during train ({duration:4.1f} s): {describe(busy)}")


if __name__ == "__main__":
    asyncio.run(main())
