"""The text encoding of a delimited file, decided from all of its bytes."""

# The data is Cyrillic, Greek and typographic text on purpose.
# ruff: noqa: RUF001

import tracemalloc
from pathlib import Path

import pytest

from data_science.storage.charsets import UndecodableText, detect_encoding


@pytest.mark.parametrize(
    ("text", "written", "detected"),
    [
        # charset-normalizer's mess measure alone would read "£5" as "Ł5" (Windows-1250).
        ("id;amount\n" + "".join(f"{i};£{i}.00 ¥{i}\n" for i in range(40)), "cp1252", "latin-1"),
        ("part;size\n" + "".join(f"p{i};Ø{i} mm µm\n" for i in range(40)), "cp1252", "latin-1"),
        ("nome;cidade\nJoão;São Paulo\nFrançois;Besançon\n", "latin-1", "latin-1"),
        ("name;note\n„Müller“;Straße – 5 €\nŒuvre;…\n", "cp1252", "cp1252"),
        ("товар;цена\nХлеб;€5\nМолоко;€2\nСыр;€7,50\n", "cp1251", "cp1251"),
        ("πόλη;θερμοκρασία\nΑθήνα;20\nΘεσσαλονίκη;15\n", "cp1253", "cp1253"),
    ],
    ids=["pounds", "diameter-micro", "latin-1", "cp1252", "cyrillic", "greek"],
)
def test_single_byte_code_pages_keep_every_character(
    tmp_path: Path, text: str, written: str, detected: str
) -> None:
    path = tmp_path / "table.csv"
    path.write_bytes(text.encode(written))
    encoding = detect_encoding(path)
    assert encoding == detected
    assert path.read_bytes().decode(encoding) == text


def test_a_file_no_code_page_reads_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    # 0x81 is undefined in Windows-1252 and a control character in Latin-1, 0x98 undefined in
    # Windows-1251 and 0xAA in Windows-1253.
    path.write_bytes(b"a,b\n\x81,\x98\n\xaa,1\n")
    with pytest.raises(UndecodableText, match="UTF-8"):
        detect_encoding(path)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_a_nul_byte_anywhere_is_refused_with_its_line(tmp_path: Path, encoding: str) -> None:
    # Far past any prefix a sniffer reads: the pass that decides the encoding sees every byte.
    rows = "".join(f"{i},Café\n" for i in range(300_000))
    path = tmp_path / "table.csv"
    path.write_bytes(f"id,name\n{rows}".encode(encoding) + b"7,bin\x00ary\n8,ok\n")
    with pytest.raises(UndecodableText, match="NUL") as refused:
        detect_encoding(path)
    assert "line 300002" in str(refused.value)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_the_whole_file_is_checked_without_holding_it_in_memory(
    tmp_path: Path, encoding: str
) -> None:
    path = tmp_path / "table.csv"
    with path.open("wb") as handle:
        handle.write(b"id,city\n")
        block = "".join(f"{i},Zürich – Genève\n" for i in range(100_000)).encode(encoding)
        for _ in range(12):  # about 30 MB
            handle.write(block)
    tracemalloc.start()
    try:
        assert detect_encoding(path) == ("utf-8" if encoding == "utf-8" else "cp1252")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < path.stat().st_size / 4, f"peak {peak:,} bytes for {path.stat().st_size:,}"
