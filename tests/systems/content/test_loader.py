"""Loading: a folder of data files becomes exactly the plain-data Content the builder expects, made
of frozen dataclasses only; several folders merge into one world."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path
from typing import Any

import pydantic

from components.content import (
    Behaviour,
    Content,
    DoorDef,
    EncounterCategory,
    ExitDef,
    ItemKind,
    ItemStack,
    ItemTemplate,
    NpcTemplate,
    RoomContainerDef,
    RoomDef,
    SpawnRule,
    ZoneDef,
)
from components.items import LockState
from components.place import Environment, RoomFlag
from systems.content.loader import (
    ContentSource,
    Severity,
    SourceFile,
    check_content,
    check_files,
)
from systems.content.schema import FileKind
from tests.systems.content.worlds import FILES, THINGS, check, edit, one, world, write

EXPECTED = Content(
    zones=(ZoneDef("town", "A Town", "Small and quiet.", (("market", "The Market"),)),),
    rooms=(
        RoomDef(
            "town.square",
            "town",
            "The Square",
            "Cobbles and pigeons.",
            subzone="market",
            environment=Environment.STREET,
            flags=frozenset({RoomFlag.SAFE}),
            exits=(ExitDef("n", "town.hall", door="gate"),),
            items=(ItemStack("coin", 3),),
        ),
        RoomDef(
            "town.hall",
            "town",
            "The Hall",
            "A draughty hall.",
            environment=Environment.INDOORS,
            exits=(ExitDef("e", "town.cellar"), ExitDef("s", "town.square", door="gate")),
            containers=(RoomContainerDef("chest", "chest", (ItemStack("knife"),)),),
        ),
        RoomDef(
            "town.cellar",
            "town",
            "The Cellar",
            "Damp stone.",
            environment=Environment.HAUNTED,
            flags=frozenset({RoomFlag.DARK}),
            exits=(ExitDef("w", "town.hall"),),
        ),
    ),
    doors=(DoorDef("gate", "an iron gate", closed=True, locked=False, key="iron_key"),),
    items=(
        ItemTemplate(
            "coin",
            "a copper coin",
            ("coin", "copper"),
            "Green with age.",
            ItemKind.CURRENCY,
            stackable=True,
        ),
        ItemTemplate(
            "knife",
            "a knife",
            ("knife",),
            "Sharp.",
            ItemKind.WEAPON,
            slot="main_hand",
            weight=0.5,
            damage="1d4",
        ),
        ItemTemplate("iron_key", "an iron key", ("key", "iron"), "Heavy.", ItemKind.KEY),
        ItemTemplate(
            "chest",
            "a wooden chest",
            ("chest",),
            "Iron bands.",
            ItemKind.CONTAINER,
            portable=False,
            capacity=2,
            closed=True,
            lock=LockState.LOCKED,
            key="iron_key",
        ),
    ),
    npcs=(
        NpcTemplate(
            "rat",
            "a rat",
            ("rat",),
            "Fat and bold.",
            Behaviour.AGGRESSIVE,
            EncounterCategory.MUNDANE,
            dp=3,
            carries=(ItemStack("coin"),),
            damage="1d2",
        ),
    ),
    spawns=(SpawnRule("rat", "town.cellar", max=2, respawn_s=60.0),),
    start_room="town.square",
)


def test_a_valid_small_world_loads_into_the_expected_content(tmp_path: Path) -> None:
    check_ = check_content([world(tmp_path)])
    assert check_.report.problems == ()
    assert check_.report.files == 4
    assert check_.world_name == "Test Town"
    assert check_.require() == EXPECTED
    assert check_content(str(tmp_path)) == check_  # one folder may be given as such


def _walk(value: Any, path: str = "content") -> None:
    assert not isinstance(value, pydantic.BaseModel), path
    assert not isinstance(value, list | dict | set | bytearray), f"{path} is mutable"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        params = getattr(type(value), "__dataclass_params__", None)
        assert params is not None and params.frozen, f"{path} is not frozen"
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, tuple | frozenset):
        for i, item in enumerate(value):
            _walk(item, f"{path}[{i}]")
    else:
        assert isinstance(value, str | int | float | bool | enum.Enum | type(None)), path


def test_content_holds_only_frozen_dataclasses_tuples_frozensets_and_plain_values(
    tmp_path: Path,
) -> None:
    _walk(check_content([world(tmp_path)]).require())


def test_enumerated_values_become_the_enums_of_the_components(tmp_path: Path) -> None:
    content = check_content([world(tmp_path)]).require()
    assert type(content.rooms[0].environment) is Environment
    assert all(type(flag) is RoomFlag for room in content.rooms for flag in room.flags)
    assert type(content.items[0].kind) is ItemKind
    assert type(content.items[3].lock) is LockState
    assert type(content.npcs[0].behaviour) is Behaviour
    assert type(content.npcs[0].category) is EncounterCategory


def test_exits_are_listed_in_compass_order_whatever_the_file_order(tmp_path: Path) -> None:
    hall = check_content([world(tmp_path)]).require().rooms[1]
    assert [e.direction for e in hall.exits] == ["e", "s"]  # written s, then e


def test_descriptions_are_reflowed_into_paragraphs(tmp_path: Path) -> None:
    long = '"""\n  Cobbles\n  and pigeons.\n\n   A fountain,\n dry.\n"""'
    town = edit(FILES["zones/town.toml"], '"Cobbles and pigeons."', long)
    square = check_content([world(tmp_path, {"zones/town.toml": town})]).require().rooms[0]
    assert square.description == "Cobbles and pigeons.\n\nA fountain, dry."


def test_room_container_overrides_are_kept_and_omitted_ones_mean_the_template_default(
    tmp_path: Path,
) -> None:
    town = edit(
        FILES["zones/town.toml"],
        'template = "chest"\n',
        'template = "chest"\nlock = "unlocked"\nclosed = false\n',
    )
    chest = check_content([world(tmp_path, {"zones/town.toml": town})]).require().rooms[1]
    assert chest.containers[0].lock is LockState.UNLOCKED
    assert chest.containers[0].closed is False
    default = check_content([world(tmp_path / "plain")]).require().rooms[1].containers[0]
    assert (default.lock, default.closed) == (None, None)


def test_the_same_folder_always_makes_the_same_world(tmp_path: Path) -> None:
    more_items = THINGS.replace('"coin"', '"coin2"').replace('"knife"', '"knife2"')
    more_items = more_items.replace('"iron_key"', '"iron_key2"').replace('"chest"', '"chest2"')
    folder = world(tmp_path, {"items/a_more.toml": more_items})
    first = check_content([folder]).require()
    assert [t.id for t in first.items][:4] == ["coin2", "knife2", "iron_key2", "chest2"]
    assert check_content([folder]).require() == first


def test_check_files_is_a_pure_function_of_parsed_data() -> None:
    files = [
        SourceFile("world.toml", FileKind.WORLD, {"world": {"start_room": "a.b"}}),
        SourceFile(
            "zones/a.toml",
            FileKind.ZONE,
            {"zone": {"id": "a", "name": "A"}, "rooms": [{"id": "a.b", "name": "B"}]},
        ),
    ]
    first = check_files(files)
    assert first == check_files(files)
    problem = one(first.report, "zones/a.toml", "room a.b", "description")
    assert problem.message == "missing (required)"


def test_several_folders_merge_into_one_world(tmp_path: Path) -> None:
    plugin_zone = """\
