"""Looking closer at one table: rows, distributions and outliers (`describe`), group aggregates
and value counts (`aggregate`), correlations (`correlation`) and the everyday hypothesis tests
(`hypothesis`).

Pure functions with no ADK import, so they can run in a worker process. Each takes a `TableFile`
and plain arguments (column names already resolved) and returns a small dict. Missing values
(and infinities) are dropped per computation, and the number of values used is reported as `n`.
Row numbers count from 0 in the order of the stored table.
"""
