from pathlib import Path

import pandas as pd
import pytest

from data_science.storage.tables import TableReadError, read_table, table_summary


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "latin-1"])
def test_common_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "cities.csv"
    path.write_bytes("city,temp\nZürich,12.5\nSão Paulo,25\n".encode(encoding))
    frame = read_table(path, "csv")
    assert list(frame.columns) == ["city", "temp"]
    assert frame["city"].tolist() == ["Zürich", "São Paulo"]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "data.txt"
    path.write_text(delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2", "3"]) + "\n")
    assert read_table(path, "txt").shape == (1, 3)


def test_workbooks_and_parquet_are_read(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3], "label": ["a", "b", "c"]})
    frame.to_excel(tmp_path / "book.xlsx", index=False)
    frame.to_parquet(tmp_path / "table.parquet")
    assert read_table(tmp_path / "book.xlsx", "xlsx").equals(frame)
    assert read_table(tmp_path / "table.parquet", "parquet").equals(frame)


def test_binary_and_empty_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "nul.csv").write_bytes(b"a,b\n1,\x002\n")
    (tmp_path / "empty.csv").write_bytes(b"\n\n")
    with pytest.raises(TableReadError, match="NUL"):
        read_table(tmp_path / "nul.csv", "csv")
    with pytest.raises(TableReadError, match="empty"):
        read_table(tmp_path / "empty.csv", "csv")


def test_summary_names_rows_and_column_types() -> None:
    frame = pd.DataFrame(
        {
            "n": [1, 2],
            "f": [0.5, None],
            "s": ["a", "b"],
            "d": pd.to_datetime(["2024-01-01", "2024-01-02"]),
        }
    )
    assert table_summary(frame) == {
        "rows": 2,
        "columns": [
            {"name": "n", "type": "integer"},
            {"name": "f", "type": "number"},
            {"name": "s", "type": "text"},
            {"name": "d", "type": "datetime"},
        ],
    }
