"""The code sandbox's launcher (`runtime/sandbox.py`), called directly.

In this order: legitimate runs; then containment, by harmless probes only (host files, the
host's /proc, secrets in the environment, sockets, writes outside the tmpfs, syscall tricks,
links and devices among the outputs); then the destructive catalogue (fork and memory bombs,
endless loops, floods, a full disk, killing everything, a child outliving its parent). As root
without a working sandbox, `kill(-1, SIGKILL)` would end every process of the machine, so the
destructive tests run only after the `contained` fixture has seen containment in this same
session (it fails, it does not skip), each of their programs first checks from inside that it
is in a fresh PID namespace with the limits set and exits otherwise, and each runs in an extra
PID namespace of its own (`unshare --pid --fork --kill-child`) around the launcher.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from data_science.runtime.sandbox import (
    ENVIRONMENT,
    SANDBOX_UID,
    Limits,
    Result,
    run_sandboxed,
    run_sandboxed_async,
    sandbox_problem,
)
from data_science.runtime.workers import JobCancelled, usable_cores

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LIMITS = Limits(
    timeout_seconds=30, memory_bytes=1_000_000_000, output_bytes=5_000_000, stdout_bytes=10_000
)
SECRET = "dsagent-secret-7f3a91"


def run(
    code: str,
    work_dir: Path,
    inputs: dict[str, Path] | None = None,
    limits: Limits = LIMITS,
    cancel: threading.Event | None = None,
) -> Result:
    work_dir.mkdir(exist_ok=True)
    return run_sandboxed(textwrap.dedent(code), inputs or {}, limits, work_dir, cancel)


def report(code: str, work_dir: Path, **kwargs: Any) -> dict[str, Any]:
    """Run a probe whose last printed line is a JSON report; the report."""
    result = run(code, work_dir, **kwargs)
    assert result.outcome == "ok", result
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_sandbox_works_on_this_machine() -> None:
    assert sandbox_problem() is None


# Legitimate work ------------------------------------------------------------------------------


def test_code_sees_its_datasets_and_prints_pandas_numbers(tmp_path: Path) -> None:
    frame = pd.DataFrame({"g": ["a", "b", "a", "c"], "v": [1.5, 2.0, 3.5, 10.0]})
    frame.to_parquet(tmp_path / "in.parquet")
    result = run(
        """
        import json
        print(json.dumps({"ids": sorted(datasets), "means": df.groupby("g")["v"].mean().to_dict()}))
        """,
        tmp_path / "work",
        {"ds_00000000000000aa": tmp_path / "in.parquet"},
    )
    assert result.outcome == "ok" and result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed["ids"] == ["ds_00000000000000aa"]
    assert printed["means"] == frame.groupby("g")["v"].mean().to_dict()


def test_saved_datasets_and_charts_come_back_as_files_and_the_input_is_untouched(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame({"x": range(10), "y": [v * v for v in range(10)]})
    frame.to_parquet(tmp_path / "in.parquet")
    before = (tmp_path / "in.parquet").read_bytes()
    result = run(
        """
        import matplotlib.pyplot as plt
        df["y"] = 0  # a copy: the stored table stays as it was
        save_dataset(datasets["ds_00000000000000aa"].assign(z=1), "with z")
        plt.plot([1, 2, 3])
        save_chart("a line")
        """,
        tmp_path / "work",
        {"ds_00000000000000aa": tmp_path / "in.parquet"},
    )
    assert result.outcome == "ok", result.stderr
    assert [(o.kind, o.name, o.refused) for o in result.outputs] == [
        ("dataset", "with z", None),
        ("chart", "a line", None),
    ]
    saved = pd.read_parquet(result.outputs[0].path)
    assert saved["z"].tolist() == [1] * 10 and saved["y"].tolist() == [0] * 10
    assert result.outputs[1].path.read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "in.parquet").read_bytes() == before


def test_processes_the_code_starts_find_the_same_libraries(tmp_path: Path) -> None:
    result = run(
        """
        import multiprocessing
        from joblib import Parallel, delayed
        from sklearn.datasets import make_classification
        from sklearn.ensemble import RandomForestClassifier
        X, y = make_classification(random_state=0)
        forest = RandomForestClassifier(n_estimators=20, n_jobs=2, random_state=0).fit(X, y)
        with multiprocessing.Pool(2) as pool:
            print(pool.map(abs, [-1, -2]), Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(3)))
        print(forest.score(X, y))
        """,
        tmp_path,
        limits=Limits(timeout_seconds=60, memory_bytes=2_000_000_000, output_bytes=1_000_000,
                      stdout_bytes=1_000),
    )  # fmt: skip
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    x, y = make_classification(random_state=0)
    score = RandomForestClassifier(n_estimators=20, random_state=0).fit(x, y).score(x, y)
    assert result.outcome == "ok", result.stderr
    assert result.stdout.splitlines() == ["[1, 2] [0, 1, 2]", str(score)]


def test_a_failing_program_gives_its_traceback_and_exit_status(tmp_path: Path) -> None:
    result = run("print('before')\n1 / 0\n", tmp_path)
    assert result.outcome == "failed" and result.exit_code == 1
    assert result.stdout == "before\n"
    assert 'File "<code>", line 2' in result.stderr
    assert result.stderr.strip().endswith("ZeroDivisionError: division by zero")
    assert "child.py" not in result.stderr  # the wrapper's own frames are left out


def test_printed_output_is_kept_up_to_its_cap_and_the_rest_only_counted(tmp_path: Path) -> None:
    result = run("print('x' * 1_000_000)", tmp_path)
    assert result.outcome == "ok"
    assert result.stdout == "x" * LIMITS.stdout_bytes and result.stdout_truncated


def test_a_long_error_output_does_not_mark_stdout_as_cut(tmp_path: Path) -> None:
    result = run("import sys\nsys.stderr.write('w' * 100_000)\nprint('done')", tmp_path)
    assert result.stdout == "done\n" and not result.stdout_truncated
    assert result.stderr == "w" * 16_384  # its tail


def test_a_cancelled_call_stops_its_sandbox(tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        run("import time\ntime.sleep(60)", tmp_path, cancel=cancel)
    assert time.monotonic() - started < 10
    assert sandboxed_processes() == []


async def test_at_most_one_sandbox_per_core_runs_and_a_waiting_call_can_be_cancelled(
    tmp_path: Path,
) -> None:
    calls = 2 * usable_cores()
    cancel = threading.Event()
    running = [
        asyncio.ensure_future(
            run_sandboxed_async(
                "import time\ntime.sleep(2)", {}, LIMITS, mkdir(tmp_path / str(n)), cancel
            )
        )
        for n in range(calls)
    ]
    waiting = asyncio.ensure_future(
        run_sandboxed_async("print(1)", {}, LIMITS, mkdir(tmp_path / "w"), threading.Event())
    )
    most = 0
    while not all(call.done() for call in running):
        most = max(most, len(sandboxed_interpreters()))
        await asyncio.sleep(0.05)
    results = [call.result() for call in running]
    assert [result.outcome for result in results] == ["ok"] * calls
    assert most == usable_cores()
    assert (await waiting).stdout == "1\n"
    stopped = threading.Event()
    stopped.set()  # e.g. the person pressed Cancel while the call waited for a slot
    blockers = [
        asyncio.ensure_future(
            run_sandboxed_async(
                "import time\ntime.sleep(3)", {}, LIMITS, mkdir(tmp_path / f"b{n}"), cancel
            )
        )
        for n in range(usable_cores())
    ]
    await asyncio.sleep(1)
    with pytest.raises(JobCancelled):  # waiting for a slot, it never starts
        await run_sandboxed_async("print(1)", {}, LIMITS, mkdir(tmp_path / "c"), stopped)
    await asyncio.gather(*blockers)


def mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def sandboxed_interpreters() -> list[int]:
    """Host PIDs of the sandboxes' interpreters (not bubblewrap's processes)."""
    found = []
    for pid in sandboxed_processes():
        try:
            if (Path("/proc") / str(pid) / "cmdline").read_bytes().startswith(b"/python/"):
                found.append(pid)
        except OSError:
            continue
    return found


# Containment, by harmless probes ----------------------------------------------------------------


def sandboxed_processes() -> list[int]:
    """Host PIDs of processes running the sandbox's child script (of any call)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"/sandbox/child.py" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile
                continue
    return found


