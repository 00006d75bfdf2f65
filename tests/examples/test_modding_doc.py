"""The modding guide's code must not rot: its Python compiles, its example test passes, and every
block marked as an excerpt of the candles plugin is still, verbatim, in the plugin's files."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "modding.md"
EXAMPLE = ROOT / "examples" / "candles"

# A fenced block, optionally preceded by "<!-- excerpt: PATH -->" on the line before its fence.
# Blocks may be indented (inside a list item); the fence's indent is removed from the body.
_BLOCK_RE = re.compile(
    r"(?:^[ \t]*<!-- excerpt: (?P<source>\S+) -->\n)?"
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    body: str
    source: str | None

    def __str__(self) -> str:
        return f"modding.md:{self.line}"


def blocks() -> list[Block]:
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK_RE.finditer(text):
        body = textwrap.dedent(match["body"])
        line = text.count("\n", 0, match.start("lang")) + 1
        found.append(Block(line, match["lang"], body, match["source"]))
    return found


PYTHON = [block for block in blocks() if block.lang == "python"]
EXCERPTS = [block for block in blocks() if block.source is not None]


def test_the_guide_has_python_and_excerpt_blocks_to_check() -> None:
    assert len(PYTHON) >= 8
    assert len(EXCERPTS) >= 8
    assert {block.source for block in EXCERPTS} >= {
        "pyproject.toml",
        "src/kadath_candles/__init__.py",
        "src/kadath_candles/components.py",
        "src/kadath_candles/burning.py",
    }


@pytest.mark.parametrize("block", PYTHON, ids=str)
def test_every_python_block_of_the_guide_compiles(block: Block) -> None:
    compile(block.body, f"{GUIDE}:{block.line}", "exec")


@pytest.mark.parametrize("block", EXCERPTS, ids=str)
def test_every_excerpt_in_the_guide_is_verbatim_in_the_example_plugin(block: Block) -> None:
    assert block.source is not None
    source = (EXAMPLE / block.source).read_text(encoding="utf-8")
    assert block.body in source, f"{block} no longer matches {block.source}: update the guide"


def test_the_guides_example_test_passes() -> None:
    (block,) = [block for block in PYTHON if "def test_" in block.body]
    namespace: dict[str, object] = {"__name__": "modding_guide_example"}
    exec(compile(block.body, f"{GUIDE}:{block.line}", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        assert callable(test)
        test()
