"""Worker functions named rather than imported, so the server process stays lean.

The computations (`data_science.ml`) import scikit-learn, SciPy, matplotlib, statsmodels, DuckDB,
AutoGluon and FLAML: many seconds of imports and hundreds of MB that only the worker processes
need. A tool module names its computations through `in_workers("data_science.ml....")`: an
attribute of the result is a `WorkerFunction`, a picklable (module, name) pair that `run_cpu`,
`run_with_deadline` or a Ray task hands to a worker, which imports the module there and calls the
function. The server process never imports the module at all (tests/test_server_imports.py
reads the server's memory map to prove it).

For type checking a tool module imports the real module under `TYPE_CHECKING`, so calls are
checked against the real signatures:

    if TYPE_CHECKING:
        from data_science.ml import clustering
    else:
        clustering = in_workers("data_science.ml.clustering")
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WorkerFunction:
    """`module.name`, imported only where it is called (a worker process)."""

    module: str
    name: str

    @property
    def __name__(self) -> str:  # read by logs and job labels, as of a plain function
        return self.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(self.module), self.name)(*args, **kwargs)


class WorkerModule:
    """Stands for a module of computations in the server process: every attribute is a
    `WorkerFunction` of it (constants and types belong in light modules the server imports)."""

    def __init__(self, module: str) -> None:
        self._module = module

    def __getattr__(self, name: str) -> WorkerFunction:
        if name.startswith("__"):  # copy, pickle and inspect probe for dunders: not functions
            raise AttributeError(name)
        return WorkerFunction(self._module, name)


def in_workers(module: str) -> Any:
    """A stand-in for `module` whose functions run only in worker processes (see the module
    docstring); typed Any because tool modules type-check against the real module instead."""
    return WorkerModule(module)
