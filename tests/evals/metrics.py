"""Eval metrics for the offline model, used by ADK's AgentEvaluator through test_config.json.

Ids of uploaded and derived items are random per session, so expected tool arguments name them
with placeholders (`<dataset_id>`, `<model_id>`): a placeholder matches any id of that kind;
every other argument must be equal. Final answers are compared after the same id folding.
"""

from __future__ import annotations

import re
from typing import Any

from google.adk.evaluation.eval_case import ConversationScenario, Invocation, get_all_tool_calls
from google.adk.evaluation.eval_metrics import EvalMetric, EvalStatus
from google.adk.evaluation.evaluator import EvaluationResult, PerInvocationResult

PLACEHOLDERS = {
    "<dataset_id>": re.compile(r"^ds_[0-9a-f]{16}$"),
    "<model_id>": re.compile(r"^mdl_[0-9a-f]{16}$"),
}
ANY_ID = re.compile(r"(?:ds|mdl|img|zip)_[0-9a-f]{16}")
WORD = re.compile(r"\w+")


def _argument_matches(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and expected in PLACEHOLDERS:
        return isinstance(actual, str) and bool(PLACEHOLDERS[expected].match(actual))
    return bool(expected == actual)


def calls_match(expected: list[Any], actual: list[Any]) -> bool:
    """Same tools in the same order, with the same arguments (ids by kind)."""
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        want_args, got_args = dict(want.args or {}), dict(got.args or {})
        if want.name != got.name or set(want_args) != set(got_args):
            return False
        if not all(_argument_matches(want_args[key], got_args[key]) for key in want_args):
            return False
    return True


def _result(
    scores: list[float], threshold: float, pairs: list[tuple[Invocation, Invocation]]
) -> EvaluationResult:
    def status(score: float) -> EvalStatus:
        return EvalStatus.PASSED if score >= threshold else EvalStatus.FAILED

    per_invocation = [
        PerInvocationResult(
            actual_invocation=actual,
            expected_invocation=expected,
            score=score,
            eval_status=status(score),
        )
        for score, (actual, expected) in zip(scores, pairs, strict=True)
    ]
    overall = sum(scores) / len(scores) if scores else 1.0
    return EvaluationResult(
        overall_score=overall,
        overall_eval_status=status(overall),
        per_invocation_results=per_invocation,
    )


def _pairs(
    actual: list[Invocation], expected: list[Invocation] | None
) -> list[tuple[Invocation, Invocation]]:
    if expected is None or len(expected) != len(actual):
        raise ValueError("every eval case needs one expected invocation per turn")
    return list(zip(actual, expected, strict=True))


def trajectory_with_id_placeholders(
    eval_metric: EvalMetric,
    actual_invocations: list[Invocation],
    expected_invocations: list[Invocation] | None,
    conversation_scenario: ConversationScenario | None = None,
) -> EvaluationResult:
    """1.0 for a turn whose tool calls match the expected ones exactly (ids by kind), else 0."""
    pairs = _pairs(actual_invocations, expected_invocations)
    scores = [
        1.0
        if calls_match(
            get_all_tool_calls(expected.intermediate_data),
            get_all_tool_calls(actual.intermediate_data),
        )
        else 0.0
        for actual, expected in pairs
    ]
    return _result(scores, eval_metric.threshold or 1.0, pairs)


def final_text(invocation: Invocation) -> str:
    parts = invocation.final_response.parts if invocation.final_response else None
    return " ".join(part.text for part in parts or [] if part.text)


def token_f1(reference: str, answer: str) -> float:
    """Overlap of the words of two answers (ids folded), as an F1 score from 0 to 1."""
    want = WORD.findall(ANY_ID.sub("ID", reference).lower())
    got = WORD.findall(ANY_ID.sub("ID", answer).lower())
    if not want and not got:
        return 1.0
    common = sum(min(want.count(word), got.count(word)) for word in set(want))
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def answer_matches_reference(
    eval_metric: EvalMetric,
    actual_invocations: list[Invocation],
    expected_invocations: list[Invocation] | None,
    conversation_scenario: ConversationScenario | None = None,
) -> EvaluationResult:
    """Word-overlap F1 between each final answer and its reference answer (ids folded)."""
    pairs = _pairs(actual_invocations, expected_invocations)
    scores = [token_f1(final_text(expected), final_text(actual)) for actual, expected in pairs]
    return _result(scores, eval_metric.threshold or 0.9, pairs)