[zone]
id = "crypt"
name = "The Crypt"

[[rooms]]
id = "crypt.stair"
name = "A Stair"
description = "Down and down."
items = [{ template = "coin" }, { template = "candle" }]

[rooms.exits]
up = "town.cellar"
"""
    candles = """\
[[items]]
id = "candle"
name = "a candle"
keywords = ["candle"]
description = "Tallow."
kind = "light"
"""
    cellar_down = edit(
        FILES["zones/town.toml"], 'w = "town.hall"\n', 'w = "town.hall"\ndown = "crypt.stair"\n'
    )
    main = world(tmp_path / "data", {"zones/town.toml": cellar_down})
    extra = write(tmp_path / "plugin", {"zones/crypt.toml": plugin_zone, "items/c.toml": candles})
    check_ = check_content([ContentSource(main), ContentSource(extra, "crypts")])
    content = check_.require()
    assert check_.report.problems == ()
    assert [z.id for z in content.zones] == ["town", "crypt"]
    assert content.rooms[-1] == RoomDef(
        "crypt.stair",
        "crypt",
        "A Stair",
        "Down and down.",
        exits=(ExitDef("up", "town.cellar"),),
        items=(ItemStack("coin"), ItemStack("candle")),
    )
    assert content.items[-1].id == "candle"
    assert check_.report.files == 6


def test_ids_must_be_unique_across_folders_and_the_report_names_both_files(
    tmp_path: Path,
) -> None:
    main = world(tmp_path / "data")
    extra = write(tmp_path / "plugin", {"items/more.toml": THINGS.split("[[items]]")[2]})
    extra_text = "[[items]]" + (extra / "items/more.toml").read_text()
    (extra / "items/more.toml").write_text(extra_text)
    report = check_content([ContentSource(main), ContentSource(extra, "knives")]).report
    problem = one(report, "knives:items/more.toml", "item knife", "id")
    assert problem.message == "duplicate item id 'knife': also defined in items/things.toml"


def test_a_toml_file_where_no_data_file_belongs_is_warned_about_and_not_read(
    tmp_path: Path,
) -> None:
    folder = world(tmp_path, {"zone/typo.toml": "this is not even toml", "notes.txt": "hello"})
    report = check(folder)
    problem = one(report, "zone/typo.toml", "", "", Severity.WARNING)
    assert "not read" in problem.message
    assert report.ok and report.files == 4
