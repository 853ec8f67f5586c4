"""Code templates for the tools of `data_science.tools.code`: `run_python`'s code, verbatim.

The sandbox (`runtime/sandbox_child.py`) gave the code copies of the chat's datasets as
`datasets` (by id) and `df` (when exactly one was loaded), and `save_dataset` / `save_chart`.
The cell defines the same names around the code, so it runs in a notebook as it ran in the
sandbox, and binds what it saved to the variables later steps use.
"""

from __future__ import annotations

from data_science.reproduce.code import Names, Step, code_for, literal

HELPERS = '''\
def save_dataset(frame, name):
    """Keep a DataFrame as a new dataset (the sandbox's normalisation: a Series becomes a
    frame, index keys become columns, column names become text)."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None):
        frame = frame.reset_index()
    frame = frame.copy()
    frame.columns = [
        "_".join(str(part) for part in column) if isinstance(column, tuple) else str(column)
        for column in frame.columns
    ]
    saved_datasets.append(frame)


def save_chart(title):
    """Show the current matplotlib figure (the chat kept it as a chart called `title`)."""
    plt.show()
'''


@code_for("run_python")
def run_python_code(step: Step, names: Names) -> str:
    """The sandbox's conveniences, the code as it was run, then the datasets it saved."""
    loaded = [str(dataset_id) for dataset_id in step.result.get("datasets_loaded") or []]
    frames = {dataset_id: names.frame(dataset_id) for dataset_id in loaded}
    copies = ", ".join(f"{literal(key)}: {variable}.copy()" for key, variable in frames.items())
    lines = [
        "import matplotlib.pyplot as plt",
        "import pandas as pd",
        "",
        "# run_python ran the code below in a sandbox, with copies of the chat's datasets in",
        "# `datasets` (by id), `df` when one was loaded, and `save_dataset` / `save_chart`.",
        f"datasets = {{{copies}}}",
    ]
    if frames:
        # Every notebook with a dataset has a `df`; the code may rebind it, the sandbox's
        # copy never changed the chat's.
        lines.append("notebook_df = df")
    if len(frames) == 1:
        lines.append(f"df = datasets[{literal(loaded[0])}]")
    elif frames:
        lines.append("del df  # the sandbox defines `df` only when one dataset is loaded")
    lines += ["saved_datasets = []", "", "", HELPERS, "", "# The code, as run_python ran it:"]
    lines += [str(step.args["code"]).strip("\n"), "", "# After the code:"]
    if frames:
        lines.append("df = notebook_df")
    for position, saved in enumerate(step.result.get("datasets") or []):
        lines.append(f"{names.new_frame(str(saved['dataset_id']))} = saved_datasets[{position}]")
    return "\n".join(lines)
