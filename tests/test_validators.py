from pathlib import Path

import pytest

from data_science.intake.validators import (
    UploadRejected,
    check_content_matches,
    check_extension,
    check_size,
    extension_of,
    sanitize_filename,
)

ALLOWED = frozenset({"csv", "xlsx", "png"})


@pytest.mark.parametrize(
    ("original", "stored"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\me\\data.csv", "data.csv"),
        ("a\x00b\x1f.csv", "ab.csv"),
        ("\u202egnp.csv", "gnp.csv"),
        ("CON.csv", "file_CON.csv"),
        ("\uff44\uff41\uff54\uff41.csv", "data.csv"),  # full-width look-alikes
        ("my data (final).CSV", "my_data_final_.csv"),
        (".hidden", "hidden"),
        ("", "upload"),
    ],
)
def test_stored_names_are_safe(original: str, stored: str) -> None:
    assert sanitize_filename(original) == stored


def test_long_names_are_cut_but_keep_their_extension() -> None:
    name = sanitize_filename("x" * 300 + ".csv")
    assert len(name) <= 120 and name.endswith(".csv")


def test_the_last_extension_decides() -> None:
    assert extension_of("data.csv.exe") == "exe"
    with pytest.raises(UploadRejected) as raised:
        check_extension("data.csv.exe", ALLOWED)
    assert raised.value.status == 415 and "csv" in raised.value.message


def test_files_without_extension_are_refused() -> None:
    with pytest.raises(UploadRejected, match="without an extension"):
        check_extension("README", ALLOWED)


def test_size_limit_and_empty_files() -> None:
    check_size(10, 10)
    with pytest.raises(UploadRejected) as too_big:
        check_size(11, 10)
    assert too_big.value.status == 413
    with pytest.raises(UploadRejected) as empty:
        check_size(0, 10)
    assert empty.value.code == "empty_file"


def test_csv_content_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    assert check_content_matches(path, "csv").startswith(("text/", "application/csv"))


@pytest.mark.parametrize(
    "payload",
    [
        b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200,
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    ],
)
def test_other_content_named_csv_is_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "evil.csv"
    path.write_bytes(payload)
    with pytest.raises(UploadRejected) as raised:
        check_content_matches(path, "csv")
    assert raised.value.code == "content_mismatch"


def test_a_zip_named_xlsx_that_is_no_workbook_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(UploadRejected):
        check_content_matches(path, "xlsx")
