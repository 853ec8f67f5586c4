"""The agent's tool set: every tool declared to the model, described, and named in the prompt."""

from google.adk.tools.function_tool import FunctionTool

from data_science.prompts import ATTACHMENT_MARKER, INSTRUCTION
from data_science.tools import ALL_TOOLS


def test_every_tool_builds_a_declaration_for_the_model() -> None:
    names = [FunctionTool(function)._get_declaration().name for function in ALL_TOOLS]
    assert len(names) == len(set(names))
    for function in ALL_TOOLS:
        assert function.__doc__ and len(function.__doc__) > 80, function.__name__


def test_the_instruction_names_every_tool() -> None:
    missing = [f.__name__ for f in ALL_TOOLS if f"`{f.__name__}`" not in INSTRUCTION]
    assert missing == []


def test_the_instruction_names_the_attachment_marker_the_notes_begin_with() -> None:
    assert f"`{ATTACHMENT_MARKER}` notes" in INSTRUCTION
