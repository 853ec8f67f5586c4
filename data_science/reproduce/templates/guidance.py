"""Code templates for the tools of `data_science.tools.guidance`. The help tools compute
nothing, so their cells are a comment; `suggest_next_steps` and `analyze_and_model` show the
facts their advice rests on."""

from __future__ import annotations

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments, arguments_and_frame, cell, comment


@code_for("describe_capabilities", "describe_model_families")
def help_tool(step: Step, names: Names) -> str:
    return f"# {step.tool} answered from the agent's own description; it computes nothing."


PROFILE = [
    'print("rows:", len({data}), "columns:", {data}.shape[1],'
    ' "duplicate rows:", int({data}.duplicated().sum()))',
    "missing = {data}.isna().sum()",
    'print("missing values per column:")',
    "print(missing[missing > 0].to_string())",
]


@code_for("suggest_next_steps")
def suggest_next_steps(step: Step, names: Names) -> str:
    data = names.frame(str(arguments(step)["dataset_id"]))
    suggested = [
        comment(f"# - {entry.get('tool')}: {entry.get('why')}")
        for entry in step.result.get("suggestions", [])
    ]
    return cell(
        [],
        "# The facts the suggestions rest on (missing values, column types); suggested then:",
        *suggested,
        *(line.format(data=data) for line in PROFILE),
        f"print({data}.dtypes.astype(str).to_string())",
    )


@code_for("analyze_and_model")
def analyze_and_model(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    result = step.result
    strong, baseline = result.get("strong_model", {}), result.get("baseline", {})
    target = literal(str(args["target"]))
    return cell(
        [],
        "# analyze_and_model: a profile, then a baseline and a strong model on the same split.",
        *(line.format(data=data) for line in PROFILE),
        "# The two models are those of `train` with the same target and split:",
        f"#   train(target={target}, model={literal(str(baseline.get('model')))})",
        f"#   train(target={target}, model={literal(str(strong.get('model')))})"
        f"  (kept as {literal(str(result['model_id']))})",
        comment(f"# split: {strong.get('split', '')}"),
        "# Their code is shown for a `train` step; this step's result does not carry the",
        "# full model report (features, cross-validation) that `train`'s code is written from.",
    )
