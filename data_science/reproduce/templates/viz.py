"""Code templates for the tools of `data_science.tools.viz`."""

from __future__ import annotations
