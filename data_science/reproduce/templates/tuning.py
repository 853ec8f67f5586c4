"""Code templates for the tools of `data_science.tools.tuning`."""

from __future__ import annotations
