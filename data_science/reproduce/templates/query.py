"""Code templates for the tools of `data_science.tools.query`."""

from __future__ import annotations
