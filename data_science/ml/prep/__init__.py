"""Cleaning (`cleaning`: impute, drop, rename, cast, dedupe, outliers) and preprocessing
(`encoding`: scale, encode, dates, TF-IDF): each function reads a table, writes a NEW derived
table, reports.

Pure functions with no ADK import, so they run in a worker process. Every `*_to_file` function
takes the source `TableFile`, the staging path to write the derived Parquet file to, whether
cell values may be shown (`summary_only` hides them), and its own plain arguments. It returns a
report with rows/columns before and after, what changed, counts, an `action` sentence, and the
`summary` the workspace stores with the new table (see `common.finish`). The source table is
never modified.
"""
