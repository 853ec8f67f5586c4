"""The package keeps its shape: a small root, imports pointing down, settings loaded at the top."""

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT_ROOT / "data_science"
ROOT_MODULES = {"__init__", "agent", "config", "errors", "jsonsafe", "prompts"}
# From the composition root down to the leaves: a module imports only from its own folder and
# from folders after it (the README's layout section lists them in this order).
LAYERS = [
    "server",
    "agent",
    "plugins",
    "tools",
    "llm",
    "offline",
    "reproduce",
    "ml",
    "intake",
    "storage",
    "runtime",
    "observability",
    "config",
    "errors",
    "prompts",
    "jsonsafe",
]
# The worker pool imports the table reader in each new worker so pandas and pyarrow are loaded
# before the first job (runtime/workers.py, `warm_up`): a warm-up, not a use.
KNOWN_UPWARD = {("runtime/workers.py", "storage")}
# Where a process starts: the only places that read the settings from the environment.
SETTINGS_LOADERS = {
    "data_science/server/launch.py",
    "verify_production.py",
    "data_science/agent.py",
}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "data_science" else None


def test_the_package_root_holds_only_what_a_newcomer_opens_first() -> None:
    assert {path.stem for path in PACKAGE.glob("*.py")} == ROOT_MODULES
    folders = {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}
    assert folders == set(LAYERS) - ROOT_MODULES


def test_imports_point_down_the_layers() -> None:
    upward = set()
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        own = relative.parts[0].removesuffix(".py")
        if own not in LAYERS:  # the package's __init__.py
            continue
        for module in imported_modules(path):
            other = layer_of(module)
            if other in LAYERS and other != own and LAYERS.index(other) < LAYERS.index(own):
                upward.add((relative.as_posix(), other))
    assert upward == KNOWN_UPWARD


def test_settings_are_loaded_only_where_a_process_starts() -> None:
    sources = [*PACKAGE.rglob("*.py"), *PROJECT_ROOT.glob("*.py")]
    loaders = {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in sources
        if "load_settings(" in path.read_text() and path.name != "config.py"
    }
    assert loaders == SETTINGS_LOADERS
    assert not any("get_settings" in path.read_text() for path in sources)


# Libraries only worker processes import (runtime/remote.py): the server process must not wait
# for them at start-up or on a first turn (issue #17; tests/test_server_imports.py watches the
# running server, this rule the source).
WORKER_ONLY = {
    "sklearn",
    "scipy",
    "matplotlib",
    "statsmodels",
    "duckdb",
    "autogluon",
    "flaml",
    "statsforecast",
    "lightgbm",
    "xgboost",
    "catboost",
}
# main.py runs launch; boot.py builds the app (server/app.py) in a thread once the port is open.
SERVER_ENTRIES = ["data_science.server.launch", "data_science.server.app"]


def load_time_imports(path: Path) -> set[str]:
    """Modules a module imports when it is loaded: its top-level imports, those in top-level
    `if`/`try` blocks included, except under `if TYPE_CHECKING` (functions import later)."""
    names: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.If):
                if not (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    return names


def source_of(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def test_the_server_process_loads_no_worker_only_library() -> None:
    reached: dict[str, str] = {}  # module -> the project module that imports it
    waiting = list(SERVER_ENTRIES)
    seen = set(waiting)
    while waiting:
        module = waiting.pop()
        path = source_of(module)
        assert path is not None, module
        parents = [".".join(module.split(".")[:n]) for n in range(2, module.count(".") + 1)]
        for name in load_time_imports(path) | set(parents):
            if name.split(".")[0] != "data_science":
                reached.setdefault(name.split(".")[0], module)
            elif name not in seen and source_of(name) is not None:
                seen.add(name)
                waiting.append(name)
    assert {name: reached[name] for name in WORKER_ONLY & reached.keys()} == {}
