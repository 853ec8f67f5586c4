"""Each tool call as the plain Python that reproduces it: one template per tool, one registry.

A template turns a `Step` (the arguments a tool was called with and the result it gave) into the
source of one code cell written with the libraries the tool itself uses (pandas, scikit-learn,
statsmodels, matplotlib, statsforecast, AutoGluon, DuckDB), with the same split, seed, columns and
options, so that running it prints the numbers the chat reported. The cell may not import
`data_science`: it is read and rerun outside the app.

Safety: a template writes everything that comes from the data or the person (column names, file
names, labels, values, SQL text) through `literal`, which gives a Python literal, never code. A
column named `"); import os` becomes the string `'"); import os'`.

Variables: datasets and models live in variables named by `Names`, so later steps carry earlier
results forward (`df`, then `df_2`, ...; `model`, `model_2`, ...). An uploaded dataset is read from
the folder beside the notebook the first time a step uses it (`Names.frame` records the load).

Samples: a step on a large table that was computed on a seeded sample (its result's `sample`)
is written over that sample: `Names.frame` then gives a variable holding the same rows, drawn in
the cell with numpy from the same seed (`Sample.draw`), so the printed numbers are the step's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The folder beside the notebook holding the uploaded files (the export's ZIP puts them there).
DATA_FOLDER = "data"


@dataclass(frozen=True)
class Step:
    """One tool call as recorded in the chat: its name, arguments and (successful) result."""

    tool: str
    args: Mapping[str, Any]
    result: Mapping[str, Any]


@dataclass(frozen=True)
class Source:
    """How one uploaded dataset is read back from the folder beside the notebook.

    `reader` is a pandas reader ("read_csv", "read_excel", "read_parquet", "read_json") and
    `options` its keyword arguments (separator, encoding, sheet name), as the upload was read.
    `from_csv`: a CSV the upload stored as Parquet (a large one), read back as the app reads it,
    with pandas' `read_csv` NaN (not Parquet's None) for missing text and booleans.
    """

    file_name: str
    reader: str = "read_csv"
    options: Mapping[str, Any] = field(default_factory=dict)
    from_csv: bool = False

    def load_line(self, variable: str) -> str:
        arguments = "".join(f", {key}={literal(value)}" for key, value in self.options.items())
        path = f"DATA / {literal(self.file_name)}"
        line = f"{variable} = pd.{self.reader}({path}{arguments})"
        if not self.from_csv:
            return line
        return (
            "# Uploaded as a CSV, stored as Parquet: missing text is NaN, as read_csv gives it.\n"
            f"{line}.fillna(float('nan'))"
        )


@dataclass(frozen=True)
class Sample:
    """The seeded, uniform sample a step on a large table was computed on (its result's
    `sample`): which `rows` of the table's `of` it took, drawn as `storage.large` draws them."""

    rows: int
    of: int
    seed: int

    @classmethod
    def of_result(cls, result: Mapping[str, Any]) -> Sample | None:
        """The step's sample: its result's `sample`, or the one its charts share (`auto_charts`
        states it on each chart); None when the step used every row."""
        charts = result.get("charts") or []
        stated = [chart.get("sample") for chart in charts if isinstance(chart, Mapping)]
        facts = result.get("sample") or next((facts for facts in stated if facts), None)
        if not isinstance(facts, Mapping):
            return None
        return cls(int(facts["rows"]), int(facts["of"]), int(facts["seed"]))

    def draw(self, variable: str, sampled: str) -> list[str]:
        """The lines that make `sampled`: the sample's rows of `variable`, in table order."""
        return [
            f"# This step used a random sample of {self.rows:,} of its {self.of:,} rows (seeded, "
            "uniform,",
            "# in table order): the same rows here, so the numbers printed are the step's.",
            f"positions = np.sort(np.random.default_rng({self.seed})"
            f".choice({self.of}, size={self.rows}, replace=False))",
            f"{sampled} = {variable}.iloc[positions].reset_index(drop=True)",
        ]


class UnknownInput(LookupError):
    """A step names a dataset or model that no earlier step (or upload) of the chat made."""


