"""Code templates for the tools of `data_science.tools.train`."""

from __future__ import annotations
