"""Plain-language replies that the offline model writes from a tool's result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from data_science.offline.intents import render_catalogue
from data_science.offline.intents.history import PREPARING
from data_science.offline.replies import data, models, other, rows
from data_science.offline.replies.format import sample_sentence

TRAINED = ("train", "tune_model", "train_ensemble", "search_models", "automl")
Renderer = Callable[[dict[str, Any]], str]
RENDERERS: dict[str, Renderer] = {
    "list_data_files": render_catalogue,
    "preview_rows": data.rows,
    "analyze_dataset": data.analysis,
    "describe_distribution": data.distribution,
    "correlations": data.correlations,
    "group_by": data.grouped,
    "value_counts": data.counts,
    "hypothesis_test": data.test,
    "merge_datasets": data.merged,
    "load_sheet": data.sheet,
    "export_dataset": data.download,
    "export_model": data.download,
    **dict.fromkeys(PREPARING - {"merge_datasets", "load_sheet"}, data.derived),
    **dict.fromkeys(TRAINED, models.trained),
    "analyze_and_model": models.one_shot,
    "cross_validate": models.validated,
    "select_features": models.selected,
    "predict": models.prediction,
    "plot_model": models.model_chart,
    "plot": other.chart,
    "auto_charts": other.overview,
    "cluster": other.clusters,
    "choose_k": other.choose_k,
    "find_anomalies": other.anomalies,
    "forecast": other.forecast,
    "decompose_series": other.decomposition,
    "describe_capabilities": other.capabilities,
    "describe_model_families": other.model_families,
    "suggest_next_steps": other.suggestions,
    "export_notebook": other.notebook,
    "show_code": other.code,
    "filter_rows": rows.filtered,
    "derive_column": rows.derived,
    "sort_rows": rows.sorted_rows,
    "run_sql": rows.queried,
    "regression_report": models.regression,
}


def render_result(tool_name: str, result: dict[str, Any]) -> str:
    """The answer to show after `tool_name` returned `result`; errors are explained as they are."""
    if result.get("status") == "error":
        return f"That did not work: {result.get('message', 'the tool reported an error')}"
    renderer = RENDERERS.get(tool_name)
    if renderer is None:
        return f"`{tool_name}` finished."
    try:
        reply = renderer(result)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A result shaped differently than expected must not crash the turn.
        return f"`{tool_name}` finished; its result has an unexpected shape, so no summary."
    sampled = sample_sentence(result)
    return f"{reply}\n\n{sampled}" if sampled else reply
