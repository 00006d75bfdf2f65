"""Greeting: an NPC with a greeting says it when a player comes into its room, once however many
come in; not while fighting or down, nor in the dark; never to an NPC's arrival."""

from __future__ import annotations

from components.body import Vitals
from engine.events import Event, Scope
from tests.systems.arena import arena


def greetings(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type == "say"]


def test_an_npc_greets_a_player_who_comes_into_its_room() -> None:
    stage = arena()
    clerk = stage.npc("clerk", "hall")
    armitage = stage.player("Armitage", room="ward")
    (greeting,) = greetings(stage.type(armitage, "east"))
    assert greeting.text == "The clerk says, 'Rooms are a dollar a night.'"
    assert greeting.scope == Scope.room(stage.room("hall"))
    assert greeting.data == {
        "from": "the clerk",
        "from_id": stage.world.stable_id(clerk),
        "text": "Rooms are a dollar a night.",
    }
    assert greetings(stage.type(armitage, "look")) == []  # once, as they come in


def test_players_coming_in_together_get_one_greeting() -> None:
    stage = arena()
    stage.npc("clerk", "hall")
    stage.player("Armitage", room="hall")
    stage.player("Carter", room="hall")
    assert len(greetings(stage.tick().events)) == 1


def test_an_npc_coming_in_is_not_greeted() -> None:
    stage = arena()
    stage.npc("clerk", "hall")
    stage.tick()
    stage.npc("rat", "hall")
    assert greetings(stage.tick().events) == []


def test_no_greeting_from_one_down_nor_in_the_dark() -> None:
    stage = arena()
    down = stage.npc("clerk", "hall")
    stage.world.get(down, Vitals).dp = 0
    stage.npc("clerk", "cellar")
    armitage = stage.player("Armitage", room="ward")
    assert greetings(stage.type(armitage, "east")) == []
    assert greetings(stage.type(armitage, "down")) == []  # the cellar is dark
