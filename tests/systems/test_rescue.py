"""Rescue: catatonia begins and ends with the tier; ``ground <player>`` is a 10 s effort that
lifts a catatonic player to 1 unless a step or a fight breaks it off; bad input is refused and
changes nothing; a player catatonic for 300 s is carried to the start room at 10. At two tick
rates."""

from __future__ import annotations

import pytest

from components.combat import Fighting
from components.mind import Catatonia, Grounding, Lucidity
from engine.events import Scope
from systems import fights
from systems.hallucinations import HallucinationSettings
from systems.lucidity import set_lucidity
from systems.madness import MadnessSettings
from systems.presence import CorePresence
from systems.rescue import CARRIED_EVENT, GROUND_EVENT
from systems.whereabouts import move
from tests.systems.arena import Arena, errors
from tests.systems.minds import mind_stage
from tests.systems.walk import room_key

#: Nothing is seen and nothing misfires: only the rescue counts.
CALM = {
    "hallucinations": HallucinationSettings(
        entering_chance=0.0, fractured_chance=0.0, deranged_chance=0.0
    ),
    "madness": MadnessSettings(fractured_misfire_chance=0.0, deranged_misfire_chance=0.0),
}


def two_in(room: str, *, rate_hz: float = 10.0) -> tuple[Arena, int, int]:
    """Armitage (lucid) and Carter (catatonic since this tick) in ``room``."""
    stage = mind_stage(rate_hz=rate_hz, rules=CALM)
    armitage, carter = stage.player("Armitage", room), stage.player("Carter", room)
    stage.tick()
    set_lucidity(stage.world, carter, -5)
    stage.tick()
    stage.log.clear()
    return stage, armitage, carter


def lucidity(stage: Arena, body: int) -> int:
    return stage.world.get(body, Lucidity).value


def grounding_events(stage: Arena, to: int) -> list[str]:
    return [e.text for e in stage.log if e.type == GROUND_EVENT and e.scope == Scope.entity(to)]


def test_catatonia_begins_and_ends_with_the_tier() -> None:
    stage, _armitage, carter = two_in("indoors")
    catatonia = stage.world.get(carter, Catatonia)
    assert catatonia.carry_at_s == pytest.approx(catatonia.since_s + 300.0)
    set_lucidity(stage.world, carter, 3)
    stage.tick()
    assert not stage.world.has(carter, Catatonia)


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_grounding_lifts_a_catatonic_player_to_1_after_10_s(rate_hz: float) -> None:
    stage, armitage, carter = two_in("indoors", rate_hz=rate_hz)
    stage.ready_at(5.0)
    events = stage.type(armitage, "ground carter")
    assert errors(events) == []
    assert grounding_events(stage, armitage) == [
        "You kneel beside Carter and begin to talk them back, slowly and steadily."
    ]
    assert grounding_events(stage, carter) == [
        "A voice reaches you through the fog: Armitage is talking you back."
    ]
    effort = stage.world.get(armitage, Grounding)
    assert (effort.patient, effort.done_at_s) == (stage.world.stable_id(carter), 15.0)
    stage.ready_at(15.0)
    assert lucidity(stage, carter) == -5
    stage.tick()  # the tick at 15 s
    assert lucidity(stage, carter) == 1
    assert not stage.world.has(armitage, Grounding)
    stage.tick()
    assert not stage.world.has(carter, Catatonia)
    assert (
        grounding_events(stage, armitage)[-1] == "Carter's eyes find yours. They are back, for now."
    )
    assert errors(stage.type(carter, "score")) == []
    assert "catatonic" not in errors(stage.type(carter, "say I am back."))


def test_a_step_breaks_the_effort_off() -> None:
    stage, armitage, carter = two_in("indoors")
    stage.type(armitage, "ground carter")
    stage.type(armitage, "east")
    assert grounding_events(stage, armitage)[-1] == "Your effort to ground Carter is broken off."
    assert not stage.world.has(armitage, Grounding)
    stage.run_s(12.0)
    assert lucidity(stage, carter) == -5


