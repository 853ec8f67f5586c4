"""Code templates for the tools of `data_science.tools.rows`.

A condition is written for the kind of value it compares with, as the tool reads it: a number
compares the column as numbers, a text that reads as a number against an ordering compares
numbers too, other text orders as dates and otherwise compares as text. A missing value meets
no comparison (only `is_missing`).
"""

from __future__ import annotations

from typing import Any

from data_science.reproduce.code import Names, Step, code_for, literal
from data_science.reproduce.templates._shared import arguments_and_frame, cell, column

ORDER_OPS = frozenset({">", ">=", "<", "<="})
ARITHMETIC = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
DATE_PARTS = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "day": "day",
    "weekday": "dayofweek",  # 0 = Monday
    "hour": "hour",
}


def _number(value: Any) -> float | None:
    from data_science.ml.rows import number_or_none

    return number_or_none(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_dates(series: str) -> str:
    return f'pd.to_datetime({series}, format="mixed", errors="coerce")'


def comparison(series: str, op: str, value: Any) -> str:
    """`series op value` as a True/False expression, False where the series is missing."""
    text = False
    if isinstance(value, bool):
        left, right = series, literal(value)
    elif _is_number(value) or (op in ORDER_OPS and _number(value) is not None):
        left, right = f"{series}.astype(float)", literal(_number(value))
    elif op in ORDER_OPS:
        left, right = _as_dates(series), f"pd.Timestamp({literal(str(value))})"
    else:
        shown = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        left, right, text = f'{series}.astype("string")', literal(shown), True
    expression = f"({left} {op} {right})"
    if text:  # a missing text compares as missing: no match
        expression += ".fillna(False)"
    if op == "!=":  # a missing value is not "different": it meets no comparison
        expression = f"({expression} & {series}.notna())"
    return expression


def condition_code(frame: str, name: str, op: str, value: Any) -> str:
    """The rows of `frame` that meet one filter condition."""
    series = f"{frame}[{literal(name)}]"
    if op == "is_missing":
        return f"{series}.isna()"
    if op == "not_missing":
        return f"{series}.notna()"
    if op in {"contains", "starts_with", "ends_with"}:  # case ignored
        method = {"contains": "contains", "starts_with": "startswith", "ends_with": "endswith"}
        needle = literal(str(value).lower())
        extra = ", regex=False" if op == "contains" else ""
        return (
            f'{series}.astype("string").str.lower().str.{method[op]}({needle}{extra})'
            ".fillna(False).astype(bool)"
        )
    if op in {"in", "not_in"}:
        numbers = all(_is_number(item) for item in value)
        items = [_number(item) for item in value] if numbers else [str(item) for item in value]
        values = f"{series}.astype(float)" if numbers else f'{series}.astype("string")'
        member = f"{values}.isin({literal(items)}).fillna(False).astype(bool)"
        return f"{'' if op == 'in' else '~'}{member} & {series}.notna()"
    if op == "between":
        low, high = value
        return f"{comparison(series, '>=', low)} & {comparison(series, '<=', high)}"
    return comparison(series, op, value)


@code_for("filter_rows")
def filter_rows(step: Step, names: Names) -> str:
    from data_science.ml.rows import parse_conditions

    args, data = arguments_and_frame(step, names)
    known = step.result.get("columns") or []
    joiner = "\n    & " if args["match"] == "all" else "\n    | "
    masks = [
        condition_code(data, column(parsed.column, known), parsed.op, parsed.value)
        for parsed in parse_conditions(list(args["conditions"]))
    ]
    made = names.new_frame(str(step.result["dataset_id"]))
    return cell(
        ["import pandas as pd"],
        f"keep = (  # {'every' if args['match'] == 'all' else 'any'} condition\n    "
        + joiner.join(masks)
        + "\n)",
        f"{made} = {data}[keep].reset_index(drop=True)",
        f'print("kept", len({made}), "of", len({data}), "rows")',
    )


@code_for("sort_rows")
def sort_rows(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    known = step.result.get("columns") or []
    by = list(dict.fromkeys(column(str(name), known) for name in args["by"]))
    made = names.new_frame(str(step.result["dataset_id"]))
    limit = args.get("limit")
    lines = [
        f"{made} = {data}.sort_values(",
        f"    {literal(by)}, ascending={not args['descending']}, kind='stable', na_position='last'",
        ")" + (f".head({int(limit)})" if limit is not None else "") + ".reset_index(drop=True)",
        f'print("rows:", len({data}), "->", len({made}))',
    ]
    return cell([], *lines)


@code_for("derive_column")
def derive_column(step: Step, names: Names) -> str:
    args, data = arguments_and_frame(step, names)
    known = step.result.get("columns") or []
    inputs = list(dict.fromkeys(column(str(name), known) for name in args["columns"]))
    name = str(args["name"]).strip()
    lines, imports = _derivation(data, str(args["operation"]), inputs, args, step.result)
    made = names.new_frame(str(step.result["dataset_id"]))
    lines += [
        f"{made} = {data}.copy()",
        f"{made}[{literal(name)}] = values",
        f'print("rows:", len({made}))',
        f"print({made}[{literal([name, *inputs])}].head(10).to_string())",
    ]
    return cell(["import pandas as pd", *imports], *lines)


def _derivation(
    data: str, operation: str, inputs: list[str], args: dict[str, Any], result: Any
) -> tuple[list[str], list[str]]:
    """The lines computing `values`, the new column, and the imports they need."""
    first = f"{data}[{literal(inputs[0])}]"
    if operation in ARITHMETIC:
        symbol = ARITHMETIC[operation]
        if len(inputs) == 2:
            second = f"{data}[{literal(inputs[1])}].astype(float)"
            lines = [f"values = {first}.astype(float) {symbol} {second}"]
            if operation == "divide":
                lines.append(f"values[{second} == 0] = float('nan')  # division by zero: missing")
            return lines, []
        return [f"values = {first}.astype(float) {symbol} {literal(_number(args['value']))}"], []
    if operation in {"sum", "mean", "min", "max"}:
        extra = "min_count=1" if operation == "sum" else ""
        call = f"{operation}(axis=1{', ' + extra if extra else ''})"
        return [f"values = {data}[{literal(inputs)}].astype(float).{call}"], []
    if operation in ORDER_OPS | {"==", "!="}:
        if len(inputs) == 2:
            second = f"{data}[{literal(inputs[1])}]"
            flag = f"({first} {operation} {second}) & {first}.notna() & {second}.notna()"
            missing = f"{first}.isna() | {second}.isna()"
        else:
            flag, missing = comparison(first, operation, args["value"]), f"{first}.isna()"
        return [f'values = ({flag}).astype("boolean").mask({missing})'], []
    if operation == "bin":
        return _bins(first, args, result), ["import numpy as np"]
    if operation == "length":
        return [f'values = {first}.astype("string").str.len().astype("Int64")'], []
    if operation == "date_part":
        part = DATE_PARTS[str(args["part"])]
        return [f'values = {_as_dates(first)}.dt.{part}.astype("Int64")'], []
    if operation == "log":  # natural log; 0 or less gives a missing value
        return [f"values = np.log({first}.astype(float).where({first} > 0))"], [
            "import numpy as np"
        ]
    return [f"values = {first}.astype(float).abs()"], []


def _bins(first: str, args: dict[str, Any], result: Any) -> list[str]:
    from data_science.ml.derive import _interval_labels

    bins = args.get("bins")
    edges = [float(edge) for edge in result.get("edges", [])]
    if isinstance(bins, int) and not isinstance(bins, bool):  # equal-count bins
        lines = [
            f"edges = sorted(set({first}.dropna().astype(float)"
            f".quantile(np.linspace(0, 1, {bins + 1})).tolist()))"
        ]
    else:
        lines = [f"edges = {literal(edges)}"]
    labels = [str(label) for label in args.get("labels") or _interval_labels(edges)]
    lines += [
        f"labels = {literal(labels)}  # the first bin includes its lower edge",
        f"values = pd.cut({first}.astype(float), edges, labels=labels, include_lowest=True,"
        f" ordered={len(set(labels)) == len(labels)}).astype('string')",
    ]
    return lines
