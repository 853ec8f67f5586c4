"""Downloads cannot carry formulas, and numbers stay numbers."""

import csv
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from data_science.storage.exports import sanitize_for_export, write_csv, write_xlsx


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(A1:A10)", "'=SUM(A1:A10)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("\nLF", "'\nLF"),
        ("\0NUL", "'\0NUL"),
        ("plain text", "plain text"),
        (-5, -5),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_sanitize_for_export(value: object, expected: object) -> None:
    assert sanitize_for_export(value) == expected


FRAME = pd.DataFrame(
    {
        "name": ['=HYPERLINK("http://evil")', "@risk", "ok"],
        "amount": [-5, -2.5, 3.0],
        "count": [-1, 0, 2],
        "=header": ["a", "b", "c"],
    }
)


def test_csv_exports_neutralise_text_and_keep_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_csv(FRAME, path)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["name", "amount", "count", "'=header"]
    assert rows[1][0] == '\'=HYPERLINK("http://evil")' and rows[2][0] == "'@risk"
    assert [row[1] for row in rows[1:]] == ["-5.0", "-2.5", "3.0"]
    assert [row[2] for row in rows[1:]] == ["-1", "0", "2"]


def test_xlsx_exports_store_strings_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(FRAME, path)
    sheet = load_workbook(path).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]
    assert sheet["A2"].value == '\'=HYPERLINK("http://evil")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == -5 and sheet["B3"].value == -2.5 and sheet["B2"].data_type == "n"
