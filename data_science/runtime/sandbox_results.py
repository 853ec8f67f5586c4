"""The results stream of the code sandbox, read on the host: untrusted frames into files.

Inside the sandbox, `sandbox_child.py` sends each file the code saved as a JSON header line
(`{"kind", "name", "size"}`, or `{"kind", "name", "refused"}` for a link or special file) and
then its bytes. The code ran in that same process and may have written anything there, so
every header is checked, every size counted, and every file is written under a name made here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

MOST_OUTPUTS = 20
HEADER_BYTES = 4096  # the longest header line of one handed-back file


@dataclass(frozen=True)
class Output:
    """One file the code saved: a dataset (Parquet) or a chart (PNG), both still untrusted.

    `path` is a file `read_outputs` wrote on the host, or None when the sandbox refused it.
    """

    kind: Literal["dataset", "chart"]
    name: str
    path: Path | None
    refused: str | None = None


def read_outputs(stream: Path, work_dir: Path) -> tuple[bool, list[Output], str | None]:
    """Split the results stream into files: whether the child started, the outputs, a problem.

    The stream is untrusted: a header is a JSON line of at most HEADER_BYTES with a known kind,
    a name and a size or a refusal; the file's bytes follow and are copied into `work_dir`
    under a name made here. Anything else ends the reading with a problem.
    """
    started, outputs = False, list[Output]()
    with stream.open("rb") as handle:
        while line := handle.readline(HEADER_BYTES):
            header = _header(line)
            if header is None:
                return started, [], "the sandbox handed back malformed output"
            if header == STARTED:
                started = True
                continue
            if len(outputs) >= MOST_OUTPUTS:
                return started, [], f"more than {MOST_OUTPUTS} datasets and charts were saved"
            if header.refused is not None:
                outputs.append(Output(header.kind, header.name, None, header.refused))
                continue
            suffix = ".parquet" if header.kind == "dataset" else ".png"
            target = work_dir / f"output-{len(outputs)}{suffix}"
            with target.open("xb") as copy:
                if _copy(handle, copy, header.size) != header.size:
                    return started, [], "the sandbox handed back a truncated file"
            outputs.append(Output(header.kind, header.name, target))
    return started, outputs, None


@dataclass(frozen=True)
class _Header:
    kind: Literal["dataset", "chart"]
    name: str
    size: int = 0
    refused: str | None = None


STARTED = _Header("dataset", "")  # stands for the child's {"started": true} line


def _header(line: bytes) -> _Header | None:
    """One header line of the results stream, or None when it is not one."""
    try:
        header = json.loads(line)
    except ValueError:
        return None
    if header == {"started": True}:
        return STARTED
    if not isinstance(header, dict):
        return None
    kind, name, size, refused = (header.get(key) for key in ("kind", "name", "size", "refused"))
    if kind not in ("dataset", "chart") or not isinstance(name, str):
        return None
    if isinstance(refused, str):
        return _Header(kind, name, refused=refused[:200])
    if not isinstance(size, int) or size < 0:
        return None
    return _Header(kind, name, size)


def _copy(source: IO[bytes], target: IO[bytes], size: int) -> int:
    copied = 0
    while copied < size and (block := source.read(min(1 << 20, size - copied))):
        target.write(block)
        copied += len(block)
    return copied
