"""The agent's tool set: every tool declared to the model, described, and named in the prompt."""

from google.adk.tools.function_tool import FunctionTool

from data_science.prompts import ATTACHMENT_MARKER, INSTRUCTION, render_instruction
from data_science.tools import ALL_TOOLS, TOOL_FAMILIES


def test_every_tool_builds_a_declaration_for_the_model() -> None:
    names = [FunctionTool(function)._get_declaration().name for function in ALL_TOOLS]
    assert len(names) == len(set(names))
    for function in ALL_TOOLS:
        assert function.__doc__ and len(function.__doc__) > 80, function.__name__


def test_the_instruction_names_every_tool_in_its_family_line() -> None:
    families = {name: [f.__name__ for f in tools] for name, tools in TOOL_FAMILIES.items()}
    instruction = render_instruction([], families)
    lines = {line.split(":")[0][2:]: line for line in instruction.splitlines() if line[:2] == "- "}
    missing = [
        (family, tool)
        for family, tools in families.items()
        for tool in tools
        if f"`{tool}`" not in lines.get(family, "")
    ]
    assert missing == []


def test_the_instruction_names_the_attachment_marker_the_notes_begin_with() -> None:
    assert f"`{ATTACHMENT_MARKER}` notes" in INSTRUCTION
