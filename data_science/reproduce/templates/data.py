"""Code templates for the tools of `data_science.tools.data`."""

from __future__ import annotations
