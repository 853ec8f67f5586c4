"""Code templates for the tools of `data_science.tools.data`."""

from __future__ import annotations

from data_science.reproduce.code import Names, Step, code_for
from data_science.reproduce.templates._shared import arguments_and_frame, cell

STD_DDOF = {"sample": 1, "population": 0}
MAX_COLUMNS_DESCRIBED = 60  # data_science.ml.profile: wider tables are profiled in part


@code_for("list_data_files")
def list_data_files(step: Step, names: Names) -> str:
    datasets = step.result.get("datasets") or []
    return (
        "# list_data_files listed this chat's datasets and models; it computes nothing.\n"
        f"# Datasets then: {len(datasets)}."
    )


@code_for("analyze_dataset")
def analyze_dataset(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    ddof = STD_DDOF[str(args["std"])]
    frame = data
    lines = []
    if step.result.get("note"):  # only the first columns were profiled
        lines.append(f"profiled = {data}.iloc[:, :{MAX_COLUMNS_DESCRIBED}]")
        frame = "profiled"
    lines += [
        f'print("rows:", len({data}), "columns:", {data}.shape[1],'
        f' "duplicate rows:", int({data}.duplicated().sum()))',
        "# Per column: type, missing values (count and % of rows), distinct values",
        "profile = pd.DataFrame({",
        f'    "dtype": {frame}.dtypes.astype(str),',
        f'    "missing": {frame}.isna().sum(),',
        f'    "missing_pct": (100 * {frame}.isna().sum() / len({frame})).round(2),',
        f'    "unique": {frame}.nunique(),',
        "})",
        "print(profile.to_string())",
        "# Numeric columns (booleans are not numbers here): summary statistics",
        "numeric = [",
        f"    name for name in {frame}.columns",
        f"    if pd.api.types.is_numeric_dtype({frame}[name])"
        f" and not pd.api.types.is_bool_dtype({frame}[name])",
        "]",
        f"values = {frame}[numeric].astype(float)",
        "summary = pd.DataFrame({",
        '    "mean": values.mean(),',
        f'    "std": values.std(ddof={ddof}),  # {args["std"]} standard deviation',
        '    "min": values.min(),',
        '    "q1": values.quantile(0.25),',
        '    "median": values.median(),',
        '    "q3": values.quantile(0.75),',
        '    "max": values.max(),',
        "})",
        "print(summary.to_string())",
    ]
    return cell(["import pandas as pd"], *lines)
