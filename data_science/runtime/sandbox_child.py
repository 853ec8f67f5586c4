"""The script that runs inside the code sandbox, around the model's code.

`runtime/sandbox.py` runs it by path inside bubblewrap (`python -I -B child.py SETUP`), with
the interpreter, its libraries and this file bound read-only. It imports nothing of this
package: inside the sandbox there is no package, only the standard library and the bound
site-packages.

In this order, before any of the model's code runs, it: closes every file descriptor it was not
given, becomes the unprivileged sandbox user (when the launcher ran as root), sets its rlimits,
lowers its priority, loads the input tables into `datasets` (and `df` when there is one), and
defines `save_dataset` and `save_chart`. Then it runs the code. Afterwards it hands back what the
helpers saved (files in its private tmpfs) over the results pipe, one frame each: a JSON header
line, then the file's bytes. The launcher trusts none of it: the model's code ran in this same
process and may have changed anything here.
"""

from __future__ import annotations

import contextlib
import json
import linecache
import os
import resource
import stat
import sys
import traceback
from pathlib import Path
from typing import Any

INPUTS = Path("/inputs")
# The sandbox's /tmp is its own private tmpfs: no other user's.
OUTPUTS = Path("/tmp/.outputs")  # noqa: S108  # nosec B108
CODE_NAME = "<code>"
# Exit statuses the launcher reads: the code ran and failed; the sandbox could not be set up.
CODE_FAILED = 1
SETUP_FAILED = 2
CHUNK = 1 << 20


class Outputs:
    """What `save_dataset` and `save_chart` wrote, in order, and how much more may be saved."""

    def __init__(self, limit: int, most: int) -> None:
        self.limit = limit
        self.most = most
        self.saved: list[tuple[str, str, Path]] = []

    def next_path(self, kind: str, suffix: str) -> Path:
        if len(self.saved) >= self.most:
            raise RuntimeError(
                f"At most {self.most} datasets and charts can be saved in one call; "
                "combine results or make several calls."
            )
        OUTPUTS.mkdir(exist_ok=True)
        return OUTPUTS / f"{kind}-{len(self.saved)}{suffix}"

    def add(self, kind: str, name: str, path: Path) -> None:
        used = sum(item.stat().st_size for _, _, item in self.saved) + path.stat().st_size
        if used > self.limit:
            path.unlink()
            raise RuntimeError(
                f"The saved outputs would exceed {self.limit:,} bytes (CODE_OUTPUT_MAX_BYTES); "
                "save fewer or smaller datasets and charts."
            )
        self.saved.append((kind, name, path))


def main() -> int:
    setup = json.loads(sys.argv[1])
    results = int(setup["results_fd"])
    _close_inherited(keep={0, 1, 2, results})
    _become(int(setup["uid"]), int(setup["gid"]))
    _limit(setup["limits"])
    os.nice(int(setup["niceness"]))
    import site

    for directory in setup["site_dirs"]:
        site.addsitedir(directory)
    _send(results, {"started": True})
    outputs = Outputs(int(setup["limits"]["output_bytes"]), int(setup["most_outputs"]))
    namespace = _namespace(outputs)
    status = _run((INPUTS / "code.py").read_text("utf-8"), namespace)
    sys.stdout.flush()
    sys.stderr.flush()
    _hand_back(results, outputs)
    return status


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor bubblewrap passed down but the standard ones and the results pipe
    (the files it copied in, the user namespace's handle)."""
    for entry in list(Path("/proc/self/fd").iterdir()):
        if int(entry.name) not in keep:
            # The listing's own descriptor is closed by then.
            with contextlib.suppress(OSError):
                os.close(int(entry.name))


def _become(uid: int, gid: int) -> None:
    """Drop to the sandbox user when bubblewrap started us as root of our user namespace.

    The launcher does this only when the server runs as root: that namespace maps the sandbox
    user to an unprivileged user of the host, so the kernel's per-user process limit holds.
    Changing every uid away from 0 also clears the two capabilities kept for this step.
    """
    if os.getuid() != 0:
        return
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit(SETUP_FAILED)


def _limit(limits: dict[str, int]) -> None:
    """The rlimits, set before anything large is loaded (the launcher's values, never raised).

    The process limit is set here, inside the sandbox's user namespace, because there the
    kernel counts only this sandbox's processes; set outside it, it would count the server's.
    """
    for name, value in (
        ("RLIMIT_AS", limits["memory_bytes"]),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_NPROC", limits["processes"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_FSIZE", limits["output_bytes"]),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))


