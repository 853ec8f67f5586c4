"""The project as a package: `uv build` makes a wheel that installs into a clean virtual
environment, and its `data-science-agent` command serves the chat page and answers a chat.

Installed with the locked versions (`uv export`) so that the test does not depend on what the
package index published today; run from an empty directory so nothing of the checkout is used.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx

from data_science.config import APP_NAME
from tests.conftest import PROJECT_ROOT, LiveServer


def uv(*args: str, cwd: Path = PROJECT_ROOT) -> None:
    executable = shutil.which("uv")
    assert executable, "uv is needed to build the package"
    subprocess.run([executable, *args], cwd=cwd, check=True, capture_output=True, timeout=600)


def test_the_wheel_installs_and_its_command_serves_the_app(tmp_path: Path) -> None:
    uv("build", "--wheel", "--out-dir", str(tmp_path / "dist"))
    (wheel,) = (tmp_path / "dist").glob("data_science_agent-*.whl")
    constraints = tmp_path / "locked.txt"
    uv("export", "--no-dev", "--no-hashes", "--no-emit-project", "--frozen", "-o", str(constraints))
    venv = tmp_path / "venv"
    uv("venv", "--quiet", "--python", "3.11", str(venv))
    python = str(venv / "bin" / "python")
    uv("pip", "install", "--quiet", "--python", python, "-c", str(constraints), str(wheel))
    command = venv / "bin" / "data-science-agent"
    assert command.exists()
    assert not (venv / "bin" / "pytest").exists()  # the test tools stay out of an install

    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    server = LiveServer(tmp_path / "data", root=workdir)
    server.command = [str(command)]
    server.start()
    try:
        page = httpx.get(f"{server.url}/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()
        script = httpx.get(f"{server.url}/js/main.js", timeout=30)
        assert script.status_code == 200
        created = httpx.post(f"{server.url}/apps/{APP_NAME}/users/alice/sessions", timeout=60)
        assert created.status_code == 200
    finally:
        server.stop()