def test_only_the_python_runtime_and_the_calls_inputs_are_visible(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "ready" / "bob"
    data_dir.mkdir(parents=True)
    (data_dir / "secret.csv").write_text(f"a\n{SECRET}\n")
    mine = tmp_path / "mine.parquet"
    pd.DataFrame({"a": ["mine"]}).to_parquet(mine)
    probe = report(
        f"""
        import json, os
        secret = {SECRET[::-1]!r}[::-1].encode()  # not written as is: the code is a file too
        tried = {{}}
        for path in ["/etc/passwd", "/etc/shadow", "/root", "/home", "/work", "/var",
                     {str(data_dir / "secret.csv")!r}, {str(tmp_path)!r}, "/proc/1/root/etc"]:
            try:
                tried[path] = "READ " + (open(path).read(200) if os.path.isfile(path)
                                          else str(os.listdir(path)))
            except OSError as error:
                tried[path] = type(error).__name__
        found = []
        for top in ["/tmp", "/inputs", "/sandbox", "/"]:
            for root, dirs, files in os.walk(top):
                if root == "/":
                    dirs[:] = [d for d in dirs if d in ("tmp", "inputs", "sandbox")]
                for name in files:
                    try:
                        with open(os.path.join(root, name), "rb") as handle:
                            found.append((secret in handle.read(10**6), name))
                    except OSError:
                        pass
        print(json.dumps({{"tried": tried, "top": sorted(os.listdir("/")),
                          "inputs": sorted(os.listdir("/inputs")),
                          "secret": any(f for f, _ in found),
                          "mounts": open("/proc/self/mountinfo").read()}}))
        """,
        tmp_path / "work",
        inputs={"ds_00000000000000aa": mine},
    )
    assert set(probe["tried"].values()) <= {"FileNotFoundError", "PermissionError"}, probe
    assert probe["top"] == sorted(
        [
            "dev",
            "inputs",
            "lib",
            "lib64",
            "proc",
            "python",
            "sandbox",
            "tmp",
            "usr",
        ]
    )
    assert probe["inputs"] == ["code.py", "ds_00000000000000aa.parquet"]
    assert probe["secret"] is False
    assert str(tmp_path) not in probe["mounts"]  # inputs are copied in: no host path shows


def test_the_hosts_processes_and_the_servers_environment_are_out_of_sight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    probe = report(
        """
        import json, os
        pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        environs = []
        for pid in pids:
            try:
                environs.append(open(f"/proc/{pid}/environ", "rb").read().decode())
            except OSError:
                pass
        print(json.dumps({"pid": os.getpid(), "pids": pids, "env": dict(os.environ),
                          "environs": environs, "uid": os.getuid(),
                          "init": open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode(),
                          "host_pid_dir": os.path.exists(f"/proc/%d" % HOST_PID)}))
        """.replace("HOST_PID", str(os.getpid())),
        tmp_path,
    )
    assert probe["pid"] == 2 and probe["pids"] == [1, 2], probe  # a PID namespace of its own
    assert probe["init"].endswith("bwrap")
    assert probe["host_pid_dir"] is False
    assert set(probe["env"]) == set(ENVIRONMENT) | {"PWD"}
    assert SECRET not in json.dumps(probe) and str(tmp_path) not in json.dumps(probe["env"])
    assert probe["uid"] == SANDBOX_UID


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP port of this host on 127.0.0.1 that the sandbox must not reach."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.5)
    yield server
    server.close()


def test_no_socket_reaches_anything_not_the_hosts_loopback_nor_dns(
    tmp_path: Path, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(f"\0dsagent-test-{os.getpid()}")
    abstract.listen()
    probe = report(
        f"""
        import json, socket
        outcome = {{}}
        for name, family, address in [
            ("tcp_host_port", socket.AF_INET, ("127.0.0.1", {port})),
            ("tcp_postgres", socket.AF_INET, ("127.0.0.1", 5432)),
            ("tcp_app", socket.AF_INET, ("127.0.0.1", 8080)),
            ("tcp_outside", socket.AF_INET, ("1.1.1.1", 443)),
            ("tcp6_loopback", socket.AF_INET6, ("::1", {port})),
            ("unix_abstract", socket.AF_UNIX, "\\0dsagent-test-{os.getpid()}"),
        ]:
            try:
                with socket.socket(family, socket.SOCK_STREAM) as s:
                    s.settimeout(2)
                    s.connect(address)
                    outcome[name] = "CONNECTED"
            except OSError as error:
                outcome[name] = type(error).__name__
        try:
            socket.getaddrinfo("pypi.org", 443)
            outcome["dns"] = "RESOLVED"
        except OSError as error:
            outcome["dns"] = type(error).__name__
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.sendto(b"{SECRET}", ("127.0.0.1", {udp.getsockname()[1]}))
            except OSError:
                pass
        interfaces = [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]]
        print(json.dumps({{"outcome": outcome, "interfaces": interfaces}}))
        """,
        tmp_path,
    )
    assert "CONNECTED" not in probe["outcome"].values() and probe["outcome"]["dns"] == "gaierror"
    assert probe["interfaces"] == ["lo"]
    with pytest.raises(TimeoutError):
        listener.accept()
    with pytest.raises(TimeoutError):
        udp.recv(100)
    udp.close()
    abstract.close()


def test_nothing_outside_its_tmpfs_can_be_written(tmp_path: Path) -> None:
    site_packages = Path(pd.__file__).parents[1]
    before = sorted(path.name for path in site_packages.iterdir())
    probe = report(
        """
        import json, pandas
        site = pandas.__file__.rsplit("/", 2)[0]  # the site-packages, as bound in the sandbox
        outcome = {}
        for path in ["/x", "/python/x", f"{site}/x", f"{site}/pandas/__init__.py",
                     "/inputs/code.py", "/sandbox/child.py", "/usr/lib/x", "/dev/x",
                     "/proc/sys/kernel/hostname", "/tmp/ok"]:
            try:
                with open(path, "a") as handle:
                    handle.write("x")
                outcome[path] = "WROTE"
            except OSError as error:
                outcome[path] = type(error).__name__
        print(json.dumps(outcome))
        """,
        tmp_path,
    )
    assert probe.pop("/tmp/ok") == "WROTE"
    assert set(probe.values()) <= {"OSError", "PermissionError", "FileNotFoundError"}, probe
    assert sorted(path.name for path in site_packages.iterdir()) == before


def test_privileged_syscalls_fail_and_no_capability_is_left(tmp_path: Path) -> None:
    probe = report(
        """
        import ctypes, json, os
        libc = ctypes.CDLL(None, use_errno=True)
        calls = {
            "unshare_user": lambda: libc.unshare(0x10000000),
            "unshare_mount": lambda: libc.unshare(0x00020000),
            "unshare_net": lambda: libc.unshare(0x40000000),
            "mount_tmpfs": lambda: libc.mount(b"none", b"/tmp", b"tmpfs", 0, None),
            "remount_root_rw": lambda: libc.mount(None, b"/", None, 0x20 | 0x1000, None),
            "ptrace_init": lambda: libc.ptrace(16, 1, None, None),
            "setuid_root": lambda: libc.setuid(0),
            "chroot": lambda: libc.chroot(b"/tmp"),
            "sethostname": lambda: libc.sethostname(b"x", 1),
            "reboot": lambda: libc.reboot(0x01234567),
            "mknod_device": lambda: libc.mknod(b"/tmp/disk", 0o060600, os.makedev(8, 0)),
            "kill_init": lambda: libc.kill(1, 9),
        }
        outcome = {name: call() for name, call in calls.items()}
        status = dict(line.split(":\\t") for line in open("/proc/self/status").read().splitlines()
                      if line.startswith(("Cap", "NoNewPrivs")))
        alive = os.path.exists("/proc/1")
        print(json.dumps({"outcome": outcome, "status": status, "alive_init": alive}))
        """,
        tmp_path,
    )
    assert set(probe["outcome"].values()) == {-1}, probe
    assert probe["status"]["CapEff"] == probe["status"]["CapPrm"] == "0000000000000000"
    assert probe["status"]["NoNewPrivs"] == "1" and probe["alive_init"]


@pytest.mark.parametrize(
    ("tamper", "refusal"),
    [
        ("os.remove(path); os.symlink('/python/lib/python3.11/os.py', path)", "not a regular file"),
        ("os.remove(path); os.mkfifo(path)", "not a regular file"),
        ("os.remove(path); os.mkdir(path)", "not a regular file"),
        ("os.remove(path)", "it was removed"),
    ],
    ids=["symlink", "fifo", "directory", "removed"],
)
def test_a_saved_file_swapped_for_a_link_or_special_file_is_refused(
    tmp_path: Path, tamper: str, refusal: str
) -> None:
    result = run(
        f"""
        import os, pandas as pd
        save_dataset(pd.DataFrame({{"a": [1]}}), "../../etc/passwd")
        path = "/tmp/.outputs/dataset-0.parquet"
        {tamper}
        """,
        tmp_path,
    )
    assert result.outcome == "ok", result.stderr
    [output] = result.outputs
    assert output.refused == refusal and output.path is None
    assert sorted(path.name for path in tmp_path.iterdir()) == ["results.stream"]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (b"not json\n", "malformed"),
        (b'{"kind": "model", "name": "x", "size": 1}\nx', "malformed"),
        (b'{"kind": "dataset", "name": "x", "size": 1000}\nshort', "truncated"),
        (b'{"kind": "dataset", "name": "x", "size": -5}\n', "malformed"),
    ],
    ids=["garbage", "unknown-kind", "short-file", "negative-size"],
)
def test_forged_frames_on_the_results_pipe_are_refused_whole(
    tmp_path: Path, written: bytes, problem: str
) -> None:
    result = run(
        f"""
        import os
        [results] = [  # the one pipe above 2 (the listing's own descriptor is gone by then)
            int(name) for name in os.listdir("/proc/self/fd")
            if int(name) > 2 and os.path.exists(f"/proc/self/fd/{{name}}")
            and os.readlink(f"/proc/self/fd/{{name}}").startswith("pipe:")
        ]
        os.write(results, {written!r})
        """,
        tmp_path,
    )
    assert result.outcome == "ok", result.stderr
    assert result.outputs == [] and result.problem is not None and problem in result.problem


