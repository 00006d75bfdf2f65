"""A restart in the middle of combat, death and decay: fights end cleanly, the mortally wounded
bleed on, the dead still wait to wake, corpses keep their owner, grace and time left, dropped
things keep theirs. Every timer is a game-time due point in a saved component; each test saves
through the real snapshot and writer, restores into a fresh engine and runs both on."""

from __future__ import annotations

import sqlalchemy as sa

from components.body import Bleeding, Dead, Vitals
from components.combat import Fighting
from components.items import Corpse, Decay
from engine.core import Engine
from engine.events import Scope
from persist.restore import restore
from persist.schema import Schema
from systems.whereabouts import contents
from systems.wounds import hurt
from tests.persist.test_restore import Saver
from tests.systems.arena import Arena, arena, combat_events, errors
from tests.systems.world_fixture import make_engine


def restarted(stage: Arena, saver: Saver, db: sa.Engine) -> Arena:
    """Save the world as a stopping server does (a last tick, a flush) and start another on it,
    as ``kadath serve`` does: content, then the saved rows, then the systems' clocks rebased."""
    stage.tick()
    saver.flush()
    engine: Engine = make_engine()
    restore(engine.world, Schema(engine.registry.component_types), db)
    engine.scheduler.rebase(engine.world.clock.seconds)
    return Arena(engine)


def a_long_fight(db: sa.Engine) -> tuple[Arena, Saver, int]:
    """Armitage fighting the ghoul, both with damage points enough to fight on for long, the
    world saved to ``db`` as it goes; the stage, its saver and Armitage."""
    stage = arena()
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage")
    for who in (armitage, stage.npc("ghoul")):
        stage.world.get(who, Vitals).dp = 1000
    stage.type(armitage, "attack ghoul")
    return stage, saver, armitage


def test_a_fight_in_progress_ends_cleanly_with_a_restart(db: sa.Engine) -> None:
    stage, saver, armitage = a_long_fight(db)
    stage.run_s(4.0)
    assert stage.world.count(Fighting) == 2
    again = restarted(stage, saver, db)
    assert again.world.count(Fighting) == 2  # saved as it was...
    result = again.tick()
    assert again.world.count(Fighting) == 0  # ...and over at the first tick: nobody fights nobody
    back = again.world.entity_of(stage.world.stable_id(armitage) or 0)
    assert back is not None
    (end,) = combat_events(result.events, "end", to=back)
    assert end.text == "The fight is over."
    assert errors(again.type(back, "west")) == []  # free to go


def test_a_mortally_wounded_player_bleeds_on_after_a_restart_at_the_same_moments(
    db: sa.Engine,
) -> None:
    stage = arena()
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage")
    hurt(stage.world, armitage, stage.world.get(armitage, Vitals).dp + 2)  # -2, bleeding
    stage.run_s(4.0)
    again = restarted(stage, saver, db)
    sid = stage.world.stable_id(armitage) or 0
    back = again.world.entity_of(sid)
    assert back is not None
    assert again.world.get(back, Bleeding) == stage.world.get(armitage, Bleeding)
    for world_stage in (stage, again):
        world_stage.run_s(12.0)
    assert again.world.get(back, Vitals).dp == stage.world.get(armitage, Vitals).dp < -2
    bled = [e.tick for e in again.log if e.type == "combat" and e.data.get("kind") == "bleed"]
    before = [e.tick for e in stage.log if e.type == "combat" and e.data.get("kind") == "bleed"]
    assert bled == before[-len(bled) :]


def test_a_dead_player_still_waits_to_wake_after_a_restart(db: sa.Engine) -> None:
    stage = arena()
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage")
    hurt(stage.world, armitage, 100)
    stage.run_s(20.0)
    waking = stage.world.get(armitage, Dead).respawn_at_s
    again = restarted(stage, saver, db)
    back = again.world.entity_of(stage.world.stable_id(armitage) or 0)
    assert back is not None and again.world.get(back, Dead).respawn_at_s == waking
    again.run_until(lambda: not again.world.has(back, Dead))
    assert again.now_s == waking


def test_a_corpse_keeps_its_owner_grace_and_time_left_across_a_restart(db: sa.Engine) -> None:
    stage = arena()
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage")
    stage.give(armitage, "coin", 4)
    hurt(stage.world, armitage, 100)
    stage.run_s(100.0)
    (corpse,) = [e for e in contents(stage.world, stage.room("hall")) if stage.world.has(e, Corpse)]
    before = stage.world.get(corpse, Corpse)
    again = restarted(stage, saver, db)
    body = again.world.entity_of(stage.world.stable_id(corpse) or 0)
    assert body is not None and again.world.get(body, Corpse) == before
    carter = again.player("Carter")
    assert errors(again.type(carter, "loot corpse")) == ["corpse_in_grace"]
    again.run_s(before.grace_until_s - again.now_s)
    assert errors(again.type(carter, "loot corpse")) == []
    again.run_until(lambda: not again.world.exists(body), limit_s=4000)
    rotted = [e for e in again.log if e.type == "rot"]
    assert [round(e.tick / 10.0, 6) for e in rotted] == [
        before.made_at_s + 0.5 * 3600,
        before.made_at_s + 0.85 * 3600,
        before.decays_at_s,
    ]
    assert all(e.scope == Scope.room(again.room("hall")) for e in rotted)


def test_a_dropped_item_keeps_its_decay_time_across_a_restart(db: sa.Engine) -> None:
    stage = arena()
    saver = Saver(stage.engine, db)
    armitage = stage.player("Armitage")
    knife = stage.give(armitage, "silver_knife")
    stage.type(armitage, "drop silver knife")
    stage.run_s(60.0)
    due = stage.world.get(knife, Decay).at_s
    again = restarted(stage, saver, db)
    back = again.world.entity_of(stage.world.stable_id(knife) or 0)
    assert back is not None and again.world.get(back, Decay).at_s == due
    again.run_until(lambda: not again.world.exists(back), limit_s=2000)
    assert again.now_s == due


def test_the_first_commands_after_a_restart_already_find_the_fight_over(db: sa.Engine) -> None:
    stage, saver, armitage = a_long_fight(db)
    again = restarted(stage, saver, db)
    back = again.world.entity_of(stage.world.stable_id(armitage) or 0)
    assert back is not None and again.world.has(back, Fighting)
    assert errors(again.type(back, "flee")) == ["not_fighting"]  # in the very first tick
    assert errors(again.type(back, "west")) == []
