"""Which text encoding a delimited file is in, decided from all of its bytes, never a prefix.

A byte-order mark decides first (a UTF-16 file holds NUL bytes). Otherwise a NUL byte anywhere
makes the file binary, not text: the same pass over the bytes looks for it. Then a file that is
valid UTF-8 from its first byte to its last is UTF-8: an ASCII start says nothing about what
follows, so the whole file is checked.
A file that is not, yet has lines that are clearly UTF-8, mixes encodings and is refused: no one
choice keeps all of its characters.

Any other file is in a legacy single-byte code page, which bytes alone cannot name; what decides
is that no byte may become an undefined or a control character (Latin-1 reads the Windows-1252
"€" as a control character, which later cleaning drops), and that words must read as words:
- Latin-1 when it reads every byte as text, else Windows-1252 (the same letters, plus €, curly
  quotes and dashes), as long as the words read as Latin-script words: ASCII letters with
  accented ones alone or in pairs. Central European, Turkish and Baltic code pages spell their
  letters with the same bytes, and short tabular data cannot tell them apart: such files read as
  Windows-1252 (the summary says so; UTF-8 avoids the guess).
- Otherwise (words made only of accented letters: Cyrillic or Greek read as Windows-1252), the
  Cyrillic or Greek Windows code page whose text charset-normalizer finds least messy.
charset-normalizer's mess measure is not asked to choose between Western and other code pages:
it counts a currency sign before a digit ("£5", "€5") as mess, common in tables, so it would
pick "Ł5" over "£5".
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from charset_normalizer import from_bytes

READ_CHUNK = 1 << 20
# How many bytes of non-ASCII lines the mess measure reads, spread over the whole file.
EVIDENCE_BYTES = 64 * 1024
MIN_PER_CHUNK = 1024
# In order of preference: ISO-8859-1 names the plain Western case, Windows-1252 the one with €.
WESTERN_ENCODINGS = ("latin-1", "cp1252")
NON_LATIN_ENCODINGS = ("cp1251", "cp1253")  # Cyrillic, Greek
# Latin-script words have their non-ASCII letters alone or in pairs ("Zürich", "Größe", "ação");
# Cyrillic or Greek read as Windows-1252 has words made only of them ("Ìîñêâà" for "Москва").
LONG_RUN = 3
MAX_LONG_RUN_SHARE = 0.5
# A non-Latin candidate whose mess measure is this close to the lowest one counts as a tie.
MESS_TOLERANCE = 0.05
BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# UTF-8 characters a legacy code page hardly ever spells by accident: three or four bytes, or two
# led by 0xC2/0xC3 ("Â"/"Ã" before a symbol), which is how UTF-8 writes é, ü, ç and the like.
STRONG_UTF8 = re.compile(
    rb"[\xc2\xc3][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
UTF8_CHARACTER = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
NON_ASCII_LINE = re.compile(rb"[^\r\n]*[\x80-\xff][^\r\n]*")
ASCII = bytes(range(128))
NON_ASCII_RUN = re.compile(r"[^\W\d_A-Za-z]+")
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class UndecodableText(ValueError):
    """The file is not text in any one encoding (it holds NUL bytes, mixes encodings, or no
    code page reads it); the message says what is wrong and what would work."""


@dataclass
class _Sample:
    """What a pass over a file that is not UTF-8 learns: its non-ASCII bytes and some lines."""

    high_bytes: set[int] = field(default_factory=set)
    lines: list[bytes] = field(default_factory=list)
    size: int = 0


def detect_encoding(path: Path) -> str:
    """The codec name (for Python and pandas) that reads every byte of the text file `path`."""
    with path.open("rb") as handle:
        head = handle.read(4)
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    first_invalid = _first_non_utf8_byte(path)
    if first_invalid is None:
        return "utf-8"
    sample = _sample(path)
    if any(_is_utf8_line(line) for line in sample.lines):
        raise UndecodableText(
            f"it mixes encodings: some lines are UTF-8, but line {_line_of(path, first_invalid)} "
            "is not. Save it again as UTF-8 (in Excel: 'CSV UTF-8') and upload it"
        )
    return _legacy_encoding(sample)


def _first_non_utf8_byte(path: Path) -> int | None:
    """The offset of the first byte that is not UTF-8, or None when the whole file is; refuses
    a NUL byte before it."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            _refuse_nul(path, chunk, offset)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                # The decoder may hold the start of a character from the chunk before.
                return offset - (len(error.object) - len(chunk)) + error.start
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:  # the file ends inside a character
        return offset - 1
    return None


