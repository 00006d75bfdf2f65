"""Items are never lost, duplicated or misplaced, whatever two players type, and whoever dies.

Hypothesis throws random sequences of item commands (real targets, counts, ordinals, "all", and
nonsense) by two characters who wander between rooms, and checks after every tick that the
multiset of items is unchanged, that every item is in exactly one place that exists, and that a
refused command changed nothing. A second test adds deaths (players and NPCs), mortal wounds,
looting, corpses rotting and spilling, loose items decaying, and restarts from the database: the
census then equals the first one plus the loot dying NPCs left and minus what decayed (the two
ways the rules make and unmake items), read from the events that tell them.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from components.body import Dead, Offline, Vitals
from components.content import Directory
from components.items import Container, Corpse, Inventory, Item
from components.place import Location, Room
from engine.config import Config, EngineConfig
from engine.core import Engine
from engine.events import Event
from engine.world import World
from persist.database import open_database
from persist.restore import restore
from persist.schema import Schema
from systems.characters import create_character
from systems.common import template_of
from systems.corpses import CORPSE_TEMPLATE, CorpseSettings
from systems.death import DeathSettings
from systems.decay import DecaySettings
from systems.npc_spawn import spawn_npc
from systems.stacks import item_components
from systems.whereabouts import contents, move, room_of
from systems.wounds import hurt
from tests.persist.test_restore import Saver
from tests.systems.test_items import item_state
from tests.systems.world_fixture import make_engine

ROOMS = ("ward", "hall", "gate", "cellar")

ITEM_NOUNS = ("knife", "rusty", "silver", "key", "coin", "coins", "backpack", "lantern", "statue")
OTHER_NOUNS = ("chest", "oak", "door", "north", "main hand", "back", "head", "armitage", "xyzzy")

item_noun = st.sampled_from(ITEM_NOUNS)
noun = st.one_of(item_noun, item_noun, item_noun, st.sampled_from(OTHER_NOUNS))
count = st.integers(1, 9) | st.just(0)
target = st.one_of(
    noun,
    noun,
    noun,
    noun,
    noun,
    noun,
    st.just("all"),
    st.builds(lambda n: f"all.{n}", noun),
    st.builds(lambda k, n: f"{k}.{n}", count, noun),
    st.builds(lambda k, n: f"{k} {n}", count, noun),
)
container = st.sampled_from(("backpack", "pack", "chest", "knife", "xyzzy", "2.backpack"))
sensible = st.one_of(
    st.sampled_from(["inventory", "i"]),
    st.builds(lambda v, t: f"{v} {t}", st.sampled_from(["get", "take", "drop"]), target),
    st.builds(lambda t: f"get {t}", target),
    st.builds(lambda t, c: f"get {t} from {c}", target, container),
    st.builds(lambda t, c: f"put {t} in {c}", target, container),
    st.builds(
        lambda v, t: f"{v} {t}",
        st.sampled_from(["open", "close", "lock", "unlock"]),
        st.sampled_from(("chest", "backpack", "door", "oak", "n", "s", "west", "knife")),
    ),
    st.builds(
        lambda v, t: f"{v} {t}",
        st.sampled_from(["equip", "wear", "wield", "unequip", "remove"]),
        target,
    ),
)
nonsense = st.one_of(
    st.sampled_from(["get", "put", "drop", "open", "put key", "get from chest", "wear x y z"]),
    st.text(max_size=20),
)
verb_line = st.one_of(sensible, sensible, sensible, sensible, sensible, nonsense)


@dataclass(frozen=True)
class Typed:
    who: int  # 0 or 1
    line: str


@dataclass(frozen=True)
class Walk:
    who: int
    room: str


typed = st.builds(Typed, st.integers(0, 1), verb_line)
step = st.one_of(
    typed, typed, typed, typed, typed, st.builds(Walk, st.integers(0, 1), st.sampled_from(ROOMS))
)


def setup() -> tuple[Engine, list[int]]:
    """The fixture world with more things to fight over, and two players in the hall (Dyer with
    little room in his hands, a key, coins and a worn backpack holding a coin and a knife)."""
    engine = make_engine()
    return engine, _furnish(engine)


def _furnish(engine: Engine) -> list[int]:
    """:func:`setup`'s things and players, in ``engine``'s world."""
    world = engine.world
    directory = world.resource(Directory)
    hall = directory.rooms["hall"]
    players = [create_character(world, "Armitage"), create_character(world, "Dyer")]
    for player in players:
        move(world, player, hall)
    world.get(players[1], Inventory).capacity = 3
    for template, quantity, holder in (
        ("coin", 7, hall),
        ("silver_knife", 1, hall),
        ("lantern", 1, hall),
        ("coin", 3, players[1]),
        ("brass_key", 1, players[1]),
    ):
        components = item_components(directory.items[template], quantity)
        move(world, world.spawn(*components, persistent=True), holder)
    worn = world.spawn(*item_components(directory.items["backpack"]), persistent=True)
    move(world, worn, players[1], "back")
    for template in ("coin", "rusty_knife"):
        made = world.spawn(*item_components(directory.items[template]), persistent=True)
        move(world, made, worn)
    return players


#: The modules whose commands handle items (``systems.items`` was split into these).
ITEM_MODULES = frozenset(
    {"systems.carrying", "systems.equipment", "systems.latches", "systems.corpses"}
)


def is_item_command(engine: Engine, line: str) -> bool:
    """Whether ``line`` runs one of the item commands (whose refusals must change nothing)."""
    words = line.split()
    spec = engine.commands.resolve(words[0]) if words else None
    return spec is not None and spec.handler.__module__ in ITEM_MODULES


def census(world: World) -> Counter[str]:
    """Template -> total quantity of every item in the world."""
    totals: Counter[str] = Counter()
    for _entity, item in world.query(Item):
        totals[item.template] += item.quantity
    return totals


def kept_somewhere(world: World, item: int) -> bool:
    """Under a room, or on a character out of the world (one who quit keeps what it carries,
    outside every room, until it comes back)."""
    if room_of(world, item) is not None:
        return True
    holder = world.entity_of(world.get(item, Location).holder)
    while holder is not None and world.has(holder, Location):
        holder = world.entity_of(world.get(holder, Location).holder)
    return holder is not None and world.has(holder, Offline)


def check_places(world: World) -> None:
    """Every item is in one place that exists, rooted in a room, within every capacity."""
    stacks: set[tuple[int, str, str]] = set()
    for entity, item in world.query(Item):
        assert item.quantity >= 1
        location = world.try_get(entity, Location)
        assert location is not None, f"item {entity} ({item.template}) is nowhere"
        holder = world.entity_of(location.holder)
        assert holder is not None, f"item {entity} is held by a missing {location.holder}"
        assert kept_somewhere(world, entity), f"item {entity} is not under any room"
        template = template_of(world, entity)
        assert template is not None
        if not template.portable:
            assert world.has(holder, Room), f"{template.id} left the floor"
        if location.slot:
            assert location.slot == template.slot
        if template.stackable:
            key = (location.holder, location.slot, item.template)
            assert key not in stacks, f"two stacks of {item.template} side by side"
            stacks.add(key)
    for holder, container in world.query(Container):
        inside = [e for e in contents(world, holder) if world.has(e, Item)]
        assert len(inside) <= container.capacity
    for holder, inventory in world.query(Inventory):
        slots: Counter[str] = Counter(
            world.get(e, Location).slot for e in contents(world, holder) if world.has(e, Item)
        )
        assert slots[""] <= inventory.capacity
        assert all(count == 1 for slot, count in slots.items() if slot)


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(step, min_size=10, max_size=60))
@example(  # one of them quits (found as "Q"): what it carries leaves the world with it
    steps=[
        Typed(1, "get all"),
        Typed(1, "Q"),
        Walk(0, "ward"),
        Typed(1, "inventory"),
        Typed(1, "drop all"),
        Typed(0, "get all"),
    ]
)
def test_item_commands_never_lose_duplicate_or_misplace_an_item(
    steps: list[Typed | Walk],
) -> None:
    engine, players = setup()
    world = engine.world
    rooms = world.resource(Directory).rooms
    before = census(world)
    check_places(world)
    for action in steps:
        if isinstance(action, Walk):
            move(world, players[action.who], rooms[action.room])
            continue
        state = item_state(world)
        engine.submit_line(players[action.who], action.line)
        result = engine.tick()
        if is_item_command(engine, action.line):
            told = [
                e
                for e in result.events
                if e.scope.target == players[action.who] and e.type in ("msg", "error")
            ]
            for reply in told:
                event(f"{reply.type}: {reply.data.get('action') or reply.data.get('code')}")
            codes = [e.data.get("code") for e in told if e.type == "error"]
            assert "internal_error" not in codes, action.line
            if codes:  # a refusal changes nothing
                assert item_state(world) == state, action.line
        assert census(world) == before, action.line
        check_places(world)


# --------------------------------------------------------------------------------------------------
# Through death, looting, rot, decay and restarts


#: Short times, so that a few steps of waiting see corpses rot and spill and dropped things decay.
QUICK_RULES = {
    "corpses": CorpseSettings(
        corpse_grace_s=20.0, player_corpse_decay_s=90.0, npc_corpse_decay_s=40.0
    ),
    "decay": DecaySettings(floor_item_decay_s=60.0),
    "death": DeathSettings(respawn_s=30.0),
}
RATE_HZ = 2.0
BODIES = ("Armitage", "Dyer", "rat", "ghoul")


@dataclass(frozen=True)
class Kill:
    who: int  # index into BODIES


@dataclass(frozen=True)
class Wound:
    who: int


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Restart:
    pass


corpse_line = st.one_of(
    st.sampled_from(
        [
            "loot",
            "loot corpse",
            "loot 2.corpse",
            "loot rat",
            "loot ghoul",
            "get all from corpse",
            "get coin from corpse",
            "get all.coin from 2.corpse",
            "put all in corpse",
            "drop all",
            "get all",
            "respawn",
            "look in corpse",
        ]
    ),
    sensible,
)
mortal_step = st.one_of(
    st.builds(Typed, st.integers(0, 1), corpse_line),
    st.builds(Typed, st.integers(0, 1), corpse_line),
    st.builds(Typed, st.integers(0, 1), corpse_line),
    st.builds(Walk, st.integers(0, 1), st.sampled_from(ROOMS)),
    st.builds(Kill, st.integers(0, 3)),
    st.builds(Wound, st.integers(0, 1)),
    st.builds(Wait, st.sampled_from([1.0, 10.0, 25.0, 45.0, 100.0])),
    st.just(Restart()),
)


class Ledger:
    """What the rules made and unmade besides moving: loot that dying NPCs leave (made) and
    loose items that decay (unmade), by template, read from the events that tell them."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()
        self.unmade: Counter[str] = Counter()

    def read(self, events: list[Event]) -> None:
        for told in events:
            if told.type == "combat" and told.data.get("kind") == "death":
                for item in told.data.get("loot", ()):
                    self.made[item["template"]] += item["quantity"]
            elif told.type == "decay":
                for item in told.data["items"]:
                    self.unmade[item["template"]] += item["quantity"]


