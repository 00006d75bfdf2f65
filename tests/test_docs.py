"""Every Python example in docs/ at least compiles, so a renamed keyword or a typo cannot rot there.

The examples that matter most are checked more closely where they live (modding, content,
protocol, configuration and operations each have tests of their own).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^( *)```python\n(.*?)^ *```", re.S | re.M)
# A block shown as real code: "<!-- source: systems/equipment.py -->" on the line before its fence
# (of any language: the example plugin's TOML is shown this way too).
SOURCE_BLOCK = re.compile(r"^<!-- source: (\S+) -->\n```[\w-]*\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2
            indent = len(match.group(1))  # a block inside a list item is indented as a whole
            code = "\n".join(row[indent:] for row in match.group(2).splitlines())
            found.append((page.name, line, code))
    return found


@pytest.mark.parametrize(("page", "line", "code"), _blocks(), ids=lambda v: str(v)[:40])
def test_every_python_example_in_the_docs_compiles(page: str, line: int, code: str) -> None:
    compile(code, f"{page}:{line}", "exec")


def test_the_docs_have_python_examples() -> None:
    assert len(_blocks()) >= 5


def test_every_block_shown_as_real_code_is_still_in_its_file_verbatim() -> None:
    shown = [
        (page.name, path, code)
        for page in sorted(DOCS.glob("*.md"))
        for path, code in SOURCE_BLOCK.findall(page.read_text())
    ]
    weather = "examples/weather/src/kadath_weather"
    assert {(page, path) for page, path, _ in shown} >= {
        ("architecture.md", "systems/equipment.py"),
        ("modding.md", "systems/equipment.py"),
        ("modding.md", "examples/weather/pyproject.toml"),
        *(
            ("modding.md", f"{weather}/{module}")
            for module in (
                "__init__.py",
                "components.py",
                "kinds.py",
                "sky.py",
                "storms.py",
                "content/weather/skies.toml",
            )
        ),
        ("PERFORMANCE.md", "bench/test_plugin_system.py"),
    }
    for page, path, code in shown:
        assert code in (ROOT / path).read_text(), f"{page}: the code from {path} changed; update it"