def test_a_forged_name_is_only_text_the_host_names_every_file_itself(tmp_path: Path) -> None:
    result = run(
        """
        import os, pandas as pd
        save_dataset(pd.DataFrame({"a": [1]}), "../../../../etc/cron.d/evil")
        """,
        tmp_path,
    )
    [output] = result.outputs
    assert output.name == "../../../../etc/cron.d/evil"
    assert output.path == tmp_path / "output-0.parquet"


# The destructive catalogue: only after containment was seen, each in an extra PID namespace ----

# Every destructive program starts with this: it runs on only in a fresh PID namespace (it is
# PID 2 beside bubblewrap's init), as an unprivileged user, under the process and memory limits,
# without the host's files; otherwise it exits before doing anything.
GUARD = """\
import os as _os, resource as _resource
if (_os.getpid() != 2 or sorted(p for p in _os.listdir("/proc") if p.isdigit()) != ["1", "2"]
        or _os.getuid() == 0 or _os.path.exists("/etc") or _os.path.exists("/work")
        or _resource.getrlimit(_resource.RLIMIT_NPROC)[1] > 1000
        or _resource.getrlimit(_resource.RLIMIT_AS)[1] > 4 * 2**30):
    _os.write(2, b"NOT CONTAINED: refusing to run")
    _os._exit(97)
"""
DESTRUCTIVE = Limits(
    timeout_seconds=4, memory_bytes=600_000_000, output_bytes=2_000_000, stdout_bytes=2_000,
    processes=32,
)  # fmt: skip
# Runs the launcher in the PID namespace `unshare` makes: whatever the code does to processes
# it can see, it cannot reach beyond that namespace even if the sandbox's own one failed.
RUNNER = """
import json, sys, tempfile
from pathlib import Path
from data_science.runtime.sandbox import Limits, run_sandboxed
request = json.loads(sys.stdin.read())
with tempfile.TemporaryDirectory() as work:
    result = run_sandboxed(request["code"], {}, Limits(**request["limits"]), Path(work))
print(json.dumps({"outcome": result.outcome, "exit_code": result.exit_code, "seconds":
                  result.seconds, "stdout": result.stdout, "stderr": result.stderr,
                  "truncated": result.stdout_truncated}))
"""


