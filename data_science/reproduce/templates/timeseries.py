"""Code templates for the tools of `data_science.tools.timeseries`."""

from __future__ import annotations
