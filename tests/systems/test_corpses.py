"""Corpses: a player's is theirs alone (and staff's) for corpse_grace_s; ``loot`` takes what may be
taken and fits; corpses rot in stages, then go and spill what they held. Timed in game seconds at
two tick rates."""

from __future__ import annotations

import pytest

from components.items import Corpse, Inventory
from engine.events import Scope
from systems.corpses import CorpseSettings
from systems.whereabouts import contents, move
from systems.wounds import hurt
from tests.systems.arena import Arena, arena, errors, items_held

GRACE_S = CorpseSettings().corpse_grace_s


def slain(stage: Arena, name: str = "Armitage") -> tuple[int, int]:
    """A player with a knife, a coat and 4 coins, killed in the hall; the player and corpse."""
    body = stage.player(name)
    stage.give(body, "rusty_knife", slot="main_hand")
    stage.give(body, "leather_coat", slot="torso")
    stage.give(body, "coin", 4)
    hurt(stage.world, body, 100)
    (corpse,) = [e for e in contents(stage.world, stage.room("hall")) if stage.world.has(e, Corpse)]
    return body, corpse


def test_only_the_owner_may_take_from_their_corpse_during_the_grace() -> None:
    stage = arena()
    world = stage.world
    armitage, _corpse = slain(stage)
    carter = stage.player("Carter")
    assert errors(stage.type(carter, "get coin from corpse")) == ["corpse_in_grace"]
    assert errors(stage.type(carter, "loot corpse")) == ["corpse_in_grace"]
    assert items_held(world, carter) == {}
    stage.type(armitage, "respawn")
    move(world, armitage, stage.room("hall"))  # back at their own body
    assert errors(stage.type(armitage, "get coin from corpse")) == []
    assert items_held(world, armitage) == {"coin": 4}


def test_staff_may_take_from_a_corpse_in_its_grace() -> None:
    stage = arena()
    _armitage, corpse = slain(stage)
    staff = stage.player("Wilmarth")
    stage.engine.submit_line(staff, "loot corpse", role="admin")
    stage.tick()
    assert items_held(stage.world, staff) == {"rusty_knife": 1, "leather_coat": 1, "coin": 4}
    assert items_held(stage.world, corpse) == {}


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_anyone_may_loot_a_players_corpse_once_the_grace_is_over(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz)
    slain(stage)
    carter = stage.player("Carter")
    stage.run_s(GRACE_S - 1.0)
    assert errors(stage.type(carter, "loot corpse")) == ["corpse_in_grace"]
    stage.run_s(1.0)
    events = stage.type(carter, "loot corpse")
    assert errors(events) == []
    (took,) = [e for e in events if e.scope == Scope.entity(carter)]
    assert took.text == (
        "You take 4 silver coins, a leather coat and a rusty knife from the corpse of Armitage."
    )


def test_an_npc_corpse_is_anyones_at_once() -> None:
    stage = arena()
    carter = stage.player("Carter")
    rat = stage.npc("rat")
    stage.give(rat, "brass_key")
    hurt(stage.world, rat, 100)
    assert errors(stage.type(carter, "loot rat")) == []
    assert items_held(stage.world, carter) == {"brass_key": 1}


def test_loot_takes_what_fits_and_leaves_the_rest() -> None:
    stage = arena()
    world = stage.world
    _armitage, corpse = slain(stage)
    carter = stage.player("Carter")
    world.get(carter, Inventory).capacity = 2
    stage.run_s(GRACE_S)
    events = stage.type(carter, "loot corpse")
    (took,) = [e for e in events if e.scope == Scope.entity(carter)]
    assert took.text.endswith("You cannot carry the rest.")
    assert sum(items_held(world, carter).values()) >= 2
    assert len(items_held(world, corpse)) == 1
    assert errors(stage.type(carter, "loot corpse")) == ["inventory_full"]


def test_loot_of_an_empty_corpse_or_of_nothing_is_refused() -> None:
    stage = arena()
    carter = stage.player("Carter")
    assert errors(stage.type(carter, "loot")) == ["no_such_item"]
    rat = stage.npc("rat")
    hurt(stage.world, rat, 100)
    assert errors(stage.type(carter, "loot")) == ["corpse_empty"]


def rot_timeline(rate_hz: float) -> list[tuple[float, str]]:
    stage = arena(rate_hz=rate_hz)
    stage.ready_at(3.0)
    stage.tick()
    slain(stage)
    hall = stage.room("hall")
    stage.run_s(CorpseSettings().player_corpse_decay_s + 1.0)
    return [
        (round(e.tick / rate_hz, 6), e.text)
        for e in stage.log
        if e.type == "rot" and e.scope == Scope.room(hall)
    ]


def test_a_corpse_rots_in_stages_then_goes_and_spills_what_it_held_at_any_tick_rate() -> None:
    slow, fast = rot_timeline(5.0), rot_timeline(20.0)
    assert slow == fast
    decay_s = CorpseSettings().player_corpse_decay_s
    assert slow == [
        (
            3.0 + decay_s * 0.5,
            "The corpse of Armitage has begun to bloat, and the smell of it fills the air.",
        ),
        (
            3.0 + decay_s * 0.85,
            "The corpse of Armitage is putrid now, and something small moves under the skin.",
        ),
        (
            3.0 + decay_s,
            "The corpse of Armitage collapses into a stinking ruin and is gone. What it held"
            " falls to the ground: 4 silver coins, a leather coat and a rusty knife.",
        ),
    ]


def test_an_npc_corpse_goes_after_npc_corpse_decay_s() -> None:
    stage = arena(rules={"corpses": CorpseSettings(npc_corpse_decay_s=40.0)})
    world = stage.world
    rat = stage.npc("rat")
    stage.give(rat, "brass_key")
    hurt(world, rat, 100)
    hall = stage.room("hall")

    def corpses() -> list[int]:
        return [e for e in contents(world, hall) if world.has(e, Corpse)]

    (corpse,) = corpses()
    assert stage.run_until(lambda: not corpses()) == pytest.approx(40.0)
    assert "brass_key" in items_held(world, hall)
    assert not world.exists(corpse)