@pytest.fixture(scope="module")
def contained() -> None:
    """Containment shown in this session by harmless probes, or the module's remaining tests
    fail here (never skip): the PID namespace, the user, the kernel's process limit, no network
    and no host files."""
    limits = Limits(
        timeout_seconds=30, memory_bytes=600_000_000, output_bytes=1_000_000, stdout_bytes=4_000,
        processes=16,
    )  # fmt: skip
    code = """
        import json, os, resource, time
        pids = sorted(p for p in os.listdir("/proc") if p.isdigit())
        forked = 0
        for _ in range(24):  # bounded: harmless even without a process limit
            try:
                if os.fork() == 0:
                    time.sleep(2)
                    os._exit(0)
                forked += 1
            except OSError:
                break
        print(json.dumps({"pid": os.getpid(), "pids": pids, "uid": os.getuid(), "forked": forked,
                          "etc": os.path.exists("/etc"),
                          "interfaces": open("/proc/net/dev").read()}))
    """
    with tempfile.TemporaryDirectory() as work:
        result = run(code, Path(work), limits=limits)
    try:
        probe = json.loads(result.stdout.strip().splitlines()[-1])
        assert probe["pid"] == 2 and probe["pids"] == ["1", "2"], "no PID namespace of its own"
        assert probe["uid"] != 0, "the code runs as root of its namespace"
        assert probe["forked"] < limits.processes, "the process limit does not hold"
        assert not probe["etc"] and "eth" not in probe["interfaces"], "host files or network"
    except (AssertionError, ValueError, IndexError) as problem:
        pytest.fail(f"Containment was not shown, so no destructive test runs: {problem}; {result}")


