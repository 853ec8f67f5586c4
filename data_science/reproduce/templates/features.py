"""Code templates for the tools of `data_science.tools.features`."""

from __future__ import annotations