class Names:
    """The variables of one notebook (or one "show code" view): ids in, Python names out."""

    def __init__(self, sources: Mapping[str, Source]) -> None:
        self._sources = dict(sources)
        self._variables: dict[str, str] = {}
        self._taken: set[str] = set()
        self._loads: list[str] = []
        self._sample: Sample | None = None
        self._sampled: dict[str, str] = {}

    def frame(self, dataset_id: str) -> str:
        """The variable holding dataset `dataset_id`; an upload is read on first use. While a
        step computed on a sample is written (`sampling`), the variable holding that sample."""
        variable = self._variables.get(dataset_id)
        if variable is None:
            source = self._sources.get(dataset_id)
            if source is None:
                raise UnknownInput(f"dataset {dataset_id!r} was not made by an earlier step")
            variable = self.new_frame(dataset_id)
            self._loads.append(source.load_line(variable))
        if self._sample is None:
            return variable
        if variable not in self._sampled:
            self._sampled[variable] = f"{variable}_sample"  # never a name `_bind` gives
            self._loads.extend(self._sample.draw(variable, self._sampled[variable]))
        return self._sampled[variable]

    def sampling(self, sample: Sample | None) -> None:
        """Until the next call, `frame` gives `sample`'s rows of a dataset (None: all rows)."""
        self._sample, self._sampled = sample, {}

    def drew_sample(self) -> bool:
        """Whether the read lines waiting for `take_loads` draw a sample (they need numpy)."""
        return bool(self._sampled)

    def new_frame(self, dataset_id: str) -> str:
        """A fresh variable for a dataset a step makes (`df`, `df_2`, ...)."""
        return self._bind(dataset_id, "df")

    def model(self, model_id: str) -> str:
        """The variable holding model `model_id`, made by an earlier step."""
        if model_id not in self._variables:
            raise UnknownInput(f"model {model_id!r} was not made by an earlier step")
        return self._variables[model_id]

    def new_model(self, model_id: str) -> str:
        """A fresh variable for a model a step fits (`model`, `model_2`, ...)."""
        return self._bind(model_id, "model")

    def source(self, dataset_id: str) -> Source | None:
        """How upload `dataset_id` is read back; None for a dataset that is not an upload."""
        return self._sources.get(dataset_id)

    def knows(self, item_id: str) -> bool:
        return item_id in self._variables or item_id in self._sources

    def take_loads(self) -> list[str]:
        """The read lines the last template's `frame` calls needed (emptied by this call)."""
        loads, self._loads = self._loads, []
        return loads

    def _bind(self, item_id: str, stem: str) -> str:
        variable, number = stem, 1
        while variable in self._taken:
            number += 1
            variable = f"{stem}_{number}"
        self._taken.add(variable)
        self._variables[item_id] = variable
        return variable


def literal(value: Any) -> str:
    """`value` as Python source that evaluates to it; only plain data is accepted.

    `repr` of a str is a literal whatever the str holds (quotes, newlines, code), so a name
    taken from a file can never become code. Floats that are not finite are written so that
    they still evaluate (`float("nan")`).
    """
    if value is None or isinstance(value, bool | int | str):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, list | tuple):
        items = ", ".join(literal(item) for item in value)
        return (
            f"[{items}]"
            if isinstance(value, list)
            else f"({items}{',' if len(value) == 1 else ''})"
        )
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not plain data, cannot be written as a literal: {type(value).__name__}")


Template = Callable[[Step, Names], str]
TEMPLATES: dict[str, Template] = {}


def code_for(*tools: str) -> Callable[[Template], Template]:
    """Register the decorated function as the code template of `tools`."""

    def register(template: Template) -> Template:
        for name in tools:
            if name in TEMPLATES:
                raise ValueError(f"two code templates for {name}")
            TEMPLATES[name] = template
        return template

    return register


def step_code(step: Step, names: Names) -> str:
    """The code cell of `step`: the reads of the uploads it first uses, then its template."""
    from data_science.reproduce import templates  # noqa: F401  (registers every template)

    template = TEMPLATES.get(step.tool)
    if template is None:
        raise LookupError(f"no code template for the tool {step.tool!r}")
    names.sampling(Sample.of_result(step.result))
    try:
        body = template(step, names)
        imports = ["import numpy as np"] if names.drew_sample() else []
    finally:
        names.sampling(None)
    return _with_imports(imports, names.take_loads(), body).strip() + "\n"


def _with_imports(imports: list[str], loads: list[str], body: str) -> str:
    """The reads, then the template's cell; `imports` the reads need join the cell's own
    (its opening block, each once, sorted, as `templates._shared.cell` writes it)."""
    if not imports:
        return "\n".join([*loads, body])
    heading, gap, rest = body.partition("\n\n")
    if not gap or not all(line.startswith(("import ", "from ")) for line in heading.splitlines()):
        heading, rest = "", body
    merged = sorted(dict.fromkeys([*heading.splitlines(), *imports]))
    return "\n".join([*merged, "", *loads, rest])


PREAMBLE = f"""\
from pathlib import Path

import pandas as pd

DATA = Path({literal(DATA_FOLDER)})
"""
"""The first code cell of every notebook (and what each "show code" view assumes)."""
