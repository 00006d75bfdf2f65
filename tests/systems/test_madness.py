"""Madness: a fractured mind's commands misfire one time in ten, a deranged one's one in four
(counted over a fixed number of seeded trials), changing nothing; a catatonic mind can do nothing
but the steady commands; staff commands never misfire; and a deranged fighter whom one hit takes
more than 15 % of its damage points flees in panic one time in five, by the combat rules' own
flight."""

from __future__ import annotations

import pytest

from components.body import Npc, Posture, PostureState, Vitals
from components.combat import Fighting
from components.mind import Lucidity
from systems import fights
from systems.fights import Flee
from systems.hallucinations import HallucinationSettings
from systems.lucidity import set_lucidity
from systems.madness import CATATONIC_TEXT, MISFIRE_TEXTS, PANIC_TEXT, panic
from tests.systems.arena import Arena, combat_events, errors
from tests.systems.minds import mind_stage

#: Nothing is seen: only the commands' own fate counts.
BLIND = {
    "hallucinations": HallucinationSettings(
        entering_chance=0.0, fractured_chance=0.0, deranged_chance=0.0
    )
}


def stage_with(lucidity: int, room: str = "indoors", *npcs: str) -> tuple[Arena, int]:
    """Armitage in ``room`` with ``npcs`` (seen already), its mind at ``lucidity``."""
    stage = mind_stage(rules=BLIND)
    body = stage.player("Armitage", room)
    for template in npcs:
        stage.npc(template, room)
    stage.tick()
    set_lucidity(stage.world, body, lucidity)
    stage.tick()
    return stage, body


@pytest.mark.parametrize(
    ("lucidity", "low", "high"),
    [(100, 0, 0), (50, 0, 0), (30, 22, 58), (10, 73, 127)],
    ids=["lucid", "uneasy", "fractured", "deranged"],
)
def test_commands_misfire_one_time_in_ten_fractured_one_in_four_deranged(
    lucidity: int, low: int, high: int
) -> None:
    stage, armitage = stage_with(lucidity)
    misfired = 0
    for _ in range(400):  # 40 (sd 6) and 100 (sd 9) misfires are expected
        events = stage.type(armitage, "look")
        codes = errors(events)
        assert codes in ([], ["misfire"])
        if codes:
            misfired += 1
            (error,) = [e for e in events if e.type == "error"]
            assert error.text in MISFIRE_TEXTS
            assert error.data["verb"] == "look"
        else:
            assert [e.type for e in events if e.type == "room"] == ["room"]
    assert low <= misfired <= high


def test_a_misfire_changes_nothing_and_the_same_command_may_work_next_time() -> None:
    stage, armitage = stage_with(10)
    world = stage.world
    outcomes = []
    for _ in range(20):
        before = world.get(armitage, Posture).state
        events = stage.type(armitage, "sit" if before == PostureState.STANDING else "stand")
        if errors(events) == ["misfire"]:
            assert world.get(armitage, Posture).state == before  # nothing happened
            assert [e for e in events if e.type == "posture"] == []
            outcomes.append("misfire")
        else:
            assert world.get(armitage, Posture).state != before
            outcomes.append("done")
    assert "misfire" in outcomes and "done" in outcomes


def test_the_steady_commands_and_staff_commands_never_misfire() -> None:
    stage, armitage = stage_with(10)
    for verb in ("score", "help", "who", "status"):
        for _ in range(40):
            assert "misfire" not in errors(stage.type(armitage, verb))
    for _ in range(40):
        stage.engine.submit_line(armitage, "stats", role="admin")
        assert errors(stage.tick().events) == []


def test_a_catatonic_mind_can_do_nothing_but_the_steady_commands() -> None:
    stage, armitage = stage_with(0)
    for line in ("look", "say help me", "east", "sit", "pray", "shout help", "attack nurse"):
        events = stage.type(armitage, line)
        assert errors(events) == ["catatonic"], line
        (error,) = [e for e in events if e.type == "error"]
        assert error.text == CATATONIC_TEXT
    assert stage.world.get(armitage, Lucidity).value == 0
    for line in ("score", "help", "who"):
        assert errors(stage.type(armitage, line)) == []
    assert errors(stage.type(armitage, "quit")) == []


# --------------------------------------------------------------------------------------------------
# Panic


def facing_the_brute(lucidity: int, dp: int) -> tuple[Arena, int, int]:
    """Armitage in the arena, mind at ``lucidity``, ``dp`` damage points (its most too), with
    the brute (seen already): the stage, Armitage and the brute."""
    stage, armitage = stage_with(lucidity, "arena", "brute")
    vitals = stage.world.get(armitage, Vitals)
    vitals.dp = vitals.max_dp = dp
    ((brute, _npc),) = stage.world.query(Npc)
    return stage, armitage, brute


def test_a_big_hit_makes_a_deranged_fighter_flee_in_panic_one_time_in_five() -> None:
    stage, armitage, brute = facing_the_brute(10, 100)
    world = stage.world
    fights.join(world, brute, armitage, stage.now_s)
    queued = fights.fights_of(world).queued
    fled = 0
    for _ in range(400):  # 80 (sd 8) are expected
        queued.pop(armitage, None)
        panic(world, armitage, 16)  # more than 15 of 100
        if isinstance(queued.get(armitage), Flee):
            fled += 1
    assert 56 <= fled <= 104
    for damage, lucidity in ((15, 10), (90, 30), (90, 100)):  # too small; not deranged
        set_lucidity(world, armitage, lucidity)
        for _ in range(50):
            queued.pop(armitage, None)
            panic(world, armitage, damage)
            assert armitage not in queued


def test_panic_in_a_fight_is_the_combat_rules_own_flight() -> None:
    stage, armitage, _brute = facing_the_brute(10, 1000)
    world = stage.world
    for _ in range(10):  # (it may misfire: then it tries again)
        if not world.has(armitage, Fighting):
            stage.type(armitage, "attack brute")
    assert world.has(armitage, Fighting)
    world.get(armitage, Vitals).max_dp = 100  # every hit of the brute is a big one now
    stage.run_until(lambda: bool(combat_events(stage.log, "flee", to=armitage)), limit_s=600)
    (panicked, *_rest) = [e for e in stage.log if e.data.get("kind") == "panic"]
    assert panicked.text == PANIC_TEXT
    flights = combat_events(stage.log, "flee", to=armitage) + combat_events(
        stage.log, "flee_failed", to=armitage
    )
    assert flights and stage.log.index(panicked) < stage.log.index(flights[0])


def test_a_catatonic_body_does_nothing_in_a_fight() -> None:
    stage, armitage, brute = facing_the_brute(0, 1000)
    world = stage.world
    fights.join(world, brute, armitage, stage.now_s)
    stage.run_s(30.0)
    blows = [e for e in combat_events(stage.log, to=armitage) if e.data["kind"] in ("hit", "miss")]
    assert blows and all(e.data["attacker"] == world.stable_id(brute) for e in blows)
