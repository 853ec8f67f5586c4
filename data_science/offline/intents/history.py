"""The conversation so far, as the rules need it: earlier requests and the tool calls they caused.

"Now plot it", "use 5 clusters instead" or "download it" refer to the previous step; the
working dataset after a cleaning step is the cleaned one. Both are read from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CATALOGUE_TOOL = "list_data_files"
# Tools that describe the chat rather than work on its data: never "the previous step".
ABOUT_THE_CHAT = frozenset({CATALOGUE_TOOL, "show_code", "export_notebook"})
# Tools whose new dataset is the data to keep working on (not a result to look at).
PREPARING = frozenset(
    {
        "impute_missing", "drop_columns", "rename_columns", "cast_column", "remove_duplicates",
        "handle_outliers", "scale_columns", "encode_columns", "expand_dates", "text_to_tfidf",
        "merge_datasets", "load_sheet", "filter_rows", "derive_column",
    }
)  # fmt: skip
# Tools whose result is a new dataset or a new model (a second step in the same request uses it).
MAKES_DATASET = PREPARING | {
    "sort_rows", "run_sql", "predict", "cluster", "find_anomalies", "forecast", "select_features",
}  # fmt: skip
MAKES_MODEL = frozenset(
    {"train", "tune_model", "train_ensemble", "search_models", "automl", "analyze_and_model"}
)
MODELLING = frozenset(
    {
        "train", "cross_validate", "tune_model", "train_ensemble", "search_models", "automl",
        "select_features", "analyze_and_model", "plot_model", "predict", "export_model",
    }
)  # fmt: skip


@dataclass
class Call:
    """One tool call of an earlier turn, with the tool's answer (empty if it is not known)."""

    name: str
    args: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.result.get("status", "ok") != "error")

    @property
    def output_dataset(self) -> str | None:
        """The id of the dataset this call made, if it made one."""
        produced = self.result.get("dataset_id")
        if not self.ok or not isinstance(produced, str) or produced == self.args.get("dataset_id"):
            return None
        return produced


@dataclass
class Exchange:
    """One earlier turn: what the person said, the calls it caused, and whether it ended in a
    question back to them (then a short next message is read as the answer)."""

    text: str
    calls: list[Call] = field(default_factory=list)
    asked: bool = False


@dataclass
class History:
    exchanges: list[Exchange] = field(default_factory=list)

    def calls(self) -> list[Call]:
        return [call for exchange in self.exchanges for call in exchange.calls if call.ok]

    def last(self) -> Call | None:
        """The previous step: the latest successful call on the data (not listing the files,
        showing code or exporting the chat)."""
        steps = [call for call in self.calls() if call.name not in ABOUT_THE_CHAT]
        return steps[-1] if steps else None

    def last_of(self, names: frozenset[str]) -> Call | None:
        steps = [call for call in self.calls() if call.name in names]
        return steps[-1] if steps else None

    def prepared_dataset(self) -> str | None:
        """The dataset the latest cleaning or preparation step made."""
        step = self.last_of(PREPARING)
        return step.output_dataset if step else None

    def model_id(self) -> str | None:
        """The model the latest modelling step made or used."""
        for call in reversed(self.calls()):
            model = call.result.get("model_id") or call.args.get("model_id")
            if call.name in MODELLING and isinstance(model, str):
                return model
        return None
