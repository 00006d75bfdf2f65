"""The public test helpers: a world from inline TOML, players in it, ticks, and the events each
player received, judged where the player was when they were emitted."""

from __future__ import annotations

import pytest

from engine.config import Config, EngineConfig
from engine.events import Scope
from engine.plugins import SetupError
from engine.testing import Stage, world_from_toml

HAMLET = """\
[zone]
id = "hamlet"
name = "The Hamlet"

[[rooms]]
id = "hamlet.well"
name = "The Well"
description = "A mossy well."
exits = { n = "hamlet.chapel" }

[[rooms]]
id = "hamlet.chapel"
name = "The Chapel"
description = "Cold pews."
exits = { s = "hamlet.well" }
"""


def test_a_world_from_inline_toml_starts_in_the_first_room_of_the_first_zone() -> None:
    stage = world_from_toml(zones=[HAMLET])
    walker = stage.player("Walker")
    assert stage.world.clock.tick == 0
    assert [e.data["id"] for e in stage.type(walker, "look") if e.type == "room"] == ["hamlet.well"]


def test_a_world_file_may_choose_another_start_room() -> None:
    stage = world_from_toml(
        zones=[HAMLET], world='[world]\nname = "Hamlet"\nstart_room = "hamlet.chapel"\n'
    )
    walker = stage.player("Walker")
    stage.type(walker, "look")
    assert [e.data["id"] for e in stage.received(walker, "room")] == ["hamlet.chapel"]


def test_a_player_receives_what_was_said_where_it_was_at_the_time() -> None:
    stage = world_from_toml(zones=[HAMLET])
    talker, listener = stage.player("Talker"), stage.player("Listener", room="hamlet.chapel")
    stage.type(talker, "say Anyone?")  # the listener is in the chapel: not heard
    stage.type(listener, "south")
    stage.type(talker, "say Ah, there you are.")
    stage.type(listener, "north")  # gone again: what was heard stays heard
    said = [e.data["text"] for e in stage.received(listener, "say")]
    assert said == ["Ah, there you are."]
    assert {e.type for e in stage.received(listener)} >= {"say", "room"}


def test_received_events_are_filtered_by_type_and_cleared_with_the_log() -> None:
    stage = world_from_toml(zones=[HAMLET])
    walker = stage.player("Walker")
    stage.engine.world.emit("omen", Scope.entity(walker), "A crow.")
    stage.tick()
    assert [e.text for e in stage.received(walker, "omen", "nothing")] == ["A crow."]
    assert stage.log
    stage.clear()
    assert stage.received(walker) == [] and stage.log == []


def test_run_s_runs_whole_ticks_of_game_time_at_the_configured_rate() -> None:
    stage = world_from_toml(zones=[HAMLET], config=Config(engine=EngineConfig(tick_rate_hz=4.0)))
    stage.run_s(2.6)
    assert stage.world.clock.tick == 11  # 2.6 s at 4 Hz, rounded up
    assert stage.now_s == pytest.approx(2.75)
    assert len(stage.run_ticks(3)) == 3


def test_content_with_errors_raises_the_check_worlds_report() -> None:
    broken = HAMLET.replace('exits = { s = "hamlet.well" }', 'exits = { s = "hamlet.pond" }')
    with pytest.raises(SetupError) as caught:
        world_from_toml(zones=[broken])
    assert str(caught.value).splitlines()[1:] == [
        "error: inline:zones/hamlet.toml: room hamlet.chapel: exits.s: exit leads to missing room"
        " 'hamlet.pond'",
        "warning: inline:zones/hamlet.toml: room hamlet.well: exits.n: no way back:"
        " 'hamlet.chapel' has no exit leading to 'hamlet.well' (add one, or mark this exit"
        " one_way = true)",
        "1 error, 1 warning in 2 files",
    ]


def test_the_core_plugin_is_always_there_and_may_be_named_too() -> None:
    from systems import plugin as core

    assert world_from_toml(zones=[HAMLET], plugins=[core]).engine.plugins == ["core"]


def test_a_table_no_plugin_declares_is_refused() -> None:
    with pytest.raises(ValueError, match="no plugin given declares the content table"):
        world_from_toml(zones=[HAMLET], tables={"omens": "[[omens]]\n"})


def test_a_stage_wraps_any_built_engine() -> None:
    built = world_from_toml(zones=[HAMLET])
    stage = Stage(built.engine)
    assert stage.room("hamlet.well") == built.room("hamlet.well")
    with pytest.raises(KeyError, match="no zone 'moor'"):
        stage.zone("moor")
