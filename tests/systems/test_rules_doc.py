"""docs/rules.md lists every rule setting of the core plugin with its default, section by section,
and nothing that is not one."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from engine.config.values import toml_value
from systems import SETTINGS

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def documented(section: str) -> dict[str, str]:
    """Setting -> its default as the page shows it, from the table under ``[section]``."""
    text = DOC.read_text(encoding="utf-8")
    heading = f"### `[{section}]`"
    assert heading in text, f"docs/rules.md has no {heading}"
    table = text.split(heading, 1)[1].split("\n### ", 1)[0]
    return dict(re.findall(r"^\| `([a-z_]+)` \| `([^`]*)` \|", table, re.MULTILINE))


@pytest.mark.parametrize("section", sorted(SETTINGS))
def test_every_setting_is_documented_with_its_default(section: str) -> None:
    fields = dataclasses.fields(SETTINGS[section])
    expected = {f.name: toml_value(f.default) for f in fields}
    assert documented(section) == expected
