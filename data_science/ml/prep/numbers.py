"""Numbers as people write them: "5,350,380", "$1,200.50", "€5", "-$4", "12.5%", "(1,000)".

`cast_column` reads a text column as numbers with `read_numbers`. Plain numbers go through
pandas; the rest are read by one rule, written once here:
- commas group thousands only in groups of three ("5,350,380"); a comma anywhere else is a
  decimal comma ("1.234,5", "3,5"), which could mean two different numbers, so it is never
  guessed: the value stays missing and is counted;
- a currency sign ($ € £ ¥ ₹) before or after the number is dropped (and the signs seen are
  reported, since a column that mixes currencies sums unlike things);
- a trailing percent sign is dropped and the number kept as shown ("12.5%" -> 12.5);
- accounting parentheses make a negative ("(1,000)" -> -1000), as does a minus before or
  after the currency sign ("-$4", "$-4").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

CURRENCY_SIGNS = "$€£¥₹"
MINUS_SIGNS = "-\u2212"  # the ASCII hyphen-minus and the Unicode minus sign
_NUMBER = re.compile(
    rf"""^
    (?P<sign>[+{re.escape(MINUS_SIGNS)}])?\s*
    (?P<currency>[{re.escape(CURRENCY_SIGNS)}])?\s*
    (?P<inner_sign>[+{re.escape(MINUS_SIGNS)}])?\s*
    (?P<digits>\d{{1,3}}(?:,\d{{3}})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)
    \s*(?P<after>[{re.escape(CURRENCY_SIGNS)}])?
    \s*(?P<percent>%)?
    $""",
    re.VERBOSE,
)
_DECIMAL_COMMA = re.compile(r"^[^,]*\d,\d+[^,]*$|\d\.\d{3},\d")


@dataclass
class NumberReading:
    """The numbers read from a column and what had to be cleaned to read them."""

    values: pd.Series
    thousands_separators: int = 0
    currency_signs: set[str] = field(default_factory=set)
    with_currency: int = 0
    percent_signs: int = 0
    accounting_negatives: int = 0
    decimal_commas: int = 0

    def sentences(self) -> list[str]:
        """What the cleaning did, for the tool's action sentence (empty when nothing was)."""
        said = []
        if self.thousands_separators:
            said.append(f"read thousands separators in {self.thousands_separators} value(s)")
        if self.with_currency:
            signs = ", ".join(sorted(self.currency_signs))
            said.append(f"dropped the currency sign ({signs}) of {self.with_currency} value(s)")
        if self.percent_signs:
            said.append(
                f"dropped the percent sign of {self.percent_signs} value(s), keeping the number "
                'as shown ("12.5%" is 12.5)'
            )
        if self.accounting_negatives:
            said.append(
                f"read {self.accounting_negatives} value(s) in parentheses as negative numbers"
            )
        if self.decimal_commas:
            said.append(
                f"left {self.decimal_commas} value(s) with a decimal comma (like '1.234,5') "
                "missing rather than guess which separator is meant"
            )
        return said

    def mixed_currencies(self) -> str | None:
        if len(self.currency_signs) < 2:
            return None
        signs = ", ".join(sorted(self.currency_signs))
        return (
            f"The column mixes currencies ({signs}); the numbers are kept as written, not "
            "converted, so they should not be added up or compared as one currency."
        )


def read_numbers(text: pd.Series) -> NumberReading:
    """Every value of a text column as a float (missing where it cannot be read)."""
    stripped = text.astype("string").str.strip()
    plain = pd.to_numeric(stripped, errors="coerce").astype(float)
    reading = NumberReading(plain)
    unread = stripped[plain.isna() & stripped.notna()]
    if unread.empty:
        return reading
    parsed = {value: _parse(value) for value in unread.unique()}
    counts = unread.value_counts()
    for value, (_, marks) in parsed.items():
        _count(reading, marks, int(counts[value]))
    numbers = unread.map(lambda value: parsed[value][0]).astype(float)
    reading.values = plain.where(plain.notna(), numbers)
    return reading


def _parse(value: str) -> tuple[float | None, dict[str, str]]:
    """The number `value` shows and the marks read on the way ({} marks: not a number)."""
    marks: dict[str, str] = {}
    body = value
    if body.startswith("(") and body.endswith(")"):
        body, marks["accounting"] = body[1:-1].strip(), "()"
    match = _NUMBER.match(body)
    if match is None:
        if _DECIMAL_COMMA.search(body):
            return None, {"decimal_comma": ","}
        return None, {}
    negative = "accounting" in marks or any(
        match[part] is not None and match[part] in MINUS_SIGNS for part in ("sign", "inner_sign")
    )
    currency = match["currency"] or match["after"]
    if currency:
        marks["currency"] = currency
    if match["percent"]:
        marks["percent"] = "%"
    digits = match["digits"]
    if "," in digits:
        marks["thousands"] = ","
    number = float(digits.replace(",", ""))
    return (-number if negative else number), marks


def _count(reading: NumberReading, marks: dict[str, str], times: int) -> None:
    if "decimal_comma" in marks:
        reading.decimal_commas += times
    if "thousands" in marks:
        reading.thousands_separators += times
    if "currency" in marks:
        reading.with_currency += times
        reading.currency_signs.add(marks["currency"])
    if "percent" in marks:
        reading.percent_signs += times
    if "accounting" in marks:
        reading.accounting_negatives += times
