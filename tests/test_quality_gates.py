"""The gates catch what they are for: each deliberately broken snippet makes its gate fail."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

from google.adk.evaluation.eval_case import IntermediateData, Invocation
from google.adk.evaluation.eval_metrics import EvalMetric
from google.genai import types

from scripts.audit_dependencies import judge, load_ignores
from tests.evals.metrics import calls_match, trajectory_with_id_placeholders

ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "pyproject.toml")


def gate(tmp_path: Path, source: str, *command: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "broken.py"
    path.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", *command, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ruff_fails_on_an_unused_import(tmp_path: Path) -> None:
    result = gate(tmp_path, "import os\n", "ruff", "check", "--config", CONFIG)
    assert result.returncode == 1 and "F401" in result.stdout


def test_mypy_fails_on_a_wrong_type(tmp_path: Path) -> None:
    result = gate(
        tmp_path, "def half(x: int) -> int:\n    return x / 2\n", "mypy", "--config-file", CONFIG
    )
    assert result.returncode == 1 and "Incompatible return value type" in result.stdout


def test_ruff_and_bandit_fail_on_a_shell_subprocess(tmp_path: Path) -> None:
    source = (
        "import subprocess\n\n\ndef run(cmd: str) -> None:\n    subprocess.run(cmd, shell=True)\n"
    )
    assert "S602" in gate(tmp_path, source, "ruff", "check", "--config", CONFIG).stdout
    bandit = gate(tmp_path, source, "bandit", "-c", CONFIG, "--severity-level", "medium", "-q")
    assert bandit.returncode == 1 and "B602" in bandit.stdout


def call(name: str, **args: object) -> types.FunctionCall:
    return types.FunctionCall(name=name, args=args)


def test_a_changed_trajectory_fails_the_eval_metric() -> None:
    expected = [call("list_data_files"), call("train", dataset_id="<dataset_id>", target="species")]
    same = [
        call("list_data_files"),
        call("train", dataset_id="ds_0123456789abcdef", target="species"),
    ]
    assert calls_match(expected, same)
    for changed in (
        [call("list_data_files"), call("train", dataset_id="ds_0123456789abcdef", target="island")],
        [call("list_data_files"), call("analyze_dataset", dataset_id="ds_0123456789abcdef")],
        [call("list_data_files")],
        [
            call("list_data_files"),
            call("train", dataset_id="mdl_0123456789abcdef", target="species"),
        ],
    ):
        assert not calls_match(expected, changed)

    def invocation(calls: list[types.FunctionCall]) -> Invocation:
        return Invocation(
            user_content=types.Content(role="user", parts=[types.Part(text="x")]),
            intermediate_data=IntermediateData(tool_uses=calls),
        )

    result = trajectory_with_id_placeholders(
        EvalMetric(metric_name="trajectory", threshold=1.0),
        [invocation([call("list_data_files")])],
        [invocation(expected)],
    )
    assert result.overall_score == 0.0 and result.overall_eval_status.name == "FAILED"


VULNERABLE_REPORT = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "2.10",
            "vulns": [
                {
                    "id": "PYSEC-2019-217",
                    "fix_versions": ["2.10.1"],
                    "aliases": ["CVE-2019-10906"],
                    "description": "sandbox escape",
                }
            ],
        },
        {"name": "pandas", "version": "2.3.3", "vulns": []},
    ],
    "fixes": [],
}


def ignore_file(tmp_path: Path, expires: dt.date) -> Path:
    path = tmp_path / "audit-ignore.toml"
    path.write_text(
        f'[[ignore]]\nid = "CVE-2019-10906"\npackage = "jinja2"\n'
        f'reason = "templates are ours"\nexpires = {expires.isoformat()}\n'
    )
    return path


def test_a_known_vulnerable_pin_fails_the_audit(tmp_path: Path) -> None:
    verdict = judge(VULNERABLE_REPORT, {}, [])
    assert verdict.failures == ["jinja2 2.10: PYSEC-2019-217 (fixed in 2.10.1)"]


def test_a_reviewed_unexpired_ignore_lets_it_pass(tmp_path: Path) -> None:
    today = dt.date(2026, 11, 24)
    ignores, problems = load_ignores(ignore_file(tmp_path, today + dt.timedelta(days=30)), today)
    assert judge(VULNERABLE_REPORT, ignores, problems).failures == []


def test_an_expired_ignore_fails(tmp_path: Path) -> None:
    today = dt.date(2026, 11, 24)
    ignores, problems = load_ignores(ignore_file(tmp_path, today - dt.timedelta(days=1)), today)
    verdict = judge(VULNERABLE_REPORT, ignores, problems)
    assert any("expired" in failure for failure in verdict.failures)
    assert any("PYSEC-2019-217" in failure for failure in verdict.failures)


def test_an_unreachable_service_is_reported_not_hidden() -> None:
    report = {"dependencies": [{"name": "pandas", "skip_reason": "Dependency not found on PyPI"}]}
    verdict = judge(report, {}, [])
    assert verdict.audited == 0 and verdict.failures == []
    assert "NOT AUDITED" in verdict.warnings[0]


def test_the_projects_ignore_file_is_valid() -> None:
    _, problems = load_ignores(ROOT / "security" / "audit-ignore.toml", dt.date.today())
    assert problems == []
