"""Items are never lost, duplicated or misplaced, whatever two players type.

Hypothesis throws random sequences of item commands (real targets, counts, ordinals, "all", and
nonsense) by two characters who wander between rooms, and checks after every tick that the
multiset of items is unchanged, that every item is in exactly one place that exists, and that a
refused command changed nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from hypothesis import event, given, settings
from hypothesis import strategies as st

from components.content import Directory
from components.items import Container, Inventory, Item
from components.place import Location, Room
from engine.core import Engine
from engine.world import World
from systems.characters import create_character
from systems.common import template_of
from systems.stacks import item_components
from systems.whereabouts import contents, move, room_of
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
        move(world, world.spawn(*item_components(directory.items[template])), worn)
    return engine, players


def is_item_command(engine: Engine, line: str) -> bool:
    """Whether ``line`` runs one of this module's commands (other modules may be half-written)."""
    words = line.split()
    spec = engine.commands.resolve(words[0]) if words else None
    return spec is not None and spec.handler.__module__ == "systems.items"


def census(world: World) -> Counter[str]:
    """Template -> total quantity of every item in the world."""
    totals: Counter[str] = Counter()
    for _entity, item in world.query(Item):
        totals[item.template] += item.quantity
    return totals


def check_places(world: World) -> None:
    """Every item is in one place that exists, rooted in a room, within every capacity."""
    stacks: set[tuple[int, str, str]] = set()
    for entity, item in world.query(Item):
        assert item.quantity >= 1
        location = world.try_get(entity, Location)
        assert location is not None, f"item {entity} ({item.template}) is nowhere"
        holder = world.entity_of(location.holder)
        assert holder is not None, f"item {entity} is held by a missing {location.holder}"
        assert room_of(world, entity) is not None, f"item {entity} is not under any room"
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
