"""Code templates for the tools of `data_science.tools.cluster`."""

from __future__ import annotations