def _namespace(outputs: Outputs) -> dict[str, Any]:
    """The globals the code sees: `datasets`, `df` when there is exactly one, the two helpers."""
    datasets: dict[str, Any] = {}
    tables = sorted(INPUTS.glob("*.parquet"))
    if tables:
        import pandas as pd

        datasets = {path.stem: pd.read_parquet(path) for path in tables}

    def save_dataset(frame: Any, name: str) -> None:
        """Save a pandas DataFrame as a new dataset of the chat, called `name`."""
        _save_dataset(outputs, frame, name)

    def save_chart(title: str) -> None:
        """Save the current matplotlib figure as a chart shown in the chat, titled `title`."""
        _save_chart(outputs, title)

    namespace: dict[str, Any] = {
        "__name__": "__main__",
        "datasets": datasets,
        "save_dataset": save_dataset,
        "save_chart": save_chart,
    }
    if len(datasets) == 1:
        namespace["df"] = next(iter(datasets.values()))
    return namespace


def _save_dataset(outputs: Outputs, frame: Any, name: str) -> None:
    import pandas as pd

    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"save_dataset needs a pandas DataFrame, not {type(frame).__name__}.")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("save_dataset needs a name, e.g. save_dataset(result, 'sales by region').")
    # A group-by's keys live in its index: keep them as columns.
    if not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None):
        frame = frame.reset_index()
    frame = frame.copy()
    frame.columns = [
        "_".join(str(part) for part in column) if isinstance(column, tuple) else str(column)
        for column in frame.columns
    ]
    path = outputs.next_path("dataset", ".parquet")
    frame.to_parquet(path, index=False)
    outputs.add("dataset", name, path)


def _save_chart(outputs: Outputs, title: str) -> None:
    import matplotlib.pyplot as plt

    figure = plt.gcf()
    if not figure.get_axes():
        raise ValueError("save_chart saves the current matplotlib figure, but nothing is drawn.")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("save_chart needs a title, e.g. save_chart('Sales by month').")
    path = outputs.next_path("chart", ".png")
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
    outputs.add("chart", title, path)


def _run(code: str, namespace: dict[str, Any]) -> int:
    """Run the code; on failure print its traceback without this script's own frame."""
    linecache.cache[CODE_NAME] = (len(code), None, code.splitlines(True), CODE_NAME)
    try:
        # Running the model's code is this script's purpose; it runs only inside the sandbox.
        exec(compile(code, CODE_NAME, "exec"), namespace)  # noqa: S102  # nosec B102
    except SystemExit as stop:
        if stop.code in (None, 0):
            return 0
        sys.stderr.write(f"The code called exit({stop.code!r}).\n")
        return CODE_FAILED
    except BaseException as error:  # the code's own failure, reported to the model
        shown = traceback.TracebackException.from_exception(error)
        shown.stack = traceback.StackSummary.from_list(shown.stack[1:])
        sys.stderr.write("".join(shown.format()))
        if isinstance(error, MemoryError):
            sys.stderr.write("The code ran out of memory (CODE_MEMORY_BYTES).\n")
        return CODE_FAILED
    return 0


def _hand_back(results: int, outputs: Outputs) -> None:
    """Send each saved file over the results pipe: only regular files, never a link."""
    for kind, name, path in outputs.saved:
        try:
            info = os.lstat(path)
        except OSError:
            _send(results, {"kind": kind, "name": name, "refused": "it was removed"})
            continue
        if not stat.S_ISREG(info.st_mode):
            _send(results, {"kind": kind, "name": name, "refused": "not a regular file"})
            continue
        _send(results, {"kind": kind, "name": name, "size": info.st_size})
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(CHUNK), b""):
                _write(results, block)


def _send(results: int, header: dict[str, Any]) -> None:
    _write(results, json.dumps(header).encode("utf-8") + b"\n")


def _write(results: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(results, view) :]


if __name__ == "__main__":
    try:
        status = main()
    except BaseException:  # a failure of the set-up, before or after the code
        traceback.print_exc()
        status = SETUP_FAILED
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
