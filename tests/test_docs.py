"""The README stays true: every setting documented, the two commands shown, CI runs the tests."""

from pathlib import Path

from data_science.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in Settings.model_fields if f"`{name}`" not in readme]
    assert missing == []


def test_readme_shows_the_two_commands_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "uv run main.py" in readme and "uv run pytest" in readme
    assert "uv run pytest" in (ROOT / ".ci" / "run").read_text()
