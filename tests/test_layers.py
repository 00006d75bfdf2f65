"""The arrows point inward: each layer imports only what the design allows it (DESIGN's table),
so that rules never reach sockets or the database, and the engine never reaches the game."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What each folder may import besides the standard library and itself.
ALLOWED: dict[str, set[str]] = {
    "engine": {"esper", "orjson"},
    "components": {"engine"},
    "systems": {"engine", "components", "pydantic", "pydantic_core"},  # content validation
    "net": {"engine", "websockets", "orjson", "prometheus_client", "nats"},
    "persist": {"engine", "components", "sqlmodel", "sqlalchemy", "orjson", "psycopg"},
}

#: The public faces of the engine for plugins: modules of ``engine/`` that sit outside the layers.
#: A plugin imports from one module only, and the built-in components and rule helpers it needs
#: live in ``components/`` and ``systems/``, so these re-export them; in exchange nothing else
#: may import them (below), and the arrows of the rest of the engine still point inward.
FACADES: dict[str, set[str]] = {
    "engine/api.py": {"esper", "orjson", "components", "systems", "pydantic"},
    "engine/testing.py": {"esper", "orjson", "components", "systems"},
}

#: Process entry points that sit in a layer yet wire it to another, as the CLI does. The cluster's
#: gateway and a shard's shell are processes that join the bus (net) to the database all the
#: world's processes share (accounts, who owns what, hand-offs, the zone map, the token secret):
#: their persist imports are that wiring. Every other module of net stays free of persist.
ENTRY_POINTS: dict[str, set[str]] = {
    "net/gateway.py": ALLOWED["net"] | {"persist", "sqlalchemy"},
    "net/shard.py": ALLOWED["net"] | {"persist", "sqlalchemy"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_the_design_allows(layer: str) -> None:
    for path in sorted((ROOT / layer).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        allowed = FACADES.get(relative, ENTRY_POINTS.get(relative, ALLOWED[layer]))
        outside = {
            name
            for name in _imports(path)
            if name not in sys.stdlib_module_names and name != layer and name != "__future__"
        }
        assert outside <= allowed, f"{path.relative_to(ROOT)} imports {outside}"


def _module_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_nothing_in_kadath_imports_the_public_facades() -> None:
    """The facades re-export the game to plugins; were the engine, the rules or the shells to
    import them, the layers above would be a circle."""
    facades = {path.removesuffix(".py").replace("/", ".") for path in FACADES}
    for layer in ALLOWED:
        for path in sorted((ROOT / layer).rglob("*.py")):
            if path.relative_to(ROOT).as_posix() in FACADES:
                continue
            assert not _module_names(path) & facades, f"{path.relative_to(ROOT)} imports a facade"


def test_the_network_shell_knows_no_game_component() -> None:
    """Who hears an event, and who is in the world, are rules the core plugin provides."""
    for path in sorted((ROOT / "net").rglob("*.py")):
        assert "components" not in _imports(path), path.name
        assert "systems" not in _imports(path), path.name


#: What the part of bench/ that an installed Kadath carries may import: Kadath's own packages and
#: its dependencies (SQLAlchemy comes with SQLModel). Never pytest, the tests, or a benchmark suite.
INSTALLED_BENCH_MAY_IMPORT = {"engine", "components", "systems", "net", "persist", "pyinstrument"}
INSTALLED_BENCH_MAY_IMPORT |= {"sqlalchemy"}


def _modules_imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_installed_part_of_bench_imports_only_what_an_installed_kadath_has() -> None:
    """``kadath profile`` runs from a wheel, where bench/ holds only pyproject's py-modules."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    installed = set(setuptools["py-modules"])
    assert installed and all(name.startswith("bench.") for name in installed)
    for name in sorted(installed):
        path = ROOT / (name.replace(".", "/") + ".py")
        for module in _modules_imported(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            if top == "bench":
                assert module in installed, f"{name} imports {module}, which is not installed"
            else:
                assert top in INSTALLED_BENCH_MAY_IMPORT, f"{name} imports {module}"
