"""Ambient emotes: an NPC with lines acts one out every interval_s with its chance, as a player's
emote reads, never while fighting or down; the same lines at the same moments at 5 Hz and 20 Hz."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.body import Vitals
from components.content import Directory, Emotes
from engine.events import Event, Scope
from systems.emotes import EmoteSettings
from tests.systems.arena import Arena, arena


def emotes_of(stage: Arena, seconds: float) -> list[tuple[float, Event]]:
    seen: list[tuple[float, Event]] = []
    for _ in range(stage.world.clock.ticks_for(seconds)):
        seen.extend((stage.now_s, e) for e in stage.tick().events if e.type == "emote")
    return seen


def sitting_cat(stage: Arena, room: str = "ward") -> int:
    """The fixture's cat, made not to wander (so that only its lines are seen)."""
    directory = stage.world.resource(Directory)
    directory.npcs["cat"] = replace(directory.npcs["cat"], wander=None)
    return stage.npc("cat", room)


def test_an_npc_acts_out_its_lines_to_its_room_as_an_emote_reads() -> None:
    stage = arena()
    cat = sitting_cat(stage)
    stage.player("Armitage", room="ward")
    seen = emotes_of(stage, 200.0)
    assert len(seen) == 10  # every 20 s, always
    assert {e.text for _, e in seen} == {
        "A black cat washes a paw.",
        "A black cat's tail twitches.",
    }
    _, first = seen[0]
    assert first.scope == Scope.room(stage.room("ward"))
    assert first.data["from_id"] == stage.world.stable_id(cat)


def test_in_the_dark_an_npc_acting_out_a_line_is_someone() -> None:
    stage = arena()
    sitting_cat(stage, "cellar")
    stage.player("Armitage", room="cellar")
    seen = emotes_of(stage, 40.0)
    assert seen and all(e.text.startswith("Someone") for _, e in seen)
    assert all(e.data["from_id"] is None for _, e in seen)


def test_a_wounded_npc_acts_nothing_out() -> None:
    stage = arena()
    cat = sitting_cat(stage)
    stage.world.get(cat, Vitals).dp = 0  # down (it gets up in 30 s: regeneration)
    stage.player("Armitage", room="ward")
    assert emotes_of(stage, 25.0) == []  # more than its interval


def test_interval_and_chance_come_from_the_settings_when_the_template_says_nothing() -> None:
    stage = arena(rules={"emotes": EmoteSettings(interval_s=4.0, chance=1.0)})
    directory = stage.world.resource(Directory)
    directory.npcs["rat"] = replace(directory.npcs["rat"], emotes=Emotes(("squeaks.",)))
    stage.npc("rat", "ward")
    stage.player("Armitage", room="ward")
    assert len(emotes_of(stage, 100.0)) == 25


def lines_at(rate_hz: float) -> list[tuple[float, str]]:
    stage = arena(rate_hz=rate_hz, rules={"emotes": EmoteSettings(chance=0.5)})
    directory = stage.world.resource(Directory)
    cat = directory.npcs["cat"]
    assert cat.emotes is not None
    directory.npcs["cat"] = replace(cat, wander=None, emotes=replace(cat.emotes, chance=None))
    stage.npc("cat", "ward")
    stage.ready_at(4.0)
    stage.player("Armitage", room="ward")
    return [(at, e.text) for at, e in emotes_of(stage, 600.0)]


def test_the_same_lines_come_at_the_same_moments_at_5_hz_and_20_hz() -> None:
    slow, fast = lines_at(5.0), lines_at(20.0)
    assert [text for _, text in slow] == [text for _, text in fast]
    assert len(slow) == pytest.approx(15, abs=7)  # 30 chances at one in two
    for (slow_s, _), (fast_s, _) in zip(slow, fast, strict=True):
        assert fast_s <= slow_s < fast_s + 0.2
