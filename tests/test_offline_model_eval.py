"""The offline model's measured accuracy on its evaluation set, printed at the end of the run.

`offline_eval/requests.jsonl` is the development set the rules were tuned on. The four held-out
sets were each written before the rules were run on them (D, for filters, new columns, sorting,
SQL, the model and statistics options and two-step requests, before those rules existed); their
first-run scores are in the README's "Offline model" section (their misses were fixed afterwards,
so the scores printed here are no longer blind). Each request's decision must be the expected
tool with exactly the expected arguments (defaults left out), or the expected kind of reply (a
question, a note, the help text, the file list).
"""

from __future__ import annotations

import time

import pytest

from data_science.offline.intents.history import CATALOGUE_TOOL
from data_science.tools import ALL_TOOLS
from tests.offline_eval.datasets import SESSIONS
from tests.offline_eval.harness import Case, Report, evaluate, load

DEVELOPMENT = "requests.jsonl"
HELD_OUT = ("heldout.jsonl", "heldout_b.jsonl", "heldout_c.jsonl", "heldout_d.jsonl")
TARGET = 0.90


class AccuracySummary:
    """A pytest plugin that prints the accuracy table in the terminal summary, whatever `-s`."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_sep("=", "offline model accuracy (exact tool + arguments)")
        for line in self.lines:
            terminalreporter.write_line(line)


def summary(reports: dict[str, Report], seconds: float) -> list[str]:
    every = [outcome for report in reports.values() for outcome in report.outcomes]
    overall = Report(every)
    decisions = len(every)
    lines = [
        f"overall: {overall.accuracy:.1%} of {decisions} requests "
        f"({1000 * seconds / decisions:.1f} ms per request, earlier turns included)"
    ]
    for name, report in reports.items():
        lines.append(f"  {name}: {report.accuracy:.1%} of {len(report.outcomes)}")
    held_out = Report([o for name in HELD_OUT for o in reports[name].outcomes])
    lines.append(
        f"  held out, now: {held_out.accuracy:.1%} of {len(held_out.outcomes)} "
        "(first run, before their misses were fixed: see README)"
    )
    lines.append("per family (all sets):")
    for family, (passed, total) in overall.by_family().items():
        lines.append(f"  {family:<24} {passed:>3}/{total:<3} {passed / total:.0%}")
    for outcome in overall.failures():
        lines.append(f"  miss {outcome.case.id}: {outcome.case.say!r} -> {outcome.got}")
    return lines


def test_the_offline_model_meets_its_accuracy_target(request: pytest.FixtureRequest) -> None:
    started = time.perf_counter()
    reports = {name: evaluate(name) for name in (DEVELOPMENT, *HELD_OUT)}
    seconds = time.perf_counter() - started
    request.config.pluginmanager.register(
        AccuracySummary(summary(reports, seconds)), "offline-model-accuracy"
    )
    every = Report([o for report in reports.values() for o in report.outcomes])
    held_out = Report([o for name in HELD_OUT for o in reports[name].outcomes])
    assert every.accuracy >= TARGET, [o.case.id for o in every.failures()]
    assert held_out.accuracy >= TARGET, [o.case.id for o in held_out.failures()]
    assert seconds / len(every.outcomes) < 0.05, "a decision must take milliseconds"


def test_the_evaluation_set_is_large_varied_and_covers_every_tool() -> None:
    cases = [case for name in (DEVELOPMENT, *HELD_OUT) for case in load(name)]
    assert len(cases) >= 200
    assert len({case.data for case in cases}) >= 6
    assert {case.data for case in cases} <= set(SESSIONS)
    assert len({case.say.lower() for case in cases}) >= 0.95 * len(cases), "requests repeat"
    assert sum(bool(case.before) for case in cases) >= 30, "too few multi-turn cases"
    assert sum("reply" in case.expect for case in cases) >= 20, "too few ambiguous requests"
    expected = {case.expect.get("tool") for case in cases}
    untested = {tool.__name__ for tool in ALL_TOOLS} - expected - {CATALOGUE_TOOL}
    assert untested == {"describe_capabilities"}, untested  # answered by the help text instead


def test_held_out_requests_are_not_copies_of_development_requests() -> None:
    def conversation(case: Case) -> tuple[str, ...]:
        return (*case.before, case.say.lower())

    development = {conversation(case) for case in load(DEVELOPMENT)}
    held_out = {conversation(case) for name in HELD_OUT for case in load(name)}
    assert not development & held_out
