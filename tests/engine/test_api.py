"""The public API: ``engine.api`` exports what plugins may use, each name importable, and the
reference in docs/modding.md lists exactly those names, each once, each with a description."""

from __future__ import annotations

import re
from pathlib import Path

import engine.api

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "modding.md"
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \| (?P<what>.*) \|$", re.M)


def _reference() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    match = re.search(r"^## API reference\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, "docs/modding.md has no '## API reference' section"
    return match.group(1)


def documented() -> list[tuple[str, str]]:
    return [(m["name"], m["what"].strip()) for m in ROW.finditer(_reference())]


def test_every_exported_name_exists() -> None:
    for name in engine.api.__all__:
        assert hasattr(engine.api, name), name


def test_the_reference_documents_every_exported_name_and_nothing_else() -> None:
    names = [name for name, _ in documented()]
    exported = set(engine.api.__all__)
    assert set(names) - exported == set(), "documented but not exported"
    assert exported - set(names) == set(), "exported but not documented"


def test_each_name_is_documented_once_with_a_description() -> None:
    names = [name for name, _ in documented()]
    assert len(names) == len(set(names)), "documented twice"
    assert all(what for _, what in documented())


def test_the_api_exports_each_name_once() -> None:
    assert len(engine.api.__all__) == len(set(engine.api.__all__))
