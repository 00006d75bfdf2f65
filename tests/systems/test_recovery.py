"""Recovery: ``pray`` gives back 8 and rests for 15 minutes, ``meditate`` (sitting) 6 and rests
for 10; a command on cooldown, or meditating standing, is refused and changes nothing; the
cooldowns are game-time due points that survive a logout. At two tick rates."""

from __future__ import annotations

import pytest

from components.mind import Devotions, Lucidity
from engine.events import Scope
from systems.hallucinations import HallucinationSettings
from systems.lucidity import TIER_EVENT, set_lucidity
from systems.madness import MadnessSettings
from systems.presence import CorePresence
from tests.systems.arena import Arena, errors
from tests.systems.minds import mind_stage

CALM = {
    "hallucinations": HallucinationSettings(
        entering_chance=0.0, fractured_chance=0.0, deranged_chance=0.0
    ),
    "madness": MadnessSettings(fractured_misfire_chance=0.0, deranged_misfire_chance=0.0),
}


def at(lucidity: int, *, rate_hz: float = 10.0) -> tuple[Arena, int]:
    """Armitage indoors (no flux), its mind at ``lucidity``, with Carter watching."""
    stage = mind_stage(rate_hz=rate_hz, rules=CALM)
    armitage = stage.player("Armitage", "indoors")
    stage.player("Carter", "street")
    stage.tick()
    set_lucidity(stage.world, armitage, lucidity)
    stage.tick()
    return stage, armitage


def value(stage: Arena, body: int) -> int:
    return stage.world.get(body, Lucidity).value


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_praying_gives_back_8_and_then_not_again_for_15_minutes(rate_hz: float) -> None:
    stage, armitage = at(50, rate_hz=rate_hz)
    stage.ready_at(10.0)
    events = stage.type(armitage, "pray")
    (mine,) = [e for e in events if e.type == "pray" and e.scope == Scope.entity(armitage)]
    assert mine.text == "You bow your head and pray. A measure of calm comes back to you."
    assert mine.data == {"action": "pray", "gain": 8, "lucidity": 58}
    assert value(stage, armitage) == 58
    assert stage.world.get(armitage, Devotions).pray_ready_s == pytest.approx(910.0)
    stage.ready_at(909.0)
    before = stage.world.dump()
    events = stage.type(armitage, "pray")
    assert errors(events) == ["on_cooldown"]
    (error,) = [e for e in events if e.type == "error"]
    assert error.text == "You cannot pray again yet: about 1 more minute."
    assert error.data["ready_in_s"] == pytest.approx(1.0)
    assert stage.world.dump()[1:] == before[1:]
    stage.ready_at(910.0)
    assert errors(stage.type(armitage, "pray")) == []
    assert value(stage, armitage) == 66


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_meditating_sitting_gives_back_6_and_then_not_again_for_10_minutes(rate_hz: float) -> None:
    stage, armitage = at(50, rate_hz=rate_hz)
    before = stage.world.dump()
    events = stage.type(armitage, "meditate")
    assert errors(events) == ["not_sitting"]
    assert stage.world.dump()[1:] == before[1:]
    stage.type(armitage, "sit")
    stage.ready_at(20.0)
    assert errors(stage.type(armitage, "meditate")) == []
    assert value(stage, armitage) == 56
    stage.ready_at(619.0)
    assert errors(stage.type(armitage, "meditate")) == ["on_cooldown"]
    assert value(stage, armitage) == 56
    stage.ready_at(620.0)
    assert errors(stage.type(armitage, "meditate")) == []
    assert value(stage, armitage) == 62
    stage.type(armitage, "lie")
    assert errors(stage.type(armitage, "meditate")) == ["not_sitting"]


def test_praying_and_meditating_have_cooldowns_of_their_own() -> None:
    stage, armitage = at(30)
    stage.type(armitage, "sit")
    assert errors(stage.type(armitage, "pray")) == []
    assert errors(stage.type(armitage, "meditate")) == []
    assert value(stage, armitage) == 44


def test_recovery_never_passes_100_and_may_lift_a_tier_told_after_it() -> None:
    stage, armitage = at(66)
    events = stage.type(armitage, "pray")
    assert [e.type for e in events if e.scope == Scope.entity(armitage)][:2] == ["pray", TIER_EVENT]
    assert value(stage, armitage) == 74
    stage, armitage = at(97)
    stage.type(armitage, "pray")
    assert value(stage, armitage) == 100


def test_the_room_sees_a_player_pray() -> None:
    stage, armitage = at(50)
    stage.player("Dyer", "indoors")
    stage.tick()
    events = stage.type(armitage, "pray")
    (seen,) = [
        e for e in events if e.type == "pray" and e.scope == Scope.room(stage.room("indoors"))
    ]
    assert seen.text == "Armitage bows their head in prayer."
    assert seen.exclude == frozenset({armitage})


def test_a_cooldown_survives_a_logout() -> None:
    stage, armitage = at(50)
    stage.type(armitage, "pray")
    stage.type(armitage, "quit")
    stage.run_s(300.0)
    CorePresence().enter_world(stage.world, armitage)
    stage.tick()
    events = stage.type(armitage, "pray")
    assert errors(events) == ["on_cooldown"]
    (error,) = [e for e in events if e.type == "error"]
    assert error.text == "You cannot pray again yet: about 10 more minutes."
