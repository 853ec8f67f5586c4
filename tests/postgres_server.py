"""A throwaway PostgreSQL server for the persistence tests, when TEST_POSTGRES_URL is not set.

The binaries come from the system when it has them (Debian's `postgresql` package, or `initdb`
on PATH), else from the `pgserver` wheel (a development dependency that ships PostgreSQL).
The server listens on 127.0.0.1 on a free port, trusts local connections, lives in a temporary
directory and is stopped and removed when the test run ends. As root it runs as the `postgres`
system user (or `nobody`): PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import free_port

if TYPE_CHECKING:
    from tests.loopback import LoopbackNamespace

ROLE = "dsagent"
DATABASE = "dsagent_test"
START_TIMEOUT_SECONDS = 120


def postgres_binaries(*, system: bool = True) -> Path:
    """The directory holding initdb and pg_ctl: the system's first (unless `system` is False)."""
    if system:
        debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        found = str(debian[-1]) if debian else shutil.which("initdb")
        if found:
            return Path(found).parent
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def start_postgres(binaries: Path, namespace: LoopbackNamespace | None = None) -> str:
    """Start a server from `binaries`; return its SQLAlchemy URL (stopped at interpreter exit).

    With `namespace` (tests/loopback.py) the server listens on that namespace's loopback.
    """
    data = Path(tempfile.mkdtemp(prefix="dsagent-postgres-"))
    user = _unprivileged_user()
    if user is not None:
        os.chown(data, user.pw_uid, user.pw_gid)
    port = free_port()

    def run(*command: str, network: bool = True) -> None:
        argv = [str(binaries / command[0]), *command[1:]]
        as_user = (user.pw_uid, user.pw_gid) if user else None
        inside = namespace is not None and network
        subprocess.run(
            namespace.command(argv, user=as_user) if namespace and inside else argv,
            # nsenter must switch users itself: it needs root to join the namespace.
            user=as_user[0] if as_user and not inside else None,
            group=as_user[1] if as_user and not inside else None,
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
            cwd=data,
        )

    def stop() -> None:
        try:
            # A signal, no network: works after the namespace's holder has gone.
            run("pg_ctl", "-D", cluster, "-m", "immediate", "stop", network=False)
        finally:
            shutil.rmtree(data, ignore_errors=True)

    cluster = str(data / "cluster")
    run("initdb", "-D", cluster, "-U", ROLE, "--auth=trust", "-E", "UTF8")
    options = f"-h 127.0.0.1 -p {port} -k {data}"
    run("pg_ctl", "-D", cluster, "-l", str(data / "log"), "-o", options, "-w", "start")
    atexit.register(stop)
    run("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", ROLE, DATABASE)
    return f"postgresql+asyncpg://{ROLE}@127.0.0.1:{port}/{DATABASE}"


def _unprivileged_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root with neither a 'postgres' nor a 'nobody' user")
