"""The agent's tools, one module per family. `ALL_TOOLS` is what the agent is given."""

from collections.abc import Awaitable, Callable
from typing import Any

from data_science.tools.analysis import (
    correlations,
    describe_distribution,
    group_by,
    hypothesis_test,
    preview_rows,
    value_counts,
)
from data_science.tools.automl import automl, search_models
from data_science.tools.cluster import choose_k, cluster, find_anomalies
from data_science.tools.code import run_python
from data_science.tools.data import analyze_dataset, list_data_files
from data_science.tools.features import select_features
from data_science.tools.files import export_dataset, export_model, load_sheet, merge_datasets
from data_science.tools.guidance import (
    analyze_and_model,
    describe_capabilities,
    describe_model_families,
    suggest_next_steps,
)
from data_science.tools.notebook import export_notebook, show_code
from data_science.tools.prep import (
    cast_column,
    drop_columns,
    encode_columns,
    expand_dates,
    handle_outliers,
    impute_missing,
    remove_duplicates,
    rename_columns,
    scale_columns,
    text_to_tfidf,
)
from data_science.tools.query import run_sql
from data_science.tools.regression import regression_report
from data_science.tools.router import open_tools
from data_science.tools.rows import derive_column, filter_rows, sort_rows
from data_science.tools.timeseries import decompose_series, forecast
from data_science.tools.train import predict, train
from data_science.tools.tuning import cross_validate, train_ensemble, tune_model
from data_science.tools.viz import auto_charts, plot, plot_model

Tool = Callable[..., Awaitable[dict[str, Any]]]

# Each tool belongs to exactly one family: a hosted model is sent the declarations of the
# families it opened (`open_tools`, plugins/tool_families.py), the offline model all of them.
# A new tool is one line here; a new family also needs its entry in prompts.FAMILIES.
# fmt: off
TOOL_FAMILIES: dict[str, list[Tool]] = {
    "help": [describe_capabilities, describe_model_families, suggest_next_steps, analyze_and_model],
    "files": [list_data_files, preview_rows, load_sheet, merge_datasets, export_dataset],
    "explore": [analyze_dataset, describe_distribution, value_counts, group_by],
    "statistics": [correlations, hypothesis_test, regression_report],
    "rows": [filter_rows, derive_column, sort_rows, run_sql],
    "charts": [plot, auto_charts, plot_model],
    "cleaning": [
        impute_missing, drop_columns, rename_columns, cast_column, remove_duplicates,
        handle_outliers,
    ],
    "features": [scale_columns, encode_columns, expand_dates, text_to_tfidf, select_features],
    "models": [train, predict, cross_validate, export_model],
    "tuning": [tune_model, train_ensemble, search_models, automl],
    "clusters": [cluster, choose_k, find_anomalies],
    "timeseries": [forecast, decompose_series],
    "work": [show_code, export_notebook],
    "code": [run_python],
}
# fmt: on

# Offered to hosted models only, where the code sandbox works (`agent.offers_code_execution`):
# the offline model never writes code, so it is not given a tool it cannot use.
HOSTED_ONLY_TOOLS: list[Tool] = [run_python]

# What the offline model gets: every family's tools but the hosted-only ones.
ALL_TOOLS: list[Tool] = [
    function
    for tools in TOOL_FAMILIES.values()
    for function in tools
    if function not in HOSTED_ONLY_TOOLS
]

# What a hosted model always gets, whatever is open: the tool that opens families.
ROUTER_TOOLS: list[Tool] = [open_tools]

__all__ = ["ALL_TOOLS", "HOSTED_ONLY_TOOLS", "ROUTER_TOOLS", "TOOL_FAMILIES", "Tool"]