def things(world: World) -> Counter[str]:
    """The census of items, corpses aside: a corpse is a body's remains, not an item anyone
    made, and it goes by the rule of rot (what it held is counted wherever it is)."""
    totals = census(world)
    totals.pop(CORPSE_TEMPLATE.id, None)
    return totals


def mortal_setup(engine: Engine) -> list[int]:
    """:func:`setup`'s two players, and a rat and a ghoul in the hall (the ghoul carries coins
    and leaves coins as loot)."""
    world = engine.world
    directory = world.resource(Directory)
    hall = directory.rooms["hall"]
    players = _furnish(engine)
    rat = spawn_npc(world, directory.npcs["rat"], hall, "")
    ghoul = spawn_npc(world, directory.npcs["ghoul"], hall, "")
    return [*players, rat, ghoul]


def restarted(engine: Engine, saver: Saver, ledger: Ledger) -> tuple[Engine, Saver]:
    """The world saved and restored into a new engine (as a server restart does); the last
    tick's events go to the ledger (something may decay in it)."""
    ledger.read(engine.tick().events)
    saver.flush()
    again = make_engine(Config(engine=EngineConfig(tick_rate_hz=RATE_HZ), rules=QUICK_RULES))
    restore(again.world, Schema(again.registry.component_types), saver.writer.db)
    again.scheduler.rebase(again.world.clock.seconds)
    return again, Saver(again, saver.writer.db)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(mortal_step, min_size=10, max_size=40))
