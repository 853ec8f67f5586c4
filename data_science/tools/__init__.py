"""The agent's tools, one module per family. `ALL_TOOLS` is what the agent is given."""

from collections.abc import Awaitable, Callable
from typing import Any

from data_science.tools.cluster import cluster
from data_science.tools.data import analyze_dataset, list_data_files
from data_science.tools.train import predict, train
from data_science.tools.viz import plot

ALL_TOOLS: list[Callable[..., Awaitable[dict[str, Any]]]] = [
    list_data_files,
    analyze_dataset,
    plot,
    train,
    predict,
    cluster,
]

__all__ = ["ALL_TOOLS", "analyze_dataset", "cluster", "list_data_files", "plot", "predict", "train"]
