"""Code templates for the tools of `data_science.tools.automl`."""

from __future__ import annotations
