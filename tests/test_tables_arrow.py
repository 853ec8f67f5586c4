"""Text tables parsed by Arrow read exactly as pandas' `read_csv` reads them (issue #17's ingest).

`read_table` parses a CSV with Arrow's reader (several times faster on large files) and falls
back to pandas where Arrow refuses the file or would read it differently. Whichever reads it, the
answer must be pandas' own: the same columns, dtypes, values and missing cells. Each case below
is read both ways and compared with `pd.read_csv` called here directly.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest

from data_science.storage.tables import TableReadError, _read_with_arrow, read_table, text_layout

MISSING = ["", "NA", "N/A", "null", "NULL", "None", "nan", "NaN", "<NA>", "#N/A", "n/a", "-nan"]

# (name, CSV text, whether Arrow reads it itself rather than handing it to pandas)
CASES = [
    (
        "types",
        "id,price,label,flag,day,stamp,empty\n"
        '1,2.5,"a, quoted",True,2024-01-02,2024-01-02 10:00:00,\n'
        "2,,b,False,2024-02-03,2024-02-03T11:30:00,\n"
        "3,1e3,Zürich,TRUE,2024-03-04,2024-03-04 12:00,\n"
        "4,7,d,false,,2024-03-05T00:00:00Z,\n",
        True,
    ),
    (
        "missing spellings",
        "a,b,c\n" + "".join(f"{i},{token},x{i}\n" for i, token in enumerate(MISSING)),
        True,
    ),
    (
        "missing in text",
        "k,v\n" + "".join(f"{i},{t or 'z'}\n" for i, t in enumerate(MISSING)),
        True,
    ),
    ("integers with gaps", "a,b\n1,2\n,3\n4,\n", True),
    ("semicolons", "a;b;c\n1;x;2,5\n2;y;3,5\n", True),
    ("bools with gaps", "a,b\nTrue,1\n,2\nFalse,3\n", True),
    ("unnamed column", ",a\n0,x\n1,y\n", False),
    ("duplicate names", "a,a,b\n1,2,3\n4,5,6\n", False),
    ("line break in quotes", 'a,b\n1,"two\nlines"\n2,plain\n', None),
    ("fewer fields", "a,b,c\n1,2,3\n4,5\n", False),
    ("big integers", "a\n18446744073709551615\n1\n", False),
]


def write(tmp_path: Path, text: str, bom: bool = False) -> Path:
    path = tmp_path / "table.csv"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode())
    return path


@pytest.mark.parametrize(("name", "text", "by_arrow"), CASES, ids=[case[0] for case in CASES])
def test_a_csv_reads_as_pandas_reads_it(
    tmp_path: Path, name: str, text: str, by_arrow: bool | None
) -> None:
    path = write(tmp_path, text)
    layout = text_layout(path, "csv")
    expected = pd.read_csv(path, sep=layout.delimiter, encoding=layout.encoding, low_memory=False)
    pd.testing.assert_frame_equal(read_table(path, "csv"), expected)
    if by_arrow is not None:
        assert (_read_with_arrow(path, layout) is not None) == by_arrow


def test_a_utf8_bom_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    path = write(tmp_path, "name,value\nä,1\nö,2\n", bom=True)
    frame = read_table(path, "csv")
    assert list(frame.columns) == ["name", "value"]
    pd.testing.assert_frame_equal(frame, pd.read_csv(path, encoding="utf-8-sig"))


def test_rows_with_too_many_fields_are_still_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,2\n3,4,5\n")
    with pytest.raises(TableReadError, match="Expected 2 fields"):
        read_table(path, "csv")
