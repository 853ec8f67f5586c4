"""Code templates for the tools of `data_science.tools.code`."""

from __future__ import annotations