def test_death_looting_rot_decay_and_restarts_never_lose_or_duplicate_an_item(
    steps: list[Typed | Walk | Kill | Wound | Wait | Restart],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{Path(folder) / 'w.db'}")
        try:
            engine = make_engine(
                Config(engine=EngineConfig(tick_rate_hz=RATE_HZ), rules=QUICK_RULES)
            )
            saver = Saver(engine, db)
            bodies = [engine.world.stable_id(e) for e in mortal_setup(engine)]
            ledger = Ledger()
            expected = things(engine.world)
            for action in steps:
                world = engine.world
                rooms = world.resource(Directory).rooms
                entities = [world.entity_of(sid) if sid is not None else None for sid in bodies]
                if isinstance(action, Restart):
                    engine, saver = restarted(engine, saver, ledger)
                    event(f"restart with {engine.world.count(Corpse)} corpses")
                elif isinstance(action, Walk):
                    who = entities[action.who]
                    if who is not None and world.has(who, Location):
                        move(world, who, rooms[action.room])
                elif isinstance(action, Kill | Wound):
                    who = entities[action.who]
                    if who is not None and world.has(who, Location) and not world.has(who, Dead):
                        vitals = world.get(who, Vitals)
                        blow = 100 if isinstance(action, Kill) else max(vitals.dp, 0) + 1
                        ledger.read(_hurt_and_tick(engine, who, blow))
                elif isinstance(action, Wait):
                    for _ in range(engine.world.clock.ticks_for(action.seconds)):
                        ledger.read(engine.tick().events)
                else:
                    who = entities[action.who]
                    if who is not None:
                        engine.submit_line(who, action.line)
                        result = engine.tick()
                        ledger.read(result.events)
                        codes = [
                            e.data.get("code")
                            for e in result.events
                            if e.type == "error" and e.scope.target == who
                        ]
                        assert "internal_error" not in codes, action.line
                world = engine.world
                now = things(world)
                assert now + ledger.unmade == expected + ledger.made, action
                check_places(world)
        finally:
            db.dispose()


def _hurt_and_tick(engine: Engine, body: int, damage: int) -> list[Event]:
    """Deal ``damage`` to ``body`` (the rules of wounds and death), then run a tick; every event
    of both."""
    hurt(engine.world, body, damage)
    return engine.world.drain_events() + engine.tick().events
