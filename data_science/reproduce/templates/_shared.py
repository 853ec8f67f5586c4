"""What the data-side templates share: a tool's arguments with its defaults (and the dataset
they name), column names as the tool resolved them, and assembling a cell from its imports and
lines."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from data_science.reproduce.code import Names, Step

# Each tool's defaults, as its signature in `data_science.tools` has them (the tools are a layer
# above; tests/test_reproduce_safety.py checks that these match the signatures).
DEFAULTS: dict[str, dict[str, Any]] = {
    "analyze_dataset": {"std": "sample"},
    "preview_rows": {"n": 10, "position": "head", "columns": None},
    "describe_distribution": {
        "column": None, "z_threshold": 3.0, "std": "sample", "skew_kurtosis": "unbiased",
    },
    "correlations": {"columns": None, "method": "both", "top_k": 10},
    "group_by": {"value_columns": None, "aggregations": None, "std": "sample"},
    "value_counts": {"top_k": 20},
    "hypothesis_test": {"groups": None},
    "filter_rows": {"match": "all"},
    "derive_column": {"value": None, "bins": None, "labels": None, "part": None},
    "sort_rows": {"descending": False, "limit": None},
    "merge_datasets": {"right_on": None, "how": "inner"},
    "export_dataset": {"file_format": "csv"},
    "impute_missing": {"columns": None, "strategy": "median", "fill_value": None},
    "drop_columns": {},
    "rename_columns": {},
    "cast_column": {"to": "number"},
    "remove_duplicates": {"columns": None, "keep": "first"},
    "handle_outliers": {"columns": None, "method": "iqr", "action": "clip", "threshold": None},
    "scale_columns": {"columns": None, "method": "standard"},
    "encode_columns": {"method": "onehot", "target": None},
    "expand_dates": {},
    "text_to_tfidf": {"max_features": 100},
    "select_features": {
        "method": "univariate", "k": 10, "estimator": "linear", "keep_only_selected": False,
    },
    "regression_report": {
        "features": None, "kind": "auto", "held_out": False, "test_size": 0.2, "seed": 42,
        "stratify": True,
    },
    "plot": {"kind": "histogram", "x": None, "y": None, "color_by": None, "agg": None},
}  # fmt: skip


def arguments(step: Step) -> dict[str, Any]:
    """The step's arguments with the tool's defaults filled in."""
    given = {key: value for key, value in step.args.items() if value is not None}
    return {**DEFAULTS.get(step.tool, {}), **given}


def arguments_and_frame(step: Step, names: Names) -> tuple[dict[str, Any], str]:
    """The step's arguments (defaults filled in) and the variable holding the dataset its
    `dataset_id` names: the opening of every template of a tool that reads one dataset."""
    args = arguments(step)
    return args, names.frame(str(args["dataset_id"]))


def column(name: str, known: Iterable[str]) -> str:
    """`name` as the tool resolved it among the `known` columns its result names (the model may
    write `Body_Mass_G` for `body_mass_g`: case, spaces and underscores aside, as
    `tools.base.resolve_column`); `name` itself when the result does not say."""
    columns = [str(known_name) for known_name in known]
    if name in columns:
        return name
    folded = {_fold(known_name): known_name for known_name in columns}
    return folded.get(_fold(name), name)


def _fold(text: str) -> str:
    return "".join(text.lower().split()).replace("_", "")


def cell(imports: Iterable[str], *lines: str) -> str:
    """A cell: its imports (each once, sorted), a blank line, then its code."""
    heading = sorted(dict.fromkeys(imports))
    body = "\n".join(lines)
    return "\n".join(heading) + "\n\n" + body if heading else body


def comment(text: str) -> str:
    """`text` made safe to follow a `#`: every line break and control character becomes a
    space, so text from the data (a column name in a sentence) cannot end the comment."""
    return "".join(
        " " if unicodedata.category(character) in {"Cc", "Zl", "Zp"} else character
        for character in str(text)
    )
