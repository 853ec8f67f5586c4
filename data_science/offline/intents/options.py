"""The options a request can add to a tool's defaults: the test split, seed and stratification of
a model ("use a 70/30 split", "seed 7", "no stratification"), a tree's depth and class weights,
and the population standard deviation or biased skewness and kurtosis of a description.

Only what the request says is returned, so a tool keeps its own defaults otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from data_science.offline.intents.text import Utterance

RATIO = re.compile(r"\b(\d{1,2})\s*(?:/|-|:|to)\s*(\d{1,2})\b(?!\s*(?:folds?|-fold))")
TEST_SHARE = re.compile(
    r"(?:\b(?:test|testing|hold\s*-?\s*out|holding out|held\s*-?\s*out|validation)\s*"
    r"(?:set|size|fraction|share|part|rows)?\s*(?:of|=|to|at|is)?\s*(\d+(?:\.\d+)?)\s*(%)?)|"
    r"(?:(\d+(?:\.\d+)?)\s*(%)\s*(?:of the (?:rows|data)\s*)?(?:for|as)?\s*(?:the\s+)?"
    r"(?:test|testing|hold\s*-?\s*out|held\s*-?\s*out|validation))",
    re.IGNORECASE,
)
SEED = re.compile(r"\b(?:seed|random[ _]state|random seed)\s*(?:=|of|is|to)?\s*(\d+)", re.I)
NO_STRATIFY = r"\b(no|without|not|dont|don t|do not|non|un) ?(stratif\w*)|\bunstratified\b"
DEPTH = re.compile(
    r"\b(?:max(?:imum)?[ _]?depth|depth)\s*(?:of|=|to|is|at)?\s*(\d+)|\b(\d+) levels? deep\b",
    re.IGNORECASE,
)
BALANCED = r"\bbalanced\b(?! accuracy)|\bclass weights?\b|\bweight(ed|ing)? (the )?classes\b"
POPULATION = r"\bpopulation\b|\bddof ?0\b|\bdivided by n\b"
BIASED = (
    r"(?<!un)\bbiased\b|\bwithout (bias )?correction\b|\buncorrected\b|\bnot (bias )?corrected\b"
)
SHAPE = r"\bskew|\bkurtosis\b"


def split_options(u: Utterance) -> dict[str, Any]:
    """`test_size`, `seed` and `stratify`, when the request sets them."""
    found: dict[str, Any] = {}
    ratio = RATIO.search(u.raw)
    if ratio and int(ratio.group(1)) + int(ratio.group(2)) == 100:
        found["test_size"] = min(int(ratio.group(1)), int(ratio.group(2))) / 100
    share = TEST_SHARE.search(u.raw)
    if share and "test_size" not in found:
        number, percent = share.group(1) or share.group(3), share.group(2) or share.group(4)
        value = float(number)
        if percent or value >= 1:
            value /= 100
        if 0 < value < 1:
            found["test_size"] = value
    seed = SEED.search(u.raw)
    if seed:
        found["seed"] = int(seed.group(1))
    if u.has(NO_STRATIFY):
        found["stratify"] = False
    return found


def tree_options(u: Utterance) -> dict[str, Any]:
    """`max_depth` and `class_weight` for `train`, when the request sets them."""
    found: dict[str, Any] = {}
    depth = DEPTH.search(u.raw)
    if depth:
        found["max_depth"] = int(depth.group(1) or depth.group(2))
    if u.has(BALANCED):
        found["class_weight"] = "balanced"
    return found


def spread_options(u: Utterance) -> dict[str, Any]:
    """`std` ("population") and `skew_kurtosis` ("biased"), when the request asks for them;
    `u` should leave out the words that name columns (a column may be called "population")."""
    found: dict[str, Any] = {}
    shape = u.has(SHAPE)
    if u.has(POPULATION) or (u.has(BIASED) and not shape):
        found["std"] = "population"
    if shape and (u.has(BIASED) or u.has(POPULATION)):
        found["skew_kurtosis"] = "biased"
    return found
