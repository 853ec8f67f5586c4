"""Code templates for the tools of `data_science.tools.analysis`."""

from __future__ import annotations
