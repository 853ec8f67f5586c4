"""What the data-side templates share: a tool's arguments with its defaults, column names as
the tool resolved them, and assembling a cell from its imports and lines."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from data_science.reproduce.code import Step


def arguments(step: Step) -> dict[str, Any]:
    """The step's arguments with the tool's own defaults filled in (one source of truth: the
    tool's signature), so a template never restates a default."""
    from data_science.tools import ALL_TOOLS  # the tools import ADK: only when code is made

    tool = next((tool for tool in ALL_TOOLS if tool.__name__ == step.tool), None)
    defaults: dict[str, Any] = {}
    if tool is not None:
        for name, parameter in inspect.signature(tool).parameters.items():
            if parameter.default is not inspect.Parameter.empty:
                defaults[name] = parameter.default
    return {**defaults, **{key: value for key, value in step.args.items() if value is not None}}


def column(name: str, known: Iterable[str]) -> str:
    """`name` as the tool resolved it among the `known` columns its result names (the model may
    write `Body_Mass_G` for `body_mass_g`); `name` itself when the result does not say."""
    from data_science.errors import ToolError
    from data_science.tools.base import resolve_column

    columns = [str(known_name) for known_name in known]
    if name in columns or not columns:
        return name
    try:
        return resolve_column(columns, name)
    except ToolError:
        return name


def cell(imports: Iterable[str], *lines: str) -> str:
    """A cell: its imports (each once, sorted), a blank line, then its code."""
    heading = sorted(dict.fromkeys(imports))
    body = "\n".join(lines)
    return "\n".join(heading) + "\n\n" + body if heading else body
