"""The world that ships in data/ passes its own check, without a single warning, and builds."""

from __future__ import annotations

from pathlib import Path

from components.content import Directory
from engine.config import load_config
from engine.core import Engine
from systems import plugin as core
from systems.content.loader import check_content

DATA = Path(__file__).resolve().parents[3] / "data"


def test_the_bundled_world_passes_check_world() -> None:
    report = check_content([DATA]).report
    assert report.problems == (), report.format()
    assert report.files >= 4


def test_the_bundled_world_builds_with_the_core_plugin() -> None:
    engine = Engine(load_config(env={}, overrides=[f"world.data_dir={DATA}"]), plugins=[core])
    engine.build_world()
    directory = engine.world.resource(Directory)
    assert directory.start_room in directory.rooms
    assert len(directory.rooms) >= 10
