"""NPC spawning: rooms are populated at start-up and the fallen are replaced after respawn_s."""

from __future__ import annotations

from dataclasses import replace

from components.body import Identity, Npc, Vitals
from components.content import Directory, SpawnRule
from components.npc import Respawn
from engine.config import Config, EngineConfig
from engine.core import Engine
from engine.inputs import HANDED_OFF_EVENT
from engine.territory import Territory
from systems import plugin as core
from systems.content.build import build_world
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S, population, spawn_npc
from systems.whereabouts import contents, move, room_of
from systems.wounds import hurt
from tests.systems.walk import room_key
from tests.systems.world_fixture import CONTENT, make_engine


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


# --------------------------------------------------------------------------------------------------
# Counting: the living and the pending never exceed max


def rule_world(max_: int, respawn_s: float, rate_hz: float = 10.0) -> tuple[Engine, SpawnRule]:
    """The fixture world with one more rule: ``max_`` rats in the hall."""
    rule = SpawnRule("rat", "hall", max=max_, respawn_s=respawn_s)
    content = replace(CONTENT, spawns=(*CONTENT.spawns, rule))
    engine = Engine(Config(engine=EngineConfig(tick_rate_hz=rate_hz)), plugins=[core])
    build_world(engine.world, content)
    engine.world.mark_clean()
    engine.run_ticks(engine.world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    return engine, rule


def rats(engine: Engine) -> list[int]:
    return [e for e, npc in engine.world.query(Npc) if npc.template == "rat"]


def test_a_rule_fills_to_max_at_the_first_check_and_counts_the_wandered_away() -> None:
    engine, rule = rule_world(3, 60.0)
    world = engine.world
    assert len(rats(engine)) == 3
    move(world, rats(engine)[0], world.resource(Directory).rooms["street"])  # wandered off
    engine.run_ticks(world.clock.ticks_for(120.0))
    assert len(rats(engine)) == 3
    assert population(world, rule) == (3, 0)


def test_an_npc_killed_is_replaced_in_its_rules_room_respawn_s_after_its_death_is_noticed() -> None:
    engine, rule = rule_world(2, 30.0)
    world = engine.world
    victim = rats(engine)[0]
    move(world, victim, world.resource(Directory).rooms["cellar"])
    hurt(world, victim, 100)  # dies now, at 1.0 s: noticed at the check of 2.0 s
    assert population(world, rule) == (1, 0)
    engine.run_ticks(world.clock.ticks_for(1.0))
    assert population(world, rule) == (1, 1)
    (pending,) = [r for _, r in world.query(Respawn)]
    assert pending == Respawn("rat", "hall", 32.0)
    engine.run_ticks(world.clock.ticks_for(29.9))
    assert len(rats(engine)) == 1
    engine.run_ticks(1)
    assert population(world, rule) == (2, 0)
    assert {room_key(world, rat) for rat in rats(engine)} == {"hall"}
    assert world.count(Respawn) == 0


def test_deaths_and_spawns_in_one_tick_never_overfill_a_rule() -> None:
    engine, rule = rule_world(2, 10.0)
    world = engine.world
    first, second = rats(engine)
    world.destroy(first)
    engine.run_ticks(world.clock.ticks_for(1.0))  # noticed at 2.0 s: due at 12.0 s
    assert population(world, rule) == (1, 1)
    engine.run_ticks(world.clock.ticks_for(9.9))  # to the tick before the due one
    world.destroy(second)  # the other dies in the tick its fellow's replacement is due
    result = engine.tick()
    assert population(world, rule) == (1, 1)  # the replacement, and the next one pending
    assert [e.text for e in result.events if e.type == "arrive"] == ["A fat rat appears."]
    for _ in range(world.clock.ticks_for(60.0)):
        engine.tick()
        alive, pending = population(world, rule)
        assert alive + pending <= rule.max
    assert population(world, rule) == (2, 0)


def test_many_losses_at_once_are_all_replaced_and_no_more() -> None:
    engine, rule = rule_world(3, 0.0)
    world = engine.world
    for rat in rats(engine):
        world.destroy(rat)
    extra = spawn_npc(
        world,
        world.resource(Directory).npcs["rat"],
        world.resource(Directory).rooms["hall"],
        "hall",
    )
    engine.run_ticks(world.clock.ticks_for(1.0))  # respawn_s 0: at the check that notices
    assert extra in rats(engine)
    assert population(world, rule) == (3, 0)


def test_a_pending_respawn_of_a_rule_that_is_full_again_is_dropped() -> None:
    engine, rule = rule_world(1, 10.0)
    world = engine.world
    world.destroy(rats(engine)[0])
    engine.run_ticks(world.clock.ticks_for(1.0))
    assert population(world, rule) == (0, 1)
    directory = world.resource(Directory)
    spawn_npc(world, directory.npcs["rat"], directory.rooms["hall"], "hall")  # by other means
    engine.run_ticks(world.clock.ticks_for(20.0))
    assert population(world, rule) == (1, 0)


def _sharded(engine: Engine, zones: frozenset[str], elsewhere: frozenset[str]) -> None:
    engine.world.insert_resource(Territory("a", zones, elsewhere))


def test_in_a_sharded_world_only_the_shard_simulating_a_rooms_zone_fills_it() -> None:
    here = make_engine()
    _sharded(here, frozenset({"asylum"}), frozenset({"town"}))
    there = make_engine()
    _sharded(there, frozenset({"town"}), frozenset({"asylum"}))
    handed_off = {
        engine: [
            event
            for result in engine.run_ticks(engine.world.clock.ticks_for(60.0))
            for event in result.events
            if event.type == HANDED_OFF_EVENT
        ]
        for engine in (here, there)
    }
    assert len(orderlies(here)) == 1  # the ward is in the asylum
    assert orderlies(there) == []
    assert handed_off == {here: [], there: []}  # none made there to send here: one in all


def test_an_npc_handed_to_another_shard_is_not_replaced_here() -> None:
    engine = make_engine()
    _sharded(engine, frozenset({"asylum"}), frozenset({"town"}))
    clock = engine.world.clock
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    engine.world.evict(orderlies(engine))  # it fled into the town, another shard's
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S + 120.0))
    assert orderlies(engine) == []
    assert not [e for e, _ in engine.world.query(Respawn)]