@pytest.fixture
def canary() -> Iterator[subprocess.Popen[bytes]]:
    """A process of the host owned by the same host user the sandbox's code runs as."""
    user = {"user": SANDBOX_UID, "group": SANDBOX_UID, "extra_groups": []}
    sleeper = [shutil.which("sleep") or "/bin/sleep", "600"]  # any user may run it
    process = subprocess.Popen(sleeper, **(user if os.geteuid() == 0 else {}))
    yield process
    process.kill()
    process.wait()


def destroy(code: str, limits: Limits = DESTRUCTIVE) -> dict[str, Any]:
    """Run a destructive program behind GUARD, in the launcher, inside an extra PID namespace."""
    wrapper = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        wrapper[1:1] = ["--user", "--map-current-user"]
    request = {"code": GUARD + textwrap.dedent(code), "limits": limits.__dict__}
    finished = subprocess.run(
        [*wrapper, sys.executable, "-c", RUNNER],
        input=json.dumps(request).encode(),
        capture_output=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=limits.timeout_seconds + 60,
        check=True,
    )
    outcome = dict(json.loads(finished.stdout))
    assert outcome["exit_code"] != 97, "the program found itself uncontained and did nothing"
    assert sandboxed_processes() == [], "a process of the sandbox outlived the call"
    return outcome


