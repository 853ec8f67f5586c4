"""Charts of a table as PNG bytes, drawn with matplotlib's object API (thread- and process-safe):
`drawing` draws one chart by its kind (`distributions`: histogram, bar, box, violin, pie;
`relations`: scatter, line, area, heatmap) on the helpers of `canvas`; `overview` chooses the
few charts that introduce a new table.

Pure functions with no ADK import, so they run in a worker process. Big tables stay fast:
point charts (scatter, violin) draw a seeded sample of at most `canvas.MAX_POINTS` rows, while
bar, line, area, pie, box, histogram and heatmap summarise every row (counts, aggregates,
quartiles, correlations), which is both exact and quick on a million rows.
"""
