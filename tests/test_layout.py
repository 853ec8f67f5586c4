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