after_containment = pytest.mark.usefixtures("contained")


@after_containment
def test_a_fork_bomb_meets_the_process_limit_and_dies_at_the_timeout(
    canary: subprocess.Popen[bytes],
) -> None:
    outcome = destroy(
        """
        while True:
            try:
                _os.fork()
            except OSError:
                pass
        """
    )
    assert outcome["outcome"] == "timeout"
    assert DESTRUCTIVE.timeout_seconds <= outcome["seconds"] < DESTRUCTIVE.timeout_seconds + 5
    assert canary.poll() is None


@after_containment
@pytest.mark.parametrize(
    "bomb",
    [
        "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 2**20))",
        "bytearray(100 * 2**30)",
        "import numpy as np\nnp.ones((200_000, 200_000))",
    ],
    ids=["growing", "one-huge-block", "numpy"],
)
def test_a_memory_bomb_ends_in_memory_error_within_its_limit(bomb: str) -> None:
    outcome = destroy(bomb)
    assert outcome["outcome"] == "failed" and outcome["exit_code"] == 1
    assert "MemoryError" in outcome["stderr"]
    assert "ran out of memory (CODE_MEMORY_BYTES)" in outcome["stderr"]


@after_containment
def test_an_endless_loop_is_killed_at_the_timeout() -> None:
    outcome = destroy("while True:\n    pass")
    assert outcome["outcome"] == "timeout"
    assert DESTRUCTIVE.timeout_seconds <= outcome["seconds"] < DESTRUCTIVE.timeout_seconds + 5


