"""docs/content.md must not rot: its complete example is a valid world that loads as described,
and its reference tables name every key the format accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.content import ExitDef, ItemKind, ItemStack
from components.items import LockState
from components.place import Environment, FluxOverride, RoomFlag
from systems.content.loader import check_content
from systems.content.schema import (
    FILE_SECTIONS,
    CharacteristicsModel,
    ContainerModel,
    Entry,
    ExitModel,
    FluxModel,
    LootModel,
    StackModel,
)
from tests.systems.content.worlds import write

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "content.md").read_text(encoding="utf-8")

# A fenced block preceded by "<!-- file: PATH -->": a file of the complete example.
_FILE_RE = re.compile(r"^<!-- file: (?P<path>\S+) -->\n```toml\n(?P<body>.*?)^```$", re.M | re.S)


def example_files() -> dict[str, str]:
    return {m["path"]: m["body"] for m in _FILE_RE.finditer(DOC)}


def test_the_example_has_a_file_of_every_kind() -> None:
    assert set(example_files()) == {
        "world.toml",
        "zones/arkham.toml",
        "items/gear.toml",
        "npcs/ghouls.toml",
    }


def test_the_example_passes_check_world_as_the_guide_says(tmp_path: Path) -> None:
    report = check_content([write(tmp_path, example_files())]).report
    assert report.problems == ()
    assert f"it reports `{report.summary()}`" in DOC


def test_the_example_loads_into_the_content_it_describes(tmp_path: Path) -> None:
    check = check_content([write(tmp_path, example_files())])
    content = check.require()
    assert check.world_name == "Arkham, 1926"
    assert content.start_room == "arkham.square"
    rooms = {room.id: room for room in content.rooms}
    square = rooms["arkham.square"]
    assert square.flags == frozenset({RoomFlag.SAFE})
    assert square.description.count("\n\n") == 1  # two paragraphs, lines joined
    assert square.exits == (
        ExitDef("n", "arkham.library_steps"),
        ExitDef("down", "arkham.well", one_way=True),
    )
    assert square.items == (ItemStack("coin", 3), ItemStack("library_key"))
    reading = rooms["arkham.reading_room"]
    assert reading.subzone == "campus"
    assert reading.environment is Environment.INDOORS
    assert rooms["arkham.well"].lucidity_flux == FluxOverride(night=-1.2)
    (desk,) = reading.containers
    assert (desk.template, desk.lock, desk.closed) == ("writing_desk", LockState.LOCKED, True)
    items = {item.id: item for item in content.items}
    assert items["rusty_knife"].damage == "1d4"
    assert items["writing_desk"].kind is ItemKind.CONTAINER
    assert content.npcs[0].carries == (ItemStack("coin", 2),)
    assert content.zones[0].subzones == (("campus", "Miskatonic University"),)


MODELS = [
    *(section.model for sections in FILE_SECTIONS.values() for section in sections),
    ExitModel,
    ContainerModel,
    StackModel,
    LootModel,
    CharacteristicsModel,
    FluxModel,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_the_guide_names_every_key_of_every_table(model: type[Entry]) -> None:
    missing = [name for name in model.model_fields if f"`{name}`" not in DOC]
    assert missing == []
