"""NPC spawning: rooms are populated at start-up and the fallen are replaced after respawn_s."""

from __future__ import annotations

from components.body import Identity, Npc, Vitals
from components.content import Directory
from engine.config import Config, EngineConfig
from engine.core import Engine
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S
from systems.whereabouts import contents, room_of
from tests.systems.world_fixture import make_engine


def orderlies(engine: Engine) -> list[int]:
    return [e for e, npc in engine.world.query(Npc) if npc.template == "orderly"]


def test_spawn_rules_fill_their_rooms_at_the_first_check() -> None:
    engine = make_engine()
    engine.run_ticks(engine.world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    (orderly,) = orderlies(engine)
    world = engine.world
    assert room_of(world, orderly) == world.resource(Directory).rooms["ward"]
    assert world.get(orderly, Identity).name == "a weary orderly"
    assert world.get(orderly, Vitals).dp == 10
    assert world.is_persistent(orderly)
    assert orderly in contents(world, world.resource(Directory).rooms["ward"])


def test_a_rule_at_its_maximum_spawns_nothing_more() -> None:
    engine = make_engine()
    engine.run_ticks(engine.world.clock.ticks_for(60.0))
    assert len(orderlies(engine)) == 1


def test_a_fallen_npc_is_replaced_after_respawn_s_and_not_before() -> None:
    engine = make_engine()
    clock = engine.world.clock
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    engine.world.destroy(orderlies(engine)[0])
    # Noticed at the next check; the rule's respawn_s (60 s) runs from then.
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S + 59.0))
    assert orderlies(engine) == []
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S + 1.0))
    assert len(orderlies(engine)) == 1


def test_respawn_happens_at_the_same_game_time_at_5_hz_and_20_hz() -> None:
    def respawn_time(rate: float) -> float:
        engine = make_engine(Config(engine=EngineConfig(tick_rate_hz=rate)))
        engine.run_ticks(engine.world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
        engine.world.destroy(orderlies(engine)[0])
        while not orderlies(engine):
            engine.tick()
        return engine.world.clock.seconds

    assert respawn_time(5.0) == respawn_time(20.0) == 62.0


def test_the_arrival_is_announced_to_the_room() -> None:
    engine = make_engine()
    results = engine.run_ticks(engine.world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    arrivals = [ev for r in results for ev in r.events if ev.type == "arrive"]
    assert [ev.text for ev in arrivals] == ["A weary orderly appears."]
