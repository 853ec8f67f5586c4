"""Code templates for the tools of `data_science.tools.guidance`."""

from __future__ import annotations
