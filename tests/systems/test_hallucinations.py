"""Hallucinations: how often each tier sees things (counted over a fixed number of seeded trials),
what it sees (figures, whispers, attackers, each sent exactly like what it imitates), that only
its player sees them, that a phantom attacker fights but does no harm and goes when struck down,
and that phantoms go when their player leaves, in time, and are never saved."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from components.body import Identity, Vitals
from components.combat import Fighting
from components.mind import Phantom
from engine.events import Event, Scope
from net.render import render_event
from systems.common import phantoms_of
from systems.hallucinations import HallucinationSettings, see_things
from systems.look import room_view
from systems.lucidity import set_lucidity
from systems.madness import MadnessSettings
from systems.phantoms import DISPEL_EVENT
from systems.rescue import RescueSettings
from tests.systems.arena import Arena, combat_events, errors
from tests.systems.minds import mind_stage


def only(kind: str, **more: float) -> HallucinationSettings:
    """Whatever is seen is of ``kind`` (figure, whisper, attacker); nothing is seen on entering
    a room (the visions a test calls up are then the only ones), unless ``more`` says so."""
    weights = {f"{k}_weight": 1.0 if k == kind else 0.0 for k in ("figure", "whisper", "attacker")}
    return HallucinationSettings(**{"entering_chance": 0.0, **weights, **more})  # type: ignore[arg-type]


FIGURES, WHISPERS, ATTACKERS = only("figure"), only("whisper"), only("attacker")


def visions(events: Iterable[Event], player: int) -> list[Event]:
    """What ``player`` hallucinated in ``events``, in a world where nobody else comes or speaks:
    every whisper to it, and every arrival of a phantom it alone is told of."""
    return [
        e
        for e in events
        if e.scope == Scope.entity(player)
        and (e.type == "whisper" or (e.type == "arrive" and (e.data.get("id") or -1) < 0))
    ]


#: No command misfires (misfires have tests of their own), and catatonia lasts.
STEADY = {
    "madness": MadnessSettings(fractured_misfire_chance=0.0, deranged_misfire_chance=0.0),
    "rescue": RescueSettings(catatonia_rescue_s=1e6),
}


def haunted(rules: HallucinationSettings | None = None, *, rate_hz: float = 10.0) -> Arena:
    return mind_stage(
        rate_hz=rate_hz, rules={"hallucinations": rules or HallucinationSettings(), **STEADY}
    )


def troubled(stage: Arena, name: str, room: str, lucidity: int) -> int:
    """A player in ``room`` whose mind is at ``lucidity``, followed by the rules already."""
    body = stage.player(name, room)
    stage.tick()
    set_lucidity(stage.world, body, lucidity)
    stage.tick()
    return body


def the_phantom(stage: Arena, player: int) -> int:
    (phantom,) = phantoms_of(stage.world, player)
    return phantom


def keyword(stage: Arena, entity: int) -> str:
    return stage.world.get(entity, Identity).keywords[0]


# --------------------------------------------------------------------------------------------------
# How often, by tier


@pytest.mark.parametrize(("lucidity", "low", "high"), [(100, 0, 0), (55, 22, 58)])
def test_entering_a_room_an_uneasy_mind_sees_something_one_time_in_ten(
    lucidity: int, low: int, high: int
) -> None:
    # Whispers: no phantom stays to crowd the next rooms.
    stage = haunted(only("whisper", entering_chance=0.1))
    armitage = troubled(stage, "Armitage", "indoors", lucidity)
    seen = 0
    for trial in range(400):  # 400 rooms entered (indoors and the wilderness by day: no drift)
        events = stage.type(armitage, "east" if trial % 2 == 0 else "west")
        assert errors(events) == []
        seen += len(visions(events, armitage))
    assert low <= seen <= high  # uneasy: 10 % of 400 is 40 (standard deviation 6)


@pytest.mark.parametrize(
    ("lucidity", "every_s", "low", "high"),
    [(30, 30.0, 32, 68), (10, 20.0, 69, 111), (100, 20.0, 0, 0), (0, 20.0, 0, 0)],
    ids=["fractured", "deranged", "lucid", "catatonic"],
)
def test_a_fractured_mind_sees_things_every_30_s_one_time_in_four_a_deranged_one_every_20_s(
    lucidity: int, every_s: float, low: int, high: int
) -> None:
    stage = haunted(WHISPERS, rate_hz=5.0)
    armitage = troubled(stage, "Armitage", "indoors", lucidity)
    stage.log.clear()
    stage.run_s(200 * every_s)  # 200 chances: 50 (sd 6) and 90 (sd 7) are expected
    seen = len(visions(stage.log, armitage))
    assert low <= seen <= high


# --------------------------------------------------------------------------------------------------
# What is seen, and who sees it


def test_a_figure_comes_in_like_anyone_and_only_its_player_sees_it() -> None:
    stage = haunted(FIGURES)
    world = stage.world
    armitage = troubled(stage, "Armitage", "indoors", 30)
    carter = troubled(stage, "Carter", "indoors", 100)
    see_things(world, armitage, stage.now_s)
    events = stage.tick().events
    (arrival,) = visions(events, armitage)
    phantom = the_phantom(stage, armitage)
    name = world.get(phantom, Identity).name
    assert arrival.type == "arrive"
    way = {"w": "west", "e": "east"}[arrival.data["from"]]
    assert arrival.text == f"{name[0].upper()}{name[1:]} arrives from the {way}."
    assert set(arrival.data) == {"who", "id", "from"}  # as walking in is told
    assert render_event(arrival, {})[0] == "msg"
    stage.type(carter, "east")
    (real,) = [e for e in stage.type(carter, "west") if e.type == "arrive"]
    assert set(real.data) == set(arrival.data)
    # Armitage sees it in the room, and may look at it and size it up; Carter sees nothing.
    indoors = stage.room("indoors")
    seen_by_armitage = [o["name"] for o in room_view(world, indoors, armitage)["occupants"]]
    assert seen_by_armitage == ["Carter", name]
    assert [o["name"] for o in room_view(world, indoors, carter)["occupants"]] == ["Armitage"]
    word = keyword(stage, phantom)
    look = [e for e in stage.type(armitage, f"look {word}") if e.type == "look"]
    assert look and look[0].data["name"] == name
    assert errors(stage.type(armitage, f"consider {word}")) == []
    assert errors(stage.type(carter, f"look {word}")) == ["no_such_target"]
    assert errors(stage.type(carter, f"attack {word}")) == ["no_such_target"]


def test_a_whisper_comes_as_any_whisper_from_someone_here_or_someone_unseen() -> None:
    stage = haunted(WHISPERS)
    world = stage.world
    armitage = troubled(stage, "Armitage", "indoors", 30)
    see_things(world, armitage, stage.now_s)
    (alone,) = visions(stage.tick().events, armitage)
    assert alone.type == "whisper"
    assert alone.text.startswith("Someone whispers to you, '")
    assert alone.data["from"] == "someone" and alone.data["from_id"] is None
    assert set(alone.data) == {"from", "from_id", "to", "to_id", "text"}
    carter = troubled(stage, "Carter", "indoors", 100)
    see_things(world, armitage, stage.now_s)
    (heard,) = visions(stage.tick().events, armitage)
    assert heard.text.startswith("Carter whispers to you, '")
    assert heard.data["from_id"] == world.stable_id(carter)
    real = [e for e in stage.type(carter, "whisper armitage Hello.") if e.type == "whisper"]
    to_armitage = [e for e in real if e.scope == Scope.entity(armitage)]
    assert set(to_armitage[0].data) == set(heard.data)


def test_in_the_dark_a_troubled_mind_only_hears_things() -> None:
    stage = haunted(FIGURES)
    armitage = troubled(stage, "Armitage", "crypt", 30)
    for _ in range(5):
        see_things(stage.world, armitage, stage.now_s)
    assert [e.type for e in visions(stage.tick().events, armitage)] == ["whisper"] * 5
    assert phantoms_of(stage.world, armitage) == []


def test_no_more_than_three_phantoms_haunt_a_player_at_once() -> None:
    stage = haunted(FIGURES)
    armitage = troubled(stage, "Armitage", "indoors", 30)
    for _ in range(5):
        see_things(stage.world, armitage, stage.now_s)
    kinds = [e.type for e in visions(stage.tick().events, armitage)]
    assert kinds == ["arrive", "arrive", "arrive", "whisper", "whisper"]
    assert len(phantoms_of(stage.world, armitage)) == 3


@pytest.mark.parametrize(("room", "lucidity"), [("sanctuary", 30), ("arena", 55)])
def test_where_no_fight_may_start_or_for_a_mind_only_uneasy_an_attacker_is_a_figure(
    room: str, lucidity: int
) -> None:
    stage = haunted(ATTACKERS)
    armitage = troubled(stage, "Armitage", room, lucidity)
    see_things(stage.world, armitage, stage.now_s)
    stage.tick()
    phantom = the_phantom(stage, armitage)
    assert stage.world.get(phantom, Phantom).kind == "figure"
    assert not stage.world.has(armitage, Fighting)


# --------------------------------------------------------------------------------------------------
# Phantom attackers


def test_a_phantom_attacker_fights_but_does_no_harm_and_only_its_player_sees_the_fight() -> None:
    stage = haunted(only("attacker", phantom_lasts_s=600.0))
    world = stage.world
    armitage = troubled(stage, "Armitage", "arena", 30)
    carter = troubled(stage, "Carter", "arena", 100)
    whole = world.get(armitage, Vitals).dp
    stage.log.clear()
    see_things(world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    sid = world.stable_id(phantom)
    assert sid is not None and sid < 0 and not world.is_persistent(phantom)
    name = world.get(phantom, Identity).name
    stage.run_until(lambda: not world.exists(phantom), limit_s=300.0)
    (engage,) = combat_events(stage.log, "engage", to=armitage)
    assert engage.text == f"The {name.split(' ', 1)[1]} attacks you!"
    assert engage.data["attacker"] == sid
    taken = [e for e in combat_events(stage.log, "hit", to=armitage) if e.data["attacker"] == sid]
    assert taken, "it struck Armitage at least once"
    for blow in taken:
        assert blow.text.endswith("damage.") and blow.data["dp"] == whole
    assert world.get(armitage, Vitals).dp == whole  # no real harm
    # Carter heard nothing of it: no line, no round, no blow names it.
    for event in stage.log:
        if event.scope == Scope.entity(carter) or event.scope == Scope.room(stage.room("arena")):
            assert sid not in event.data.values(), event
    (gone,) = [e for e in stage.log if e.type == DISPEL_EVENT]
    assert gone.scope == Scope.entity(armitage)
    assert "comes apart like smoke" in gone.text
    assert [e.text for e in combat_events(stage.log, "end", to=armitage)] == ["The fight is over."]
    assert not world.has(armitage, Fighting)


def test_a_phantom_attacker_that_fades_is_simply_gone_and_the_fight_is_over() -> None:
    stage = haunted(only("attacker", phantom_lasts_s=4.0, phantom_dp=500))
    armitage = troubled(stage, "Armitage", "arena", 30)
    see_things(stage.world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    stage.log.clear()
    stage.run_s(4.5)
    assert not stage.world.exists(phantom)
    (gone,) = [e for e in stage.log if e.type == DISPEL_EVENT]
    assert gone.text.endswith("is simply gone, as if it had never been.")
    assert not stage.world.has(armitage, Fighting)


# --------------------------------------------------------------------------------------------------
# Going


def test_a_figure_stays_behind_when_its_player_walks_on_and_leaves_like_anyone_in_time() -> None:
    stage = haunted(only("figure", phantom_lasts_s=10.0))
    armitage = troubled(stage, "Armitage", "indoors", 30)
    see_things(stage.world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    events = stage.type(armitage, "east")
    assert not stage.world.exists(phantom)
    (room,) = [e for e in events if e.type == "room" and e.scope == Scope.entity(armitage)]
    assert all(o["id"] != stage.world.stable_id(phantom) for o in room.data["occupants"])
    see_things(stage.world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    name = stage.world.get(phantom, Identity).name
    stage.log.clear()
    stage.run_s(10.5)
    assert not stage.world.exists(phantom)
    (leave,) = [e for e in stage.log if e.type == "leave"]

    assert leave.scope == Scope.entity(armitage)
    assert leave.text.startswith(f"{name[0].upper()}{name[1:]} leaves ")
    assert set(leave.data) == {"who", "id", "direction"}


def test_phantoms_go_when_their_player_leaves_the_world_and_are_never_saved() -> None:
    stage = haunted(FIGURES)
    world = stage.world
    armitage = troubled(stage, "Armitage", "indoors", 30)
    see_things(world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    result = stage.tick()
    saved = {sid for sid, _type in result.changes.dirty} | result.changes.spawned
    assert all(sid >= 0 for sid in saved)
    assert world.stable_id(phantom) not in saved
    stage.type(armitage, "quit")
    assert not world.exists(phantom)


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_visions_come_every_30_s_fractured_and_20_s_deranged_at_any_tick_rate(
    rate_hz: float,
) -> None:
    always = only("whisper", fractured_chance=1.0, deranged_chance=1.0)
    stage = haunted(always, rate_hz=rate_hz)
    fractured = troubled(stage, "Armitage", "indoors", 30)
    fractured_since = stage.now_s  # troubled since this tick
    deranged = troubled(stage, "Carter", "street", 10)
    deranged_since = stage.now_s
    stage.log.clear()
    stage.run_s(100.0)

    def after(player: int, since: float) -> list[float]:
        return [round(e.tick / rate_hz - since, 6) for e in visions(stage.log, player)]

    assert after(fractured, fractured_since) == [30.0, 60.0, 90.0]
    assert after(deranged, deranged_since) == [20.0, 40.0, 60.0, 80.0, 100.0]


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_phantom_fades_after_60_s_at_any_tick_rate(rate_hz: float) -> None:
    stage = haunted(FIGURES, rate_hz=rate_hz)
    armitage = troubled(stage, "Armitage", "indoors", 30)
    stage.ready_at(10.0)
    stage.tick()
    see_things(stage.world, armitage, stage.now_s)
    phantom = the_phantom(stage, armitage)
    assert stage.world.get(phantom, Phantom).fades_at_s == pytest.approx(70.0)
    stage.ready_at(70.0)
    assert stage.world.exists(phantom)
    stage.tick()
    assert not stage.world.exists(phantom)