def test_an_npc_that_fled_to_another_shard_still_counts_when_one_of_its_fellows_dies() -> None:
    engine, rule = rule_world(2, 0.0)  # two rats in the hall, in the asylum
    _sharded(engine, frozenset({"asylum"}), frozenset({"town"}))
    world = engine.world
    fled, stayed = rats(engine)
    move(world, fled, world.resource(Directory).rooms["street"])  # into the town: handed on
    engine.tick()
    assert rats(engine) == [stayed]
    world.destroy(stayed)
    engine.run_ticks(world.clock.ticks_for(2 * SPAWN_CHECK_INTERVAL_S))
    assert len(rats(engine)) == 1  # the fallen one made good; the one that fled lives on there
    assert population(world, rule) == (2, 0)


def test_a_shard_starting_does_not_make_again_an_npc_of_its_rule_that_stands_on_another() -> None:
    engine = make_engine()
    world = engine.world
    directory = world.resource(Directory)
    # The ward's orderly, saved where it fled: in the town, another shard's (every shard
    # restores every row, and lets go of what stands in other shards' zones at its first tick).
    spawn_npc(world, directory.npcs["orderly"], directory.rooms["street"], "ward")
    _sharded(engine, frozenset({"asylum"}), frozenset({"town"}))
    engine.run_ticks(world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S + 120.0))
    assert orderlies(engine) == []  # let go of, and not made again here
    assert world.count(Respawn) == 0


def test_a_zone_moved_away_is_no_longer_filled_here_its_pending_respawn_left_to_its_shard() -> None:
    engine = make_engine()
    clock = engine.world.clock
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    engine.world.destroy(orderlies(engine)[0])
    engine.run_ticks(clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    (pending,) = [e for e, _ in engine.world.query(Respawn)]
    _sharded(engine, frozenset({"town"}), frozenset({"asylum"}))  # the asylum moved away
    engine.run_ticks(clock.ticks_for(120.0))
    assert orderlies(engine) == []
    assert engine.world.exists(pending)  # the asylum's shard has its own copy, and acts on it