@after_containment
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_gigantic_output_is_cut_off_while_it_streams(stream: str) -> None:
    outcome = destroy(f"import sys\nwhile True:\n    sys.{stream}.write('x' * 65536)")
    assert outcome["outcome"] == "flooded"
    assert outcome["seconds"] < DESTRUCTIVE.timeout_seconds  # stopped at the cap, not the clock
    assert len(outcome["stdout"]) <= DESTRUCTIVE.stdout_bytes


@after_containment
def test_filling_the_disk_fills_only_its_own_small_tmpfs() -> None:
    free_before = shutil.disk_usage(PROJECT_ROOT).free
    outcome = destroy(
        """
        import errno, json, os
        found = {}
        try:
            with open("/tmp/big", "wb") as handle:
                while True:
                    handle.write(b"\\0" * 2**20)
        except OSError as error:
            found["one_file"] = errno.errorcode[error.errno]
        os.remove("/tmp/big")
        try:
            for number in range(10**6):
                with open(f"/tmp/small-{number}", "wb") as handle:
                    handle.write(b"\\0" * 65536)
        except OSError as error:
            found["many_files"] = errno.errorcode[error.errno]
        stat = os.statvfs("/tmp")
        found["tmpfs_bytes"] = stat.f_blocks * stat.f_frsize
        print(json.dumps(found))
        """
    )
    found = json.loads(outcome["stdout"])
    assert found["one_file"] in {"EFBIG", "ENOSPC"} and found["many_files"] == "ENOSPC"
    assert found["tmpfs_bytes"] <= DESTRUCTIVE.output_bytes + 4096  # whole pages
    assert abs(shutil.disk_usage(PROJECT_ROOT).free - free_before) < 500_000_000


@after_containment
def test_killing_its_parent_and_every_process_it_can_see_harms_nothing_outside(
    canary: subprocess.Popen[bytes],
) -> None:
    outcome = destroy(
        """
        import signal
        for target in [_os.getppid(), 1, -1, *range(3, 70000)]:
            try:
                _os.kill(target, signal.SIGKILL)
            except OSError:
                pass
        print("still here", flush=True)
        _os.kill(0, signal.SIGKILL)  # its own process group: itself
        """
    )
    assert outcome["stdout"] == "still here\n"
    assert outcome["outcome"] == "failed" and outcome["exit_code"] == 128 + 9
    assert canary.poll() is None


@after_containment
@pytest.mark.parametrize("main", ["exits at once", "outlives the timeout too"])
def test_a_child_that_tries_to_outlive_the_call_is_killed_with_it(main: str) -> None:
    marker = f"outliver-{os.getpid()}-{time.monotonic_ns()}"
    outcome = destroy(
        f"""
        import signal, subprocess, sys, time
        script = "import os, signal, time\\n"
        script += "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):\\n"
        script += "    signal.signal(s, signal.SIG_IGN)\\n"
        script += "if os.fork(): os._exit(0)\\n"
        script += "os.setsid()\\n"
        script += "time.sleep(600)  # {marker}"
        subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
        time.sleep(1)
        print("spawned", flush=True)
        if {main == "outlives the timeout too"}:
            time.sleep(600)
        """
    )
    assert outcome["outcome"] == ("ok" if main == "exits at once" else "timeout")
    assert outcome["stdout"] == "spawned\n"
    assert not [
        entry.name
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and marker.encode() in _cmdline(entry)
    ]


def _cmdline(process: Path) -> bytes:
    try:
        return (process / "cmdline").read_bytes()
    except OSError:
        return b""
