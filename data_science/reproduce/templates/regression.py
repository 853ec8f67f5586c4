"""Code templates for the tools of `data_science.tools.regression`."""

from __future__ import annotations
