"""Code templates for the tools of `data_science.tools.prep`."""

from __future__ import annotations
