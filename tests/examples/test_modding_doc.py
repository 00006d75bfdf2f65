"""The modding guide's walk-through is the weather example: every module of the example is shown
in it (tests/test_docs.py checks each block is still verbatim in its file), its own example test
passes, and the example's registrations are all explained."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "modding.md"
EXAMPLE = ROOT / "examples" / "weather" / "src" / "kadath_weather"

_PYTHON = re.compile(r"^(?P<indent>[ \t]*)```python\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)
_SOURCE = re.compile(r"^<!-- source: (\S+) -->$", re.M)


def _python_blocks() -> list[str]:
    return [textwrap.dedent(m["body"]) for m in _PYTHON.finditer(GUIDE.read_text())]


def test_the_guide_shows_every_module_of_the_weather_example() -> None:
    shown = set(_SOURCE.findall(GUIDE.read_text()))
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in EXAMPLE.rglob("*")
        if path.suffix in {".py", ".toml"}
    }
    assert modules <= shown, f"not shown in the guide: {sorted(modules - shown)}"


def test_every_registration_of_the_example_is_explained_in_the_guide() -> None:
    guide = GUIDE.read_text()
    registered = set()
    for path in EXAMPLE.rglob("*.py"):
        registered |= set(re.findall(r"\bkit\.(\w+)\(", path.read_text()))
    assert registered >= {"component", "world_state", "content_table", "system", "look_contributor"}
    for method in registered:
        assert f"kit.{method}(" in guide, f"the guide never explains kit.{method}"


def test_the_guides_example_test_passes() -> None:
    (block,) = [block for block in _python_blocks() if "def test_" in block]
    namespace: dict[str, object] = {"__name__": "modding_guide_example"}
    exec(compile(block, f"{GUIDE}:example test", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        assert callable(test)
        test()
