"""Information: who is playing, one's own score, and help on the commands.

Driven through the command inbox, one tick per line, in the fixture world.
"""

from __future__ import annotations

import pytest

from components.body import Characteristics, Experience, Npc, Posture, PostureState, Vitals
from components.items import Item
from components.place import Location
from engine.commands import CommandRegistry
from engine.core import Engine
from engine.events import Event
from systems.characters import create_character
from tests.systems.walk import play, ready_engine
from tests.systems.world_fixture import make_engine


@pytest.fixture
def engine() -> Engine:
    return ready_engine()


def one(events: list[Event]) -> Event:
    (event,) = events
    return event


# --------------------------------------------------------------------------------------------------
# who


def test_who_lists_every_player_by_name_with_the_zone_they_are_in(engine: Engine) -> None:
    world = engine.world
    carter = create_character(world, "Carter", room="street")
    armitage = create_character(world, "Armitage")
    event = one(play(engine, armitage, "who"))
    assert event.type == "who"
    assert event.data["count"] == 2
    assert event.data["players"] == [
        {
            "id": world.stable_id(armitage),
            "name": "Armitage",
            "zone": "asylum",
            "zone_name": "Arkham Sanitarium",
        },
        {"id": world.stable_id(carter), "name": "Carter", "zone": "town", "zone_name": "Arkham"},
    ]
    assert event.text.splitlines() == [
        "  Armitage  Arkham Sanitarium",
        "  Carter    Arkham",
        "2 players in the world.",
    ]


def test_who_does_not_list_npcs(engine: Engine) -> None:
    assert engine.world.count(Npc) >= 1  # the orderly
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "who"))
    assert [p["name"] for p in event.data["players"]] == ["Armitage"]
    assert event.text.endswith("1 player in the world.")


# --------------------------------------------------------------------------------------------------
# score


def test_score_shows_name_vitals_posture_location_and_load(engine: Engine) -> None:
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    world.get(armitage, Vitals).dp = 13
    world.get(armitage, Vitals).max_dp = 20
    world.add(armitage, Characteristics(60, 45, 70, 55, 50, 65))
    world.get(armitage, Experience).points = 7
    world.get(armitage, Posture).state = PostureState.SITTING
    sid = world.stable_id(armitage)
    assert sid is not None
    world.spawn(Item("brass_key"), Location(sid), persistent=True)
    world.spawn(Item("coin", 5), Location(sid), persistent=True)
    world.spawn(Item("rusty_knife"), Location(sid, "main_hand"), persistent=True)
    event = one(play(engine, armitage, "score"))
    assert event.type == "score"
    data = event.data
    assert {k: data[k] for k in ("dp", "max_dp", "posture", "lucidity", "tier", "room")} == {
        "dp": 13,
        "max_dp": 20,
        "posture": "sitting",
        "lucidity": 100,
        "tier": "lucid",
        "room": "hall",
    }
    assert (data["room_name"], data["zone"], data["zone_name"]) == (
        "The Hall",
        "asylum",
        "Arkham Sanitarium",
    )
    assert (data["carried"], data["worn"], data["capacity"]) == (2, 1, 20)
    assert data["characteristics"] == {
        "STR": 60,
        "DEX": 45,
        "CON": 70,
        "SIZ": 55,
        "POW": 50,
        "EDU": 65,
    }
    assert (data["experience"], data["state"]) == (7, None)
    assert event.text.splitlines() == [
        "Armitage",
        "STR 60  DEX 45  CON 70  SIZ 55  POW 50  EDU 65",
        "Damage points: 13/20",
        "Experience: 7",
        "Lucidity: 100 (lucid)",
        "Posture: sitting",
        "Location: The Hall, Arkham Sanitarium",
        "Carrying: 2 items (of 20); wearing: 1",
    ]


def test_status_is_score(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    assert one(play(engine, armitage, "status")).data == one(play(engine, armitage, "score")).data


def test_score_changes_nothing(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    engine.tick()
    before = engine.world.dump()
    play(engine, armitage, "score")
    play(engine, armitage, "who")
    assert engine.world.dump()[1:] == before[1:]


# --------------------------------------------------------------------------------------------------
# help


def test_help_lists_the_commands_by_category(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "help"))
    assert event.type == "help"
    categories = {
        c["name"]: [cmd["verb"] for cmd in c["commands"]] for c in event.data["categories"]
    }
    assert {"look", "who", "score", "help", "time"} <= set(categories["information"])
    assert {"go", "north", "up", "exits"} <= set(categories["movement"])
    assert set(categories["posture"]) == {"lie", "rest", "sit", "stand"}
    assert set(categories["communication"]) == {
        "emote",
        "gossip",
        "say",
        "shout",
        "tell",
        "whisper",
    }
    assert set(categories["lucidity"]) == {"ground", "meditate", "pray"}
    names = list(categories)
    assert names == sorted(names)
    text = event.text.splitlines()
    assert text[0] == "Commands (type 'help <command>' for more):"
    assert "  Communication: emote, gossip, say, shout, tell, whisper" in text
    assert any(line.startswith("  Information:") and "look (l)" in line for line in text)


def test_help_for_a_verb_shows_its_usage_aliases_and_help(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "help look"))
    assert event.type == "help"
    assert (event.data["verb"], event.data["usage"], event.data["aliases"]) == (
        "look",
        "look [<target...>]",
        ["l"],
    )
    lines = event.text.splitlines()
    assert lines[:2] == ["Usage: look [<target...>]", "Aliases: l"]
    assert lines[2].startswith("Look around the room")


@pytest.mark.parametrize("topic", ["l", "LOOK", "loo"])
def test_help_finds_a_verb_by_alias_or_abbreviation(engine: Engine, topic: str) -> None:
    armitage = create_character(engine.world, "Armitage")
    assert one(play(engine, armitage, f"help {topic}")).data["verb"] == "look"


def test_help_for_a_direction(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "help n"))
    assert event.text.splitlines()[:2] == ["Usage: north", "Aliases: n"]


def test_a_question_mark_is_help(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    assert one(play(engine, armitage, "? say")).data["verb"] == "say"


def test_help_for_an_unknown_command_suggests_near_ones(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "help wisper"))
    assert (event.type, event.data["code"]) == ("error", "unknown_command")
    assert "whisper" in event.data["suggestions"]
    assert event.text.startswith("There is no command 'wisper'. Did you mean: ")


def test_help_for_gibberish_points_to_the_list(engine: Engine) -> None:
    armitage = create_character(engine.world, "Armitage")
    event = one(play(engine, armitage, "help xyzzy"))
    assert event.text == "There is no command 'xyzzy'. Type 'help' for a list of commands."
    assert event.data["suggestions"] == []


def test_help_reads_the_command_registry_the_engine_publishes() -> None:
    engine = make_engine()
    armitage = create_character(engine.world, "Armitage")
    registry = engine.world.try_resource(CommandRegistry)
    event = one(play(engine, armitage, "help"))
    if registry is None:  # the engine does not publish it (yet): help says so, and nothing breaks
        assert (event.type, event.data["code"]) == ("error", "help_unavailable")
    else:
        assert registry is engine.commands
        assert event.type == "help"
