"""The core plugin's world builder: it builds the world from the configured data folder and the
plugins' content folders, and refuses broken content with the whole report."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from components.content import Directory
from components.items import Container, Item, LockState
from components.place import Door, Location, Room
from engine.config import load_config
from engine.core import Engine
from engine.plugins import Plugin, PluginKit, SetupError
from systems import plugin as core
from systems.content.loader import ContentError
from tests.systems.content.worlds import FILES, edit, world, write


def _engine(data: Path, *plugins: Plugin) -> Engine:
    config = load_config(env={}, overrides=[f"world.data_dir={data}"])
    return Engine(config, plugins=[core, *plugins])


def test_the_world_builder_of_the_core_plugin_builds_from_the_data_folder(tmp_path: Path) -> None:
    engine = _engine(world(tmp_path))
    engine.build_world()
    w = engine.world
    directory = w.resource(Directory)
    assert directory.start_room == "town.square"
    assert set(directory.rooms) == {"town.square", "town.hall", "town.cellar"}
    assert w.get(directory.rooms["town.hall"], Room).exits["s"].door == "gate"
    assert w.get(directory.doors["gate"], Door).closed
    # The content's templates, and the built-in one every corpse is made from.
    assert set(directory.items) == {"coin", "knife", "iron_key", "chest", "corpse"}
    assert [s.npc for s in directory.spawns] == ["rat"]
    hall = w.stable_id(directory.rooms["town.hall"])
    ((chest, (item, container)),) = [
        (e, (i, c)) for e, (i, c) in w.query(Item, Container) if w.get(e, Location).holder == hall
    ]
    assert item.template == "chest"
    assert container.lock is LockState.LOCKED and container.capacity == 2
    chest_sid = w.stable_id(chest)
    assert [i.template for _, (i, loc) in w.query(Item, Location) if loc.holder == chest_sid] == [
        "knife"
    ]


def test_broken_content_raises_setup_error_with_the_full_report(tmp_path: Path) -> None:
    town = edit(FILES["zones/town.toml"], 'e = "town.cellar"', 'e = "town.nowhere"')
    engine = _engine(world(tmp_path, {"zones/town.toml": town, "world.toml": None}))
    with pytest.raises(SetupError) as raised:
        engine.build_world()
    assert isinstance(raised.value, ContentError)
    report = raised.value.report
    assert len(report.errors) == 2
    text = str(raised.value)
    assert report.format() in text
    assert (
        "error: zones/town.toml: room town.hall: exits.e: exit leads to missing room 'town.nowhere'"
    ) in text
    assert "error: world.toml: world: start_room: missing" in text
    assert len(engine.world) == 0  # never built in part


def test_a_missing_data_folder_raises_setup_error(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="does not exist"):
        _engine(tmp_path / "nowhere").build_world()


def test_the_content_folders_of_plugins_are_loaded_with_the_world(tmp_path: Path) -> None:
    crypt = """\
[zone]
id = "crypt"
name = "The Crypt"

[[rooms]]
id = "crypt.stair"
name = "A Stair"
description = "Down and down."
items = [{ template = "knife" }]

[rooms.exits]
up = "town.cellar"
"""
    cellar = edit(
        FILES["zones/town.toml"], 'w = "town.hall"', 'w = "town.hall"\ndown = "crypt.stair"'
    )
    data = world(tmp_path / "data", {"zones/town.toml": cellar})
    extra = write(tmp_path / "crypts", {"zones/crypt.toml": crypt})

    def setup(kit: PluginKit) -> None:
        kit.content(extra)

    engine = _engine(data, Plugin("crypts", setup, requires=("core",)))
    engine.build_world()
    directory = engine.world.resource(Directory)
    assert "crypt.stair" in directory.rooms
    assert "crypt" in directory.zones


def test_content_warnings_are_logged_and_the_world_is_built(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    town = edit(FILES["zones/town.toml"], 'w = "town.hall"', 'w = "town.hall"\nup = "town.square"')
    engine = _engine(world(tmp_path, {"zones/town.toml": town}))
    with caplog.at_level(logging.WARNING, logger="kadath.content"):
        engine.build_world()
    assert "room town.cellar: exits.up: no way back" in caplog.text
    assert "town.cellar" in engine.world.resource(Directory).rooms