def test_the_patient_carried_off_breaks_the_effort_off() -> None:
    stage, armitage, carter = two_in("indoors")
    stage.type(armitage, "ground carter")
    move(stage.world, carter, stage.room("street"))  # as staff, or the carrying, would
    stage.tick()
    assert not stage.world.has(armitage, Grounding)
    assert grounding_events(stage, armitage)[-1] == "Your effort to ground Carter is broken off."


def test_a_fight_breaks_the_effort_off() -> None:
    stage, armitage, carter = two_in("arena")
    brute = stage.npc("brute", "arena")
    stage.tick()
    stage.type(armitage, "ground carter")
    assert stage.world.has(armitage, Grounding)
    fights.join(stage.world, brute, armitage, stage.now_s)
    stage.tick()
    assert not stage.world.has(armitage, Grounding)
    assert grounding_events(stage, armitage)[-1] == "Your effort to ground Carter is broken off."
    stage.run_s(12.0)
    assert lucidity(stage, carter) < 1


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("ground armitage", "ground_self"),
        ("ground me", "ground_self"),
        ("ground dyer", "no_such_target"),
        ("ground nurse", "not_catatonic"),
        ("ground", "bad_args"),
    ],
)
def test_bad_grounding_is_refused_and_changes_nothing(line: str, code: str) -> None:
    stage, armitage, _carter = two_in("indoors")
    stage.npc("nurse", "indoors")
    stage.player("Dyer", "street")
    stage.tick()
    before = stage.world.dump()
    events = stage.type(armitage, line)
    assert errors(events) == [code]
    assert stage.world.dump()[1:] == before[1:]


def test_grounding_someone_not_catatonic_is_refused() -> None:
    stage, armitage, carter = two_in("indoors")
    set_lucidity(stage.world, carter, 50)
    stage.tick()
    events = stage.type(armitage, "ground carter")
    assert errors(events) == ["not_catatonic"]
    (error,) = [e for e in events if e.type == "error"]
    assert error.text == "Carter is not catatonic: there is no one to bring back."
    assert not stage.world.has(armitage, Grounding)


def test_one_effort_at_a_time_and_not_in_a_fight() -> None:
    stage, armitage, carter = two_in("arena")
    dyer = stage.player("Dyer", "arena")
    stage.tick()
    set_lucidity(stage.world, dyer, 0)
    stage.tick()
    stage.type(armitage, "ground carter")
    assert errors(stage.type(armitage, "ground dyer")) == ["already_grounding"]
    assert stage.world.get(armitage, Grounding).patient == stage.world.stable_id(carter)
    brute = stage.npc("brute", "arena")
    stage.tick()
    fights.join(stage.world, brute, armitage, stage.now_s)
    assert stage.world.has(armitage, Fighting)
    assert errors(stage.type(armitage, "ground dyer")) == ["fighting"]


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_player_catatonic_for_300_s_is_carried_to_the_start_room_at_10(rate_hz: float) -> None:
    stage, armitage, carter = two_in("indoors", rate_hz=rate_hz)  # company: +2 in 300 s
    since = stage.world.get(carter, Catatonia).since_s
    stage.ready_at(since + 300.0)
    assert room_key(stage.world, carter) == "indoors"
    stage.tick()
    assert room_key(stage.world, carter) == "sanctuary"
    assert lucidity(stage, carter) == 10
    carried = [e for e in stage.log if e.type == CARRIED_EVENT]
    seen = [e for e in carried if e.scope == Scope.room(stage.room("indoors"))]
    assert seen and seen[0].text.startswith("Figures in white come for Carter")
    assert any(e.scope == Scope.entity(carter) for e in carried)
    assert [e for e in stage.log if e.type == "room" and e.scope == Scope.entity(carter)]
    assert room_key(stage.world, armitage) == "indoors"


def test_a_catatonic_player_out_of_the_world_wakes_in_the_start_room_at_10() -> None:
    stage, _armitage, carter = two_in("indoors")
    stage.type(carter, "quit")
    stage.run_s(301.0)
    assert lucidity(stage, carter) == 10
    CorePresence().enter_world(stage.world, carter)
    stage.tick()
    assert room_key(stage.world, carter) == "sanctuary"
