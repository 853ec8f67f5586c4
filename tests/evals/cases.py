"""The offline model's evaluation cases: what a person says and the tool calls it must cause.

To add a case, append a `Case` below and run `uv run python tests/evals/build_evalsets.py`:
it runs each case through the real agent, checks the calls you wrote down, records the
answers as references and rewrites `offline_model.test.json`. Ids are written as
`<dataset_id>` / `<model_id>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATA = "<dataset_id>"
MODEL = "<model_id>"
LIST = ("list_data_files", {})


@dataclass
class Turn:
    text: str
    calls: list[tuple[str, dict[str, Any]]]
    attach: str | None = None  # "penguins.csv", "sales.csv" or "page.csv" (HTML posing as CSV)


@dataclass
class Case:
    case_id: str
    turns: list[Turn] = field(default_factory=list)


def single(case_id: str, text: str, *calls: tuple[str, dict[str, Any]]) -> Case:
    """A one-message case: the penguins file attached to the request itself."""
    return Case(case_id, [Turn(text, list(calls), attach="penguins.csv")])


def follow_up(case_id: str, first: Turn, *then: Turn) -> Case:
    """A conversation: later turns refer back to earlier ones."""
    return Case(case_id, [first, *then])


CASES = [
    single("describe", "describe the data", LIST, ("analyze_dataset", {"dataset_id": DATA})),
    single(
        "missing_values",
        "Which columns have missing values?",
        LIST,
        ("analyze_dataset", {"dataset_id": DATA}),
    ),
    single(
        "histogram",
        "plot a histogram of body mass",
        LIST,
        ("plot", {"dataset_id": DATA, "kind": "histogram", "x": "body_mass_g"}),
    ),
    single(
        "scatter",
        "plot bill length against bill depth",
        LIST,
        (
            "plot",
            {"dataset_id": DATA, "kind": "scatter", "y": "bill_length_mm", "x": "bill_depth_mm"},
        ),
    ),
    single(
        "scatter_by_colour",
        "scatter flipper length vs body mass by species",
        LIST,
        (
            "plot",
            {
                "dataset_id": DATA,
                "kind": "scatter",
                "y": "flipper_length_mm",
                "x": "body_mass_g",
                "color_by": "species",
            },
        ),
    ),
    single(
        "train_classifier",
        "train a model to predict species",
        LIST,
        ("train", {"dataset_id": DATA, "target": "species"}),
    ),
    single(
        "train_regressor_with_typos",
        "trian a modle to predict body mas",
        LIST,
        ("train", {"dataset_id": DATA, "target": "body_mass_g"}),
    ),
    single(
        "cluster_with_k",
        "cluster the penguins into 3 groups",
        LIST,
        ("cluster", {"dataset_id": DATA, "n_clusters": 3}),
    ),
    single("list_files", "list my files", LIST),
    single("help", "what can you do?"),
    single("missing_target_is_asked_for", "train a model", LIST),
    Case(
        "attach_then_ask",
        [
            Turn("", [], attach="penguins.csv"),
            Turn("summarise it", [LIST, ("analyze_dataset", {"dataset_id": DATA})]),
            Turn(
                "now a histogram of flipper length",
                [
                    LIST,
                    ("plot", {"dataset_id": DATA, "kind": "histogram", "x": "flipper_length_mm"}),
                ],
            ),
        ],
    ),
    Case(
        "train_then_predict",
        [
            Turn(
                "train a model to predict sex",
                [LIST, ("train", {"dataset_id": DATA, "target": "sex"})],
                attach="penguins.csv",
            ),
            Turn(
                "use the model to make predictions",
                [LIST, ("predict", {"model_id": MODEL, "dataset_id": DATA})],
            ),
        ],
    ),
    Case(
        "predict_then_download",
        [
            Turn(
                "train a model to predict species",
                [LIST, ("train", {"dataset_id": DATA, "target": "species"})],
                attach="penguins.csv",
            ),
            Turn(
                "apply the model to the data",
                [LIST, ("predict", {"model_id": MODEL, "dataset_id": DATA})],
            ),
            Turn(
                "download the predictions as Excel",
                [LIST, ("export_dataset", {"dataset_id": DATA, "file_format": "xlsx"})],
            ),
            Turn("download the model", [LIST, ("export_model", {"model_id": MODEL})]),
        ],
    ),
    Case(
        "refused_attachment",
        [
            Turn("", [], attach="page.csv"),
            Turn("describe the data", [LIST]),
        ],
    ),
    single(
        "preview_rows",
        "show me the first 5 rows",
        LIST,
        ("preview_rows", {"dataset_id": DATA, "n": 5}),
    ),
    single(
        "group_by",
        "average body mass per species",
        LIST,
        (
            "group_by",
            {
                "dataset_id": DATA,
                "group_columns": ["species"],
                "value_columns": ["body_mass_g"],
                "aggregations": ["mean"],
            },
        ),
    ),
    single(
        "correlation_pair",
        "how strongly are flipper length and body mass corelated",
        LIST,
        ("correlations", {"dataset_id": DATA, "columns": ["flipper_length_mm", "body_mass_g"]}),
    ),
    single(
        "hypothesis_test",
        "is body mass different between the sexes? t-test",
        LIST,
        (
            "hypothesis_test",
            {"dataset_id": DATA, "test": "t_test", "column": "body_mass_g", "group_column": "sex"},
        ),
    ),
    single(
        "impute",
        "fill the missing values with the median",
        LIST,
        ("impute_missing", {"dataset_id": DATA, "strategy": "median"}),
    ),
    single(
        "box_plot",
        "boxplot of flipper length by island",
        LIST,
        ("plot", {"dataset_id": DATA, "kind": "box", "x": "island", "y": "flipper_length_mm"}),
    ),
    single("model_families", "which models can I use?", ("describe_model_families", {})),
    single(
        "ambiguous_column_is_asked_about",
        "plot length",
        LIST,
    ),
    follow_up(
        "histogram_then_the_same_for_another_column",
        Turn(
            "histogram of body mass",
            [LIST, ("plot", {"dataset_id": DATA, "kind": "histogram", "x": "body_mass_g"})],
            attach="penguins.csv",
        ),
        Turn(
            "do the same for flipper length",
            [LIST, ("plot", {"dataset_id": DATA, "kind": "histogram", "x": "flipper_length_mm"})],
        ),
        Turn(
            "by sex",
            [
                LIST,
                (
                    "plot",
                    {
                        "dataset_id": DATA,
                        "kind": "histogram",
                        "x": "flipper_length_mm",
                        "color_by": "sex",
                    },
                ),
            ],
        ),
    ),
    follow_up(
        "cluster_then_another_k",
        Turn(
            "cluster the penguins into 3 groups",
            [LIST, ("cluster", {"dataset_id": DATA, "n_clusters": 3})],
            attach="penguins.csv",
        ),
        Turn("use 4 clusters instead", [LIST, ("cluster", {"dataset_id": DATA, "n_clusters": 4})]),
    ),
    follow_up(
        "counts_then_plot_it",
        Turn(
            "how many penguins of each species",
            [LIST, ("value_counts", {"dataset_id": DATA, "column": "species"})],
            attach="penguins.csv",
        ),
        Turn("now plot it", [LIST, ("plot", {"dataset_id": DATA, "kind": "bar", "x": "species"})]),
    ),
    follow_up(
        "question_then_answer_then_model_chart",
        Turn("train a model", [LIST], attach="penguins.csv"),
        Turn("species", [LIST, ("train", {"dataset_id": DATA, "target": "species"})]),
        Turn(
            "show the confusion matrix",
            [LIST, ("plot_model", {"model_id": MODEL, "kind": "confusion_matrix"})],
        ),
    ),
    follow_up(
        "forecast_then_a_longer_horizon",
        Turn(
            "forecast sales for the next 6 months",
            [
                LIST,
                (
                    "forecast",
                    {
                        "dataset_id": DATA,
                        "time_column": "month",
                        "value_column": "sales",
                        "horizon": 6,
                    },
                ),
            ],
            attach="sales.csv",
        ),
        Turn(
            "make it 12 instead",
            [
                LIST,
                (
                    "forecast",
                    {
                        "dataset_id": DATA,
                        "time_column": "month",
                        "value_column": "sales",
                        "horizon": 12,
                    },
                ),
            ],
        ),
    ),
]
