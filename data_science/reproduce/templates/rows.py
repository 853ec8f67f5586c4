"""Code templates for the tools of `data_science.tools.rows`."""

from __future__ import annotations