def _refuse_nul(path: Path, chunk: bytes, offset: int) -> None:
    """Refuse the file when `chunk` (at `offset`) holds a NUL byte: it is binary, not text."""
    if (at := chunk.find(b"\x00")) >= 0:
        raise UndecodableText(
            f"it contains a NUL byte (line {_line_of(path, offset + at)}), so it is binary, "
            "not delimited text. Upload the table as CSV or TSV text"
        )


def _sample(path: Path) -> _Sample:
    """Every non-ASCII byte value of the file, and lines holding them, from across the file;
    refuses a NUL byte (the UTF-8 pass stopped at the first byte that is not UTF-8)."""
    sample = _Sample()
    per_chunk = max(EVIDENCE_BYTES * READ_CHUNK // max(path.stat().st_size, 1), MIN_PER_CHUNK)
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            _refuse_nul(path, chunk, offset)
            offset += len(chunk)
            high = chunk.translate(None, ASCII)
            if high:
                sample.high_bytes.update(high)
                _add_lines(sample, chunk, per_chunk)
    return sample


def _add_lines(sample: _Sample, chunk: bytes, budget: int) -> None:
    taken = 0
    for match in NON_ASCII_LINE.finditer(chunk):
        room = min(budget - taken, EVIDENCE_BYTES - sample.size)
        if room <= 0:
            return
        line = match.group()[:room]
        sample.lines.append(line)
        sample.size += len(line) + 1
        taken += len(line) + 1


def _is_utf8_line(line: bytes) -> bool:
    """Whether every non-ASCII byte of `line` is part of a UTF-8 character, one of them strong."""
    spelled = sum(len(character) for character in UTF8_CHARACTER.findall(line))
    return spelled == len(line.translate(None, ASCII)) and STRONG_UTF8.search(line) is not None


def _reads_cleanly(high_bytes: set[int], encoding: str) -> bool:
    """Whether every non-ASCII byte of the file is a defined, non-control character."""
    try:
        text = bytes(sorted(high_bytes)).decode(encoding)
    except UnicodeDecodeError:
        return False
    return all(unicodedata.category(character) != "Cc" for character in text)


def _legacy_encoding(sample: _Sample) -> str:
    evidence = b"\n".join(sample.lines)
    western = next((n for n in WESTERN_ENCODINGS if _reads_cleanly(sample.high_bytes, n)), None)
    if western and _reads_as_latin_words(evidence.decode(western)):
        return western
    others = [name for name in NON_LATIN_ENCODINGS if _reads_cleanly(sample.high_bytes, name)]
    if others:
        return _least_messy(evidence, others)
    if western:  # odd words, but no other code page reads the file
        return western
    raise UndecodableText(
        "it is not UTF-8, and no single-byte code page (Latin-1, Windows-1251, -1252 or -1253) "
        "reads all of its bytes as text. Save it again as UTF-8 (in Excel: 'CSV UTF-8') and "
        "upload it"
    )


def _reads_as_latin_words(text: str) -> bool:
    """Whether most non-ASCII letters stand alone or in pairs among ASCII ones, as in Latin
    script, rather than in runs that make whole words."""
    runs: list[int] = [sum(c.isalpha() for c in run) for run in NON_ASCII_RUN.findall(text)]
    in_long_runs = sum(length for length in runs if length >= LONG_RUN)
    return in_long_runs <= MAX_LONG_RUN_SHARE * sum(runs)


def _least_messy(evidence: bytes, candidates: list[str]) -> str:
    """The candidate whose decoding charset-normalizer finds least messy (ties: the first)."""
    matches = from_bytes(
        evidence,
        steps=1,  # the whole evidence, not a few chunks of it
        chunk_size=len(evidence),
        threshold=1.0,  # every candidate's measure is wanted, however messy
        cp_isolation=candidates,
        preemptive_behaviour=False,
        enable_fallback=False,
    )
    mess = {
        codecs.lookup(name).name: match.chaos
        for match in matches
        for name in match.could_be_from_charset
    }
    measured = {
        name: mess[codecs.lookup(name).name]
        for name in candidates
        if codecs.lookup(name).name in mess
    }
    if not measured:
        return candidates[0]
    lowest = min(measured.values())
    return next(name for name, value in measured.items() if value <= lowest + MESS_TOLERANCE)


def _line_of(path: Path, offset: int) -> int:
    """The 1-based line that byte `offset` is on (whatever the file's line endings)."""
    breaks, left = 0, offset
    with path.open("rb") as handle:
        while left > 0 and (chunk := handle.read(min(READ_CHUNK, left))):
            breaks += len(LINE_BREAK.findall(chunk))
            left -= len(chunk)
    return breaks + 1
