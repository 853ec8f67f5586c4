"""Code templates for the tools of `data_science.tools.files`."""

from __future__ import annotations

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments, arguments_and_frame, cell

# data_science.storage.exports: text a spreadsheet would run as a formula gets a leading '.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


@code_for("merge_datasets")
def merge_datasets(step: Step, names: Names) -> str:
    args = arguments(step)
    left = names.frame(str(args["left_dataset_id"]))
    right = names.frame(str(args["right_dataset_id"]))
    left_on = [str(name) for name in args["on"]]
    right_on = [str(name) for name in args.get("right_on") or left_on]
    made = names.new_frame(str(step.result["dataset_id"]))
    return cell(
        [],
        f"merged = {left}.merge(",
        f"    {right},",
        f"    how={literal(str(args['how']))},",
        f"    left_on={literal(left_on)},",
        f"    right_on={literal(right_on)},",
        '    suffixes=("", "_right"),  # a clashing right column gets "_right"',
        "    indicator=True,",
        ")",
        "# matched rows (both), rows only on the left, rows only on the right",
        'print(merged["_merge"].value_counts().to_string())',
        f'{made} = merged.drop(columns="_merge")',
        f'print("rows:", len({made}), "left rows:", len({left}), "right rows:", len({right}))',
    )


@code_for("load_sheet")
def load_sheet(step: Step, names: Names) -> str:
    args = arguments(step)
    dataset_id = str(args["dataset_id"])
    # The workbook the dataset was read from (its first sheet); an upload has a Source.
    source = names.source(dataset_id)
    file_name = source.file_name if source is not None else f"{dataset_id}.xlsx"
    made = names.new_frame(str(step.result["dataset_id"]))
    return cell(
        [],
        f"{made} = pd.read_excel(DATA / {literal(file_name)},"
        f" sheet_name={literal(str(args['sheet']))}, engine='openpyxl')",
        f'print("rows:", len({made}), "columns:", {made}.shape[1])',
    )


@code_for("export_dataset")
def export_dataset(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    file_name = str(step.result["file"])
    writer = (
        f"safe.to_excel({literal(file_name)}, sheet_name='data', index=False)"
        if args["file_format"] == "xlsx"
        else f"safe.to_csv({literal(file_name)}, index=False)"
    )
    return cell(
        [],
        "def formula_safe(value):",
        '    """Text a spreadsheet would run as a formula gets a leading quote."""',
        f"    if isinstance(value, str) and value.startswith({literal(FORMULA_PREFIXES)}):",
        '        return "\'" + value',
        "    return value",
        "",
        f"safe = {data}.copy()",
        "for name in safe.columns:  # numbers and dates stay as they are",
        "    if not (pd.api.types.is_numeric_dtype(safe[name])"
        " or pd.api.types.is_datetime64_any_dtype(safe[name])):",
        "        safe[name] = safe[name].map(formula_safe)",
        "safe.columns = [formula_safe(str(name)) for name in safe.columns]",
        writer,
        f'print("rows:", len(safe), "file:", {literal(file_name)})',
    )
