"""The code templates, one module per tool family (as in `data_science.tools`).

Importing this package registers every template in `reproduce.code.TEMPLATES`.
"""

from data_science.reproduce.templates import (  # noqa: F401
    analysis,
    automl,
    cluster,
    code,
    data,
    features,
    files,
    guidance,
    prep,
    query,
    regression,
    rows,
    timeseries,
    train,
    tuning,
    viz,
)
