"""The reference worlds hold what they promise (rooms, players, NPCs and items by the number, fights
going on, corpses rotting, loose things decaying, minds in every tier, NPCs of every behaviour),
the same for the same seed; their players' commands are seeded and keep to their district."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.reference import (
    COMMAND_MIX,
    REFERENCE_WORLDS,
    TOWN_FLOOR_ITEMS,
    CommandStream,
    ReferenceRun,
    district_rooms,
    open_reference,
    plan_of,
    reference_world,
)
from components.body import Npc, Player
from components.combat import Fighting
from components.content import Behaviour, Directory
from components.items import Corpse, Decay, Item
from components.mind import Encounters, Lucidity
from components.place import DIRECTION_WORDS, Room
from engine.config import Config, EngineConfig
from systems.encounters import encounter_settings
from systems.lucidity import Tier, lucidity_settings, tier_of
from systems.whereabouts import room_of

TOWN = REFERENCE_WORLDS["town-10k"]
CITY = REFERENCE_WORLDS["city-100k"]


@pytest.fixture(scope="module")
def town() -> ReferenceRun:
    """town-10k as it starts (read only: the tests here never tick it)."""
    return open_reference("town-10k")


def in_district(run: ReferenceRun, entity: int) -> bool:
    world = run.engine.world
    room = room_of(world, entity)
    return room is not None and world.get(room, Room).key in set(district_rooms(TOWN))


def test_the_town_holds_its_rooms_players_npcs_and_items(town: ReferenceRun) -> None:
    world = town.engine.world
    counts = (world.count(Room), world.count(Player), world.count(Npc), world.count(Item))
    assert counts == (1_024, 500, 3_000, 5_500)
    assert TOWN.entities == 10_024
    assert len(town.players) == 500
    assert len(town.shell.hub.playing) == 500  # every player logged in to the headless shell


def test_fights_are_going_on_when_the_town_starts(town: ReferenceRun) -> None:
    world = town.engine.world
    fighting = [e for e, _ in world.query(Player, Fighting)]
    assert len(fighting) >= TOWN.population.fights * 4 // 5  # a catatonic mind cannot attack
    assert any(world.has(e, Npc) for e, _ in world.query(Fighting))


def test_corpses_rot_and_loose_things_decay_in_the_district(town: ReferenceRun) -> None:
    world = town.engine.world
    now = world.clock.seconds
    corpses = world.query(Corpse)
    assert len(corpses) == TOWN.population.corpses
    assert all(corpse.decays_at_s > now for _, corpse in corpses)
    assert len({round(corpse.decays_at_s) for _, corpse in corpses}) > 50  # spread, not at once
    loose = world.query(Item, Decay)
    assert len(loose) == TOWN.population.loose_items
    assert all(in_district(town, e) for e, _ in loose)


def test_the_players_minds_stand_in_every_tier_used_to_every_creature(
    town: ReferenceRun,
) -> None:
    world = town.engine.world
    settings = lucidity_settings(world)
    tiers = Counter(tier_of(world.get(p, Lucidity).value, settings) for p in town.players)
    assert set(tiers) == set(Tier)
    assert tiers[Tier.LUCID] > tiers[Tier.UNEASY] > tiers[Tier.CATATONIC]
    used_to = encounter_settings(world).habituated_after
    every_kind = set(world.resource(Directory).npcs)
    for player in town.players:
        seen = dict(world.get(player, Encounters).seen)
        assert set(seen) == every_kind and min(seen.values()) >= used_to


def test_npcs_of_every_behaviour_are_made_by_their_spawn_rules(town: ReferenceRun) -> None:
    world = town.engine.world
    directory = world.resource(Directory)
    made = Counter(npc.template for _, npc in world.query(Npc))
    templates = [directory.npcs[name] for name in made]
    assert any(t.wander for t in templates) and any(t.emotes for t in templates)
    assert any(t.greet for t in templates) and any(t.flee_below > 0 for t in templates)
    assert any(t.behaviour is Behaviour.AGGRESSIVE for t in templates)
    assert all(npc.home_room for _, npc in world.query(Npc))  # each counted by its spawn rule
    assert sum(rule.max for rule in directory.spawns) == TOWN.npcs


def test_the_same_seed_makes_the_same_world_and_the_same_play() -> None:
    seeds = (7, 7, 8)
    runs = [open_reference("town-10k", config=Config(engine=EngineConfig(seed=s))) for s in seeds]
    for run in runs:
        run.run(20)
    same, again, other = (run.engine.world.dump() for run in runs)
    assert same == again
    assert same != other


def test_the_city_is_ten_times_the_town_around_the_same_district() -> None:
    assert (CITY.rooms, CITY.npcs, CITY.items) == (10 * 1_000, 10 * TOWN.npcs, 10 * TOWN.items)
    assert CITY.population == TOWN.population
    assert len(district_rooms(CITY)) == len(district_rooms(TOWN)) == TOWN.rooms
    origin = CITY.district_origin
    assert origin % 4 == 0 and origin > 0 and origin + CITY.district < CITY.side  # whole zones
    plan = plan_of(CITY, 0)
    assert sum(rule.max for rule in plan.spawns) == CITY.npcs
    npcs = {t.id: t for t in plan.templates.npcs}
    carried = sum(len(npcs[rule.npc].carries) * rule.max for rule in plan.spawns)
    corpses = sum(1 + len(t.carries) for t in plan.corpse_templates)
    kits = sum(len(kit) for kit in plan.kits)
    assert kits == 2 * CITY.players  # a weapon and a thing each
    made = carried + corpses + kits + CITY.population.loose_items
    assert plan.floor_items > 0 and plan.floor_items + made == CITY.items
    # The players' rooms are as crowded as the town's; the rest of the city takes the rest.
    assert CITY.district_floor_items == TOWN_FLOOR_ITEMS == plan_of(TOWN, 0).floor_items


def test_an_unknown_reference_world_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="town-10k, city-100k"):
        reference_world("atlantis")


def test_the_command_stream_is_seeded_and_draws_every_kind_of_command(town: ReferenceRun) -> None:
    def lines(seed: int) -> list[tuple[int, str]]:
        stream = CommandStream(town.engine.world, town.players, seed, lambda p, line: True)
        return [(player, stream.line_for(player)[0]) for player in town.players]

    first, again, other = lines(3), lines(3), lines(4)
    assert first == again
    assert first != other
    verbs = Counter(line.split()[0] for _, line in first)
    assert {"look", "say", "get", "drop", "attack"} <= set(verbs)
    assert sum(n for verb, n in verbs.items() if verb in DIRECTION_WORDS) > 0  # walks
    assert {verb for verb, _ in COMMAND_MIX} == {"walk", "look", "say", "get", "drop", "attack"}


def test_each_player_types_once_a_second_in_turns(town: ReferenceRun) -> None:
    taken: list[int] = []

    def type_line(player: int, line: str) -> bool:
        taken.append(player)
        return True

    stream = CommandStream(town.engine.world, town.players, 0, type_line)
    world = town.engine.world
    start = world.clock.tick
    for tick in range(stream.period):  # one second of turns, without ticking: the clock is moved
        world.clock.tick = start + tick
        stream.type_due()
    world.clock.tick = start
    assert sorted(taken) == sorted(town.players)  # each player once
    assert stream.period == world.clock.ticks_for(1.0)


def test_players_walk_only_into_the_rooms_they_roam(town: ReferenceRun) -> None:
    world = town.engine.world
    directory = world.resource(Directory)
    row = {key for key in directory.rooms if key.endswith("_16")}  # one row of the grid
    stream = CommandStream(world, town.players, 1, lambda p, line: True, roam=row)
    for player in town.players:
        line, verb = stream.line_for(player)
        if verb != "walk":
            continue
        room = world.get(room_of(world, player) or 0, Room)
        way = DIRECTION_WORDS[line]
        assert room.exits[way].to in row
