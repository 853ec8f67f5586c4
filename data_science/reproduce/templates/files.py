"""Code templates for the tools of `data_science.tools.files`."""

from __future__ import annotations
