"""Rebuild `offline_model.test.json` from `cases.py`: `uv run python tests/evals/build_evalsets.py`.

Each case runs through the real agent (offline model, real tools, a temporary DATA_DIR). The
tool calls it makes must equal the ones written in the case, or the build stops; the final
answers are recorded as the reference answers.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np
import pandas as pd
from google.adk.artifacts.in_memory_artifact_service import InMemoryArtifactService
from google.adk.evaluation.eval_case import EvalCase, IntermediateData, Invocation, SessionInput
from google.adk.evaluation.eval_set import EvalSet
from google.adk.runners import Runner
from google.adk.sessions.in_memory_session_service import InMemorySessionService
from google.genai import types
from palmerpenguins import load_penguins

from tests.evals.cases import CASES, Case, Turn
from tests.evals.metrics import calls_match

OUTPUT = Path(__file__).with_name("offline_model.test.json")
USER = "eval-user"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def monthly_sales() -> bytes:
    """Four years of monthly sales: a trend, a yearly season and seeded noise."""
    months = pd.date_range("2020-01-01", periods=48, freq="MS")
    season = 20 * np.sin(np.arange(48) * 2 * np.pi / 12)
    noise = np.random.default_rng(42).normal(0, 3, 48)
    sales = (100 + season + np.arange(48) + noise).round(2)
    frame = pd.DataFrame({"month": months.date, "sales": sales})
    return frame.to_csv(index=False).encode()


def attachment_bytes(name: str) -> tuple[bytes, str]:
    if name == "penguins.csv":
        return load_penguins().to_csv(index=False).encode(), "text/csv"
    if name == "sales.csv":
        return monthly_sales(), "text/csv"
    if name == "page.csv":
        return HTML, "text/csv"
    raise ValueError(f"unknown attachment {name}")


def user_content(turn: Turn) -> types.Content:
    parts = []
    if turn.attach:
        data, mime = attachment_bytes(turn.attach)
        parts.append(
            types.Part(inline_data=types.Blob(data=data, mime_type=mime, display_name=turn.attach))
        )
    if turn.text:
        parts.append(types.Part(text=turn.text))
    return types.Content(role="user", parts=parts)


def expected_calls(turn: Turn) -> list[types.FunctionCall]:
    return [types.FunctionCall(name=name, args=args) for name, args in turn.calls]


async def record(case: Case) -> EvalCase:
    from data_science.agent import build_app
    from data_science.config import load_settings

    sessions = InMemorySessionService()
    runner = Runner(
        app=build_app(load_settings()),
        session_service=sessions,
        artifact_service=InMemoryArtifactService(),
    )
    session = await sessions.create_session(app_name="data_science", user_id=USER)
    conversation = []
    for index, turn in enumerate(case.turns):
        events = [
            event
            async for event in runner.run_async(
                user_id=USER, session_id=session.id, new_message=user_content(turn)
            )
        ]
        actual = [call for event in events for call in event.get_function_calls()]
        if not calls_match(expected_calls(turn), actual):
            raise SystemExit(
                f"{case.case_id}, turn {index + 1} ({turn.text!r}): expected "
                f"{turn.calls}, got {[(c.name, c.args) for c in actual]}"
            )
        failures = [
            response.response
            for event in events
            for response in event.get_function_responses()
            if (response.response or {}).get("error") == "internal_error"
        ]
        if failures:
            raise SystemExit(f"{case.case_id}, turn {index + 1}: a tool crashed: {failures}")
        final = next(
            event.content
            for event in reversed(events)
            if event.content and any(part.text for part in event.content.parts or [])
        )
        conversation.append(
            Invocation(
                invocation_id=f"{case.case_id}-{index + 1}",
                user_content=user_content(turn),
                final_response=types.Content(
                    role="model", parts=[p for p in final.parts or [] if p.text]
                ),
                intermediate_data=IntermediateData(tool_uses=expected_calls(turn)),
            )
        )
    await runner.close()
    return EvalCase(
        eval_id=case.case_id,
        conversation=conversation,
        session_input=SessionInput(app_name="data_science", user_id=USER, state={}),
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ["DATA_DIR"] = data_dir
        cases = [await record(case) for case in CASES]
    eval_set = EvalSet(
        eval_set_id="offline_model", name="Offline model: every tool family", eval_cases=cases
    )
    OUTPUT.write_text(eval_set.model_dump_json(indent=1, exclude_none=True) + "\n")
    print(f"wrote {len(cases)} cases to {OUTPUT.relative_to(ROOT)}")


if __name__ == "__main__":
    asyncio.run(main())
