"""A restart with NPCs about: the population stays as it was (no rule spawns again what is
there), a pending respawn is saved and comes when it would have, and woken NPCs go on acting.
Each test saves through the real snapshot and writer and restores into a fresh engine."""

from __future__ import annotations

import sqlalchemy as sa

from components.body import Npc, Vitals
from components.npc import Respawn
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S
from tests.persist.test_restore import Saver
from tests.persist.test_restore_combat import restarted
from tests.systems.arena import Arena
from tests.systems.walk import SETTLE_S, room_key
from tests.systems.world_fixture import make_engine


def orderlies(stage: Arena) -> list[int]:
    return [e for e, npc in stage.world.query(Npc) if npc.template == "orderly"]


def saved_arena(db: sa.Engine) -> tuple[Arena, Saver]:
    """The fixture world at rest, saved to ``db`` from its first tick (the orderly's spawn)."""
    stage = Arena(make_engine())
    saver = Saver(stage.engine, db)
    stage.run_s(SETTLE_S)
    return stage, saver


def test_the_population_survives_a_restart_without_a_second_spawn(db: sa.Engine) -> None:
    stage, saver = saved_arena(db)  # the orderly spawned in the ward
    (orderly,) = orderlies(stage)
    stage.world.get(orderly, Vitals).dp = 7
    again = restarted(stage, saver, db)
    again.run_s(5.0)  # past the first check of the restarted world
    (back,) = orderlies(again)
    assert again.world.stable_id(back) == stage.world.stable_id(orderly)
    assert again.world.get(back, Vitals).dp == 7  # the same one, as it was
    assert [e for e in again.log if e.type == "arrive"] == []


def test_a_pending_respawn_survives_a_restart_and_comes_on_time(db: sa.Engine) -> None:
    stage, saver = saved_arena(db)
    stage.world.destroy(orderlies(stage)[0])  # lost at 2.0 s, noticed at 3.0 s: due at 63.0 s
    stage.run_s(10.0)
    assert [r for _, r in stage.world.query(Respawn)] == [Respawn("orderly", "ward", 63.0)]
    again = restarted(stage, saver, db)
    assert [r for _, r in again.world.query(Respawn)] == [Respawn("orderly", "ward", 63.0)]
    again.run_s(40.0)
    assert orderlies(again) == []  # no second replacement at the first check
    again.run_until(lambda: bool(orderlies(again)))
    # At the restarted world's first check at or after its due point (its checks run a second
    # apart from the moment it started, 12.1 s here).
    assert 63.0 <= again.now_s < 63.0 + SPAWN_CHECK_INTERVAL_S
    assert room_key(again.world, orderlies(again)[0]) == "ward"
    assert again.world.count(Respawn) == 0


def test_npcs_act_again_once_a_player_comes_after_a_restart(db: sa.Engine) -> None:
    stage, saver = saved_arena(db)
    cat = stage.npc("cat", "hall")
    again = restarted(stage, saver, db)
    back = again.world.entity_of(stage.world.stable_id(cat) or 0)
    assert back is not None
    again.run_s(60.0)
    assert room_key(again.world, back) == "hall"  # nobody there: dormant
    again.player("Armitage", room="ward")
    again.run_until(lambda: room_key(again.world, back) != "hall", limit_s=10.0)
