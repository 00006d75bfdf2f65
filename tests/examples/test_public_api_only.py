"""The example plugins are written against the public API alone: besides the standard library and
their own package, they import ``engine.api`` and nothing else of Kadath or anyone else's."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PUBLIC = "engine.api"


def _modules(path: Path) -> set[str]:
    """Every module the file at ``path`` imports, by its full dotted name."""
    return _modules_in(path.read_text(encoding="utf-8"))


def _modules_in(source: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _packages() -> list[Path]:
    return sorted(path for path in EXAMPLES.glob("*/src/*") if (path / "__init__.py").exists())


def test_there_are_example_plugins_to_check() -> None:
    assert {path.name for path in _packages()} >= {"kadath_candles", "kadath_weather"}


@pytest.mark.parametrize("package", _packages(), ids=lambda path: path.name)
def test_an_example_imports_only_the_public_api_the_standard_library_and_itself(
    package: Path,
) -> None:
    for path in sorted(package.rglob("*.py")):
        for module in _modules(path):
            top = module.split(".")[0]
            allowed = (
                module == PUBLIC
                or top == package.name
                or top == "__future__"
                or top in sys.stdlib_module_names
            )
            assert allowed, f"{path.relative_to(EXAMPLES)} imports {module}: use {PUBLIC}"


def test_the_check_sees_a_forbidden_import() -> None:
    source = "from engine.world import World\nimport engine.api\nfrom engine import api\n"
    assert _modules_in(source) == {"engine.world", "engine.api", "engine"}
