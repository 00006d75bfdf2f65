"""Items and containers, driven through the command inbox: every command's success and refusals.

Each test types lines as a player would (``engine.submit_line`` then ``engine.tick``) in the small
fixture world, and checks the events and the world. Refusals must change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from components.content import Directory, ItemKind, ItemTemplate
from components.items import Container, Inventory, Item, LockState
from components.place import Door, Location
from engine.commands import Refused
from engine.core import Engine
from engine.events import Event, ScopeKind
from engine.world import World
from systems import item_rules as rules
from systems import latches
from systems.characters import create_character
from systems.item_rules import Portion
from systems.latches import Latch
from systems.stacks import item_components
from systems.targeting import parse_target
from systems.whereabouts import contents, move
from tests.systems.world_fixture import make_engine

ITEM_ACTIONS = {"get", "drop", "put", "open", "close", "lock", "unlock", "equip", "unequip"}


# --------------------------------------------------------------------------------------------------
# The scene: two characters in the hall of the fixture world


@dataclass
class Scene:
    engine: Engine
    armitage: int
    dyer: int

    @property
    def world(self) -> World:
        return self.engine.world

    @property
    def directory(self) -> Directory:
        return self.world.resource(Directory)

    def room(self, key: str) -> int:
        return self.directory.rooms[key]

    def do(self, line: str, who: int | None = None) -> list[Event]:
        """Type ``line`` as ``who`` (default Armitage) and run one tick; that tick's events."""
        self.engine.submit_line(self.armitage if who is None else who, line)
        return self.engine.tick().events

    def put_in(self, who: int, room: str) -> None:
        move(self.world, who, self.room(room))

    def spawn(self, template: str, holder: int, quantity: int = 1, slot: str = "") -> int:
        """A new item in ``holder`` (test set-up, not play)."""
        components = item_components(self.directory.items[template], quantity)
        entity = self.world.spawn(*components, persistent=True)
        move(self.world, entity, holder, slot)
        return entity

    def items_of(self, template: str) -> list[int]:
        return [e for e, item in self.world.query(Item) if item.template == template]

    def loose_coins(self) -> list[int]:
        """Coin stacks outside the ward's chest (which holds 5 from the start)."""
        return [e for e in self.items_of("coin") if self.where(e)[0] != self.chest()]

    def the(self, template: str) -> int:
        """The one item made from ``template``."""
        (entity,) = self.items_of(template)
        return entity

    def where(self, entity: int) -> tuple[int | None, str]:
        location = self.world.get(entity, Location)
        return self.world.entity_of(location.holder), location.slot

    def held(self, holder: int, slot: str = "") -> dict[str, int]:
        """Template -> quantity of the items directly in ``holder`` at ``slot``."""
        found: dict[str, int] = {}
        for entity in contents(self.world, holder):
            item = self.world.try_get(entity, Item)
            if item is not None and self.world.get(entity, Location).slot == slot:
                found[item.template] = found.get(item.template, 0) + item.quantity
        return found

    def chest(self) -> int:
        return self.the("oak_chest")

    def door(self) -> Door:
        return self.world.get(self.directory.doors["oak_door"], Door)


@pytest.fixture
def scene() -> Iterator[Scene]:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    dyer = create_character(world, "Dyer")
    result = Scene(engine, armitage, dyer)
    result.put_in(armitage, "hall")
    result.put_in(dyer, "hall")
    yield result


def item_state(world: World) -> list[tuple[Any, ...]]:
    """Everything item rules may change: items, where they are, containers, doors, capacities.

    Compared before and after a refused command (other systems, such as NPC spawns and the clock,
    may change the rest of the world in the same tick).
    """
    rows: list[tuple[Any, ...]] = []
    for entity, item in world.query(Item):
        container = world.try_get(entity, Container)
        rows.append(
            (
                "item",
                world.stable_id(entity),
                item.template,
                item.quantity,
                world.try_get(entity, Location),
                None
                if container is None
                else (container.capacity, container.closed, container.lock),
            )
        )
    for entity, door in world.query(Door):
        rows.append(("door", world.stable_id(entity), door.closed, door.locked))
    for entity, inventory in world.query(Inventory):
        rows.append(("inventory", world.stable_id(entity), inventory.capacity))
    return sorted(rows, key=repr)


def to(events: list[Event], entity: int) -> list[Event]:
    return [e for e in events if e.scope.kind == ScopeKind.ENTITY and e.scope.target == entity]


def seen_in(events: list[Event], room: int, observer: int) -> list[Event]:
    """Events the room ``room`` shows ``observer``."""
    return [
        e
        for e in events
        if e.scope.kind == ScopeKind.ROOM and e.scope.target == room and observer not in e.exclude
    ]


def item_messages(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type == "msg" and e.data.get("action") in ITEM_ACTIONS]


def said(events: list[Event], entity: int) -> str:
    """The text of the one event addressed to ``entity``."""
    (event,) = to(events, entity)
    return event.text


def assert_refused(scene: Scene, line: str, code: str, who: int | None = None) -> str:
    """Type ``line``; it must give exactly one error with ``code`` and change nothing."""
    before = item_state(scene.world)
    events = scene.do(line, who)
    actor = scene.armitage if who is None else who
    errors = [e for e in events if e.type == "error"]
    assert [e.data["code"] for e in errors] == [code], [e.text for e in events]
    assert errors[0].scope.target == actor
    assert errors[0].data["message"] == errors[0].text
    assert item_messages(events) == []
    assert item_state(scene.world) == before
    return errors[0].text


# --------------------------------------------------------------------------------------------------
# inventory


def test_inventory_lists_carried_and_worn_items_with_ids_names_quantities_and_slots(
    scene: Scene,
) -> None:
    scene.spawn("coin", scene.armitage, 4)
    scene.do("get knife")
    scene.do("get backpack")
    scene.do("wear backpack")

    events = scene.do("inventory")

    (event,) = to(events, scene.armitage)
    assert event.type == "msg"
    assert event.data["capacity"] == 20
    assert event.data["used"] == 2
    items = {entry["template"]: entry for entry in event.data["items"]}
    assert items["coin"]["quantity"] == 4
    assert items["coin"]["name"] == "4 silver coins"
    assert items["coin"]["slot"] == ""
    assert items["rusty_knife"]["id"] == scene.world.stable_id(scene.the("rusty_knife"))
    assert items["backpack"]["slot"] == "back"
    assert items["backpack"]["contents"] == []
    assert "4 silver coins" in event.text
    assert "a canvas backpack on your back" in event.text
    assert seen_in(events, scene.room("hall"), scene.dyer) == []


def test_i_and_inv_are_aliases_of_inventory(scene: Scene) -> None:
    for line in ("i", "inv"):
        events = scene.do(line)
        assert said(events, scene.armitage) == "You are carrying nothing (0/20)."


# --------------------------------------------------------------------------------------------------
# get / take


def test_getting_an_item_from_the_floor_moves_it_to_the_actor(scene: Scene) -> None:
    knife = scene.the("rusty_knife")

    events = scene.do("get knife")

    assert scene.where(knife) == (scene.armitage, "")
    assert said(events, scene.armitage) == "You pick up a rusty knife."
    (own,) = to(events, scene.armitage)
    assert own.data["action"] == "get"
    assert own.data["items"][0]["template"] == "rusty_knife"
    assert own.data["items"][0]["id"] == scene.world.stable_id(knife)


def test_others_in_the_room_see_an_item_picked_up(scene: Scene) -> None:
    events = scene.do("get knife")

    (seen,) = seen_in(events, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage picks up a rusty knife."
    assert scene.armitage in seen.exclude
    assert seen.type == "msg"


def test_take_is_an_alias_of_get(scene: Scene) -> None:
    scene.do("take key")
    assert scene.where(scene.the("brass_key")) == (scene.armitage, "")


def test_getting_all_picks_up_everything_portable_and_leaves_fixtures(scene: Scene) -> None:
    scene.spawn("statue", scene.room("hall"))

    events = scene.do("get all")

    assert scene.held(scene.armitage) == {"rusty_knife": 1, "brass_key": 1, "backpack": 1}
    assert scene.held(scene.room("hall")) == {"statue": 1}
    assert said(events, scene.armitage) == (
        "You pick up a rusty knife, a brass key and a canvas backpack."
    )


def test_getting_all_of_a_kind_takes_only_those(scene: Scene) -> None:
    scene.spawn("silver_knife", scene.room("hall"))

    scene.do("get all.knife")

    assert scene.held(scene.armitage) == {"rusty_knife": 1, "silver_knife": 1}


def test_getting_all_where_only_fixtures_stand_fails_and_changes_nothing(scene: Scene) -> None:
    scene.put_in(scene.armitage, "cellar")
    assert "nothing here that you can carry" in assert_refused(scene, "get all", "no_such_item")


def test_getting_a_non_portable_item_fails_and_changes_nothing(scene: Scene) -> None:
    scene.put_in(scene.armitage, "cellar")
    text = assert_refused(scene, "get statue", "not_portable")
    assert text == "You cannot pick up the heavy statue: it will not budge."


def test_getting_the_chest_fails_because_it_is_not_portable(scene: Scene) -> None:
    scene.put_in(scene.armitage, "ward")
    assert_refused(scene, "get chest", "not_portable")


def test_getting_something_that_is_not_here_fails_and_changes_nothing(scene: Scene) -> None:
    assert assert_refused(scene, "get lantern", "no_such_item") == "There is no 'lantern' here."


def test_getting_what_someone_else_carries_fails(scene: Scene) -> None:
    scene.do("get knife", scene.dyer)
    assert_refused(scene, "get knife", "no_such_item")


def test_getting_the_second_knife_takes_the_second_that_arrived(scene: Scene) -> None:
    silver = scene.spawn("silver_knife", scene.room("hall"))

    scene.do("get 2.knife")

    assert scene.where(silver) == (scene.armitage, "")
    assert scene.where(scene.the("rusty_knife")) == (scene.room("hall"), "")


def test_an_ordinal_beyond_the_matches_fails_and_changes_nothing(scene: Scene) -> None:
    text = assert_refused(scene, "get 2.knife", "no_such_item")
    assert text == "There is only 1 'knife' here."


def test_a_nonsense_count_fails_with_a_hint(scene: Scene) -> None:
    assert "at least 1" in assert_refused(scene, "get 0 coins", "bad_target")


def test_getting_part_of_a_stack_splits_it(scene: Scene) -> None:
    floor = scene.spawn("coin", scene.room("hall"), 5)

    events = scene.do("get 3 coins")

    assert scene.held(scene.armitage) == {"coin": 3}
    assert scene.held(scene.room("hall"))["coin"] == 2
    assert scene.world.get(floor, Item).quantity == 2
    assert len(scene.loose_coins()) == 2  # the picked part is a new item
    assert said(events, scene.armitage) == "You pick up 3 silver coins."


def test_getting_coins_joins_the_stack_already_carried(scene: Scene) -> None:
    carried = scene.spawn("coin", scene.armitage, 2)
    floor = scene.spawn("coin", scene.room("hall"), 5)

    scene.do("get coins")

    assert scene.world.get(carried, Item).quantity == 7
    assert not scene.world.exists(floor)
    assert scene.loose_coins() == [carried]


def test_getting_more_than_there_are_fails_and_changes_nothing(scene: Scene) -> None:
    scene.spawn("coin", scene.room("hall"), 5)
    text = assert_refused(scene, "get 9 coins", "not_enough")
    assert text == "There are only 5 of 'coins' here."


def test_a_count_of_unstackable_items_takes_that_many(scene: Scene) -> None:
    scene.spawn("silver_knife", scene.room("hall"))

    scene.do("get 2 knife")

    assert scene.held(scene.armitage) == {"rusty_knife": 1, "silver_knife": 1}


# --------------------------------------------------------------------------------------------------
# capacity


def test_a_full_inventory_refuses_another_item_and_changes_nothing(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.do("get key")
    text = assert_refused(scene, "get knife", "inventory_full")
    assert "room for 0 more things" in text


def test_getting_all_that_does_not_fit_takes_nothing(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 2
    assert_refused(scene, "get all", "inventory_full")


def test_a_full_inventory_still_takes_coins_that_join_a_carried_stack(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.spawn("coin", scene.armitage, 1)
    scene.spawn("coin", scene.room("hall"), 4)

    scene.do("get coins")

    assert scene.held(scene.armitage) == {"coin": 5}


def test_a_stack_takes_one_inventory_slot(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 2
    scene.spawn("coin", scene.room("hall"), 30)

    scene.do("get coins")
    scene.do("get knife")

    assert scene.held(scene.armitage) == {"coin": 30, "rusty_knife": 1}


def test_worn_items_do_not_count_against_capacity(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.do("get backpack")
    scene.do("wear backpack")

    scene.do("get knife")

    assert scene.held(scene.armitage) == {"rusty_knife": 1}
    assert scene.held(scene.armitage, "back") == {"backpack": 1}


# --------------------------------------------------------------------------------------------------
# drop


def test_dropping_an_item_puts_it_on_the_floor_and_the_room_sees_it(scene: Scene) -> None:
    scene.do("get knife")

    events = scene.do("drop knife")

    assert scene.where(scene.the("rusty_knife")) == (scene.room("hall"), "")
    assert said(events, scene.armitage) == "You drop a rusty knife."
    (seen,) = seen_in(events, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage drops a rusty knife."


def test_a_dropped_coin_joins_the_coins_on_the_floor(scene: Scene) -> None:
    carried = scene.spawn("coin", scene.armitage, 3)
    floor = scene.spawn("coin", scene.room("hall"), 5)

    scene.do("drop 1 coin")

    assert scene.world.get(carried, Item).quantity == 2
    assert scene.world.get(floor, Item).quantity == 6
    assert len(scene.loose_coins()) == 2


def test_dropping_a_whole_stack_onto_a_stack_merges_them_into_one(scene: Scene) -> None:
    carried = scene.spawn("coin", scene.armitage, 3)
    floor = scene.spawn("coin", scene.room("hall"), 5)

    scene.do("drop coins")

    assert not scene.world.exists(carried)
    assert scene.world.get(floor, Item).quantity == 8


def test_dropping_part_of_a_stack_leaves_the_rest_carried(scene: Scene) -> None:
    scene.spawn("coin", scene.armitage, 5)

    events = scene.do("drop 2 coins")

    assert scene.held(scene.armitage) == {"coin": 3}
    assert scene.held(scene.room("hall"))["coin"] == 2
    assert said(events, scene.armitage) == "You drop 2 silver coins."


def test_dropping_all_empties_the_inventory_but_not_what_is_worn(scene: Scene) -> None:
    scene.do("get all")
    scene.do("wield knife")

    scene.do("drop all")

    assert scene.held(scene.armitage) == {}
    assert scene.held(scene.armitage, "main_hand") == {"rusty_knife": 1}


def test_dropping_a_worn_item_says_to_remove_it_first(scene: Scene) -> None:
    scene.do("get knife")
    scene.do("wield knife")
    text = assert_refused(scene, "drop knife", "worn")
    assert text == "You have a rusty knife in your main hand: remove it first."


def test_dropping_what_you_do_not_carry_fails_and_changes_nothing(scene: Scene) -> None:
    text = assert_refused(scene, "drop knife", "no_such_item")
    assert text == "There is no 'knife' in your inventory."


# --------------------------------------------------------------------------------------------------
# containers: the oak chest in the ward (locked with the brass key, holding 5 coins)


@pytest.fixture
def ward(scene: Scene) -> Scene:
    """Armitage in the ward with the brass key; Dyer beside him."""
    scene.do("get key")
    scene.put_in(scene.armitage, "ward")
    scene.put_in(scene.dyer, "ward")
    return scene


def test_getting_from_a_locked_chest_fails_and_changes_nothing(ward: Scene) -> None:
    text = assert_refused(ward, "get coins from chest", "locked")
    assert text == "The oak chest is closed and locked."


def test_getting_from_a_closed_chest_fails_and_changes_nothing(ward: Scene) -> None:
    ward.do("unlock chest")
    assert assert_refused(ward, "get coins from chest", "closed") == "The oak chest is closed."


def test_unlocking_and_opening_the_chest_then_taking_three_coins(ward: Scene) -> None:
    chest = ward.chest()

    unlocked = ward.do("unlock chest")
    opened = ward.do("open chest")
    taken = ward.do("get 3 coins from chest")

    assert said(unlocked, ward.armitage) == "You unlock the oak chest with a brass key."
    assert said(opened, ward.armitage) == "You open the oak chest."
    assert said(taken, ward.armitage) == "You take 3 silver coins from the oak chest."
    (seen,) = seen_in(taken, ward.room("ward"), ward.dyer)
    assert seen.text == "Armitage takes 3 silver coins from the oak chest."
    assert ward.held(ward.armitage)["coin"] == 3
    assert ward.held(chest) == {"coin": 2}
    container = ward.world.get(chest, Container)
    assert (container.closed, container.lock) == (False, LockState.UNLOCKED)


def test_getting_all_from_an_open_chest_empties_it(ward: Scene) -> None:
    ward.do("unlock chest")
    ward.do("open chest")

    ward.do("get all from chest")

    assert ward.held(ward.chest()) == {}
    assert ward.held(ward.armitage)["coin"] == 5


def test_getting_from_an_empty_container_fails(ward: Scene) -> None:
    ward.do("unlock chest")
    ward.do("open chest")
    ward.do("get all from chest")
    assert_refused(ward, "get all from chest", "no_such_item")


def test_unlocking_without_the_key_fails_and_changes_nothing(ward: Scene) -> None:
    ward.do("drop key")
    text = assert_refused(ward, "unlock chest", "no_key")
    assert text == "You have no key that fits the oak chest."


def test_a_key_inside_a_worn_backpack_does_not_turn_a_lock(ward: Scene) -> None:
    ward.spawn("backpack", ward.armitage, slot="back")
    ward.do("put key in backpack")
    assert_refused(ward, "unlock chest", "no_key")


def test_opening_a_locked_chest_fails_and_changes_nothing(ward: Scene) -> None:
    assert assert_refused(ward, "open chest", "locked") == "The oak chest is locked."


def test_a_sealed_container_cannot_be_unlocked_by_any_key(ward: Scene) -> None:
    ward.world.get(ward.chest(), Container).lock = LockState.SEALED
    text = assert_refused(ward, "unlock chest", "sealed")
    assert text == "The oak chest is sealed: no key will open it."


def test_locking_an_open_chest_fails_and_changes_nothing(ward: Scene) -> None:
    ward.do("unlock chest")
    ward.do("open chest")
    assert_refused(ward, "lock chest", "not_closed")


def test_closing_and_locking_the_chest_again(ward: Scene) -> None:
    ward.do("unlock chest")
    ward.do("open chest")

    closed = ward.do("close chest")
    locked = ward.do("lock chest")

    assert said(closed, ward.armitage) == "You close the oak chest."
    assert said(locked, ward.armitage) == "You lock the oak chest with a brass key."
    (seen,) = seen_in(locked, ward.room("ward"), ward.dyer)
    assert seen.text == "Armitage locks the oak chest."
    container = ward.world.get(ward.chest(), Container)
    assert (container.closed, container.lock) == (True, LockState.LOCKED)


def test_repeating_open_close_lock_unlock_fails_and_changes_nothing(ward: Scene) -> None:
    assert_refused(ward, "lock chest", "already_locked")
    ward.do("unlock chest")
    assert_refused(ward, "unlock chest", "not_locked")
    assert_refused(ward, "close chest", "already_closed")
    ward.do("open chest")
    assert_refused(ward, "open chest", "already_open")


def test_a_container_without_a_lock_cannot_be_locked(scene: Scene) -> None:
    scene.do("get backpack")
    scene.do("close backpack")
    assert assert_refused(scene, "lock backpack", "no_lock") == "The canvas backpack has no lock."


def test_opening_something_that_is_not_a_container_fails(scene: Scene) -> None:
    assert_refused(scene, "open knife", "not_a_container")


def test_getting_from_something_that_is_not_a_container_fails(scene: Scene) -> None:
    text = assert_refused(scene, "get key from knife", "not_a_container")
    assert text == "The rusty knife cannot hold anything."


def test_getting_from_a_container_that_is_not_here_fails(scene: Scene) -> None:
    assert_refused(scene, "get coins from chest", "no_such_item")


# --------------------------------------------------------------------------------------------------
# put, and the backpack as a container


def test_putting_an_item_in_a_worn_backpack_and_getting_it_back(scene: Scene) -> None:
    scene.do("get backpack")
    scene.do("wear backpack")
    scene.do("get key")
    backpack = scene.the("backpack")

    put = scene.do("put key in backpack")

    assert scene.where(scene.the("brass_key")) == (backpack, "")
    assert said(put, scene.armitage) == "You put a brass key in the canvas backpack."
    (seen,) = seen_in(put, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage puts a brass key in the canvas backpack."

    got = scene.do("get key from backpack")

    assert scene.where(scene.the("brass_key")) == (scene.armitage, "")
    assert said(got, scene.armitage) == "You take a brass key from the canvas backpack."


def test_things_in_a_backpack_do_not_count_against_capacity(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.do("get backpack")
    scene.do("wear backpack")
    scene.do("get key")
    scene.do("put key in backpack")

    scene.do("get knife")

    assert scene.held(scene.armitage) == {"rusty_knife": 1}


def test_getting_from_a_backpack_into_a_full_inventory_fails(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.do("get backpack")
    scene.do("wear backpack")
    scene.do("get key")
    scene.do("put key in backpack")
    scene.do("get knife")
    assert_refused(scene, "get key from backpack", "inventory_full")


def test_putting_into_a_full_container_fails_and_changes_nothing(scene: Scene) -> None:
    backpack = scene.spawn("backpack", scene.armitage, slot="back")
    scene.world.get(backpack, Container).capacity = 1
    scene.do("get key")
    scene.do("get knife")
    scene.do("put key in backpack")
    text = assert_refused(scene, "put knife in backpack", "container_full")
    assert text == "The canvas backpack has room for only 0 more things (it holds 1 of 1)."


def test_a_full_container_still_takes_coins_that_join_its_stack(scene: Scene) -> None:
    backpack = scene.spawn("backpack", scene.armitage, slot="back")
    scene.world.get(backpack, Container).capacity = 1
    scene.spawn("coin", backpack, 2)
    scene.spawn("coin", scene.armitage, 3)

    scene.do("put coins in backpack")

    assert scene.held(backpack) == {"coin": 5}
    assert len(scene.loose_coins()) == 1


def test_putting_part_of_a_stack_into_the_chest_joins_the_coins_there(ward: Scene) -> None:
    ward.spawn("coin", ward.armitage, 4)
    ward.do("unlock chest")
    ward.do("open chest")

    ward.do("put 3 coins in chest")

    assert ward.held(ward.chest()) == {"coin": 8}
    assert ward.held(ward.armitage)["coin"] == 1


def test_putting_into_a_locked_chest_fails_and_changes_nothing(ward: Scene) -> None:
    assert_refused(ward, "put key in chest", "locked")


def test_putting_a_container_into_itself_fails_and_changes_nothing(scene: Scene) -> None:
    scene.do("get backpack")
    text = assert_refused(scene, "put backpack in backpack", "container_loop")
    assert text == "You cannot put the canvas backpack inside itself."


def test_putting_all_in_a_carried_backpack_leaves_the_backpack_out(scene: Scene) -> None:
    scene.do("get all")

    scene.do("put all in backpack")

    backpack = scene.the("backpack")
    assert scene.held(backpack) == {"rusty_knife": 1, "brass_key": 1}
    assert scene.held(scene.armitage) == {"backpack": 1}


def test_a_container_never_goes_into_something_it_contains() -> None:
    # Through commands this cannot arise (a container inside another is out of reach), so the rule
    # is checked directly: the bag's holders, innermost first, include the pouch being put in.
    with pytest.raises(Refused) as refused:
        rules.check_nesting(7, "a leather pouch", 9, "a small box", container_holders=[7, 3])
    assert refused.value.code == "container_loop"
    rules.check_nesting(7, "a leather pouch", 9, "a small box", [3])  # allowed: nothing raised


def test_putting_something_you_do_not_carry_fails(scene: Scene) -> None:
    scene.do("get backpack")
    assert_refused(scene, "put knife in backpack", "no_such_item")


def test_putting_into_something_that_is_not_a_container_fails(scene: Scene) -> None:
    scene.do("get key")
    scene.do("get knife")
    assert_refused(scene, "put key in knife", "not_a_container")


def test_putting_into_a_closed_backpack_fails(scene: Scene) -> None:
    scene.do("get backpack")
    scene.do("get key")
    scene.do("close backpack")
    assert_refused(scene, "put key in backpack", "closed")


def test_put_needs_the_word_in(scene: Scene) -> None:
    events = scene.do("put key backpack")
    (error,) = to(events, scene.armitage)
    assert error.data["code"] == "bad_args"


# --------------------------------------------------------------------------------------------------
# doors: the oak door between hall (north) and gate (south), locked with the brass key


def test_unlocking_and_opening_the_door_changes_both_sides_and_tells_the_far_room(
    scene: Scene,
) -> None:
    scene.do("get key")
    gate_watcher = create_character(scene.world, "Wilmarth", room="gate")

    unlocked = scene.do("unlock door")
    opened = scene.do("open north")

    assert (scene.door().closed, scene.door().locked) == (False, False)
    assert said(unlocked, scene.armitage) == "You unlock the oak door with a brass key."
    assert said(opened, scene.armitage) == "You open the oak door."
    (seen,) = seen_in(opened, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage opens the oak door."
    (heard,) = seen_in(opened, scene.room("gate"), gate_watcher)
    assert heard.text == "The oak door opens."
    assert heard.data["direction"] == "s"
    (heard_unlock,) = seen_in(unlocked, scene.room("gate"), gate_watcher)
    assert heard_unlock.data["action"] == "unlock"


def test_a_door_opened_on_one_side_is_open_from_the_other(scene: Scene) -> None:
    scene.do("get key")
    scene.do("unlock n")
    scene.do("open n")
    scene.put_in(scene.armitage, "gate")

    assert_refused(scene, "open door", "already_open")
    closed = scene.do("close s")

    assert scene.door().closed
    (heard,) = seen_in(closed, scene.room("hall"), scene.dyer)
    assert heard.text == "The oak door closes."


def test_locking_the_door_from_the_far_side(scene: Scene) -> None:
    scene.do("get key")
    scene.do("unlock door")
    scene.put_in(scene.armitage, "gate")

    scene.do("lock oak door")

    assert scene.door().locked


def test_opening_a_locked_door_fails_and_changes_nothing(scene: Scene) -> None:
    assert assert_refused(scene, "open door", "locked") == "The oak door is locked."


def test_unlocking_a_door_without_the_key_fails_and_changes_nothing(scene: Scene) -> None:
    assert_refused(scene, "unlock north", "no_key")


def test_locking_an_open_door_fails_and_changes_nothing(scene: Scene) -> None:
    scene.do("get key")
    scene.do("unlock door")
    scene.do("open door")
    assert_refused(scene, "lock door", "not_closed")


def test_a_direction_without_a_door_fails(scene: Scene) -> None:
    assert assert_refused(scene, "open west", "no_door") == "There is no door leading west."


def test_a_door_in_another_room_is_out_of_reach(scene: Scene) -> None:
    scene.put_in(scene.armitage, "ward")
    assert_refused(scene, "open door", "no_such_item")


# --------------------------------------------------------------------------------------------------
# equip / unequip


def test_wielding_a_knife_puts_it_in_the_main_hand(scene: Scene) -> None:
    scene.do("get knife")

    events = scene.do("wield knife")

    assert scene.where(scene.the("rusty_knife")) == (scene.armitage, "main_hand")
    assert said(events, scene.armitage) == "You wield a rusty knife."
    (seen,) = seen_in(events, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage wields a rusty knife."


def test_wearing_a_backpack_puts_it_on_the_back(scene: Scene) -> None:
    scene.do("get backpack")

    events = scene.do("wear backpack")

    assert scene.where(scene.the("backpack")) == (scene.armitage, "back")
    assert said(events, scene.armitage) == "You wear a canvas backpack on your back."


def test_equip_is_the_verb_and_wear_and_wield_are_aliases(scene: Scene) -> None:
    spec = scene.engine.commands.resolve("wield")
    assert spec is not None and spec.verb == "equip"
    assert set(spec.aliases) == {"wear", "wield"}
    scene.spawn("lantern", scene.armitage)
    scene.do("equip lantern")
    assert scene.held(scene.armitage, "off_hand") == {"lantern": 1}


def test_equipping_an_item_without_a_slot_fails_and_changes_nothing(scene: Scene) -> None:
    scene.do("get key")
    text = assert_refused(scene, "wear key", "wrong_slot")
    assert text == "You cannot wear or wield the brass key."


def test_equipping_into_a_taken_slot_says_what_is_there(scene: Scene) -> None:
    scene.spawn("silver_knife", scene.armitage)
    scene.do("get rusty")
    scene.do("wield rusty")
    text = assert_refused(scene, "wield silver", "slot_taken")
    assert text == "You already have a rusty knife in your main hand: remove it first."


def test_equipping_what_is_already_worn_fails(scene: Scene) -> None:
    scene.do("get knife")
    scene.do("wield knife")
    assert_refused(scene, "wield knife", "already_equipped")


def test_equipping_what_you_do_not_carry_fails(scene: Scene) -> None:
    assert_refused(scene, "wield knife", "no_such_item")


def test_equipping_one_of_a_stack_wears_one_and_keeps_the_rest(scene: Scene) -> None:
    scene.directory.items["ring"] = ItemTemplate(
        "ring", "a copper ring", ("ring", "copper"), "Green.", ItemKind.JUNK, True, slot="ring"
    )
    scene.spawn("ring", scene.armitage, 3)

    scene.do("wear ring")

    assert scene.held(scene.armitage) == {"ring": 2}
    assert scene.held(scene.armitage, "ring") == {"ring": 1}


def test_removing_by_name_carries_the_item_again(scene: Scene) -> None:
    scene.do("get knife")
    scene.do("wield knife")

    events = scene.do("remove knife")

    assert scene.where(scene.the("rusty_knife")) == (scene.armitage, "")
    assert said(events, scene.armitage) == "You remove a rusty knife."
    (seen,) = seen_in(events, scene.room("hall"), scene.dyer)
    assert seen.text == "Armitage removes a rusty knife."


def test_removing_by_slot_name(scene: Scene) -> None:
    scene.do("get knife")
    scene.do("wield knife")
    scene.do("unequip main hand")
    assert scene.where(scene.the("rusty_knife")) == (scene.armitage, "")


def test_removing_all_when_wearing_nothing_fails(scene: Scene) -> None:
    assert assert_refused(scene, "remove all", "no_such_item") == "There is nothing on you."


def test_removing_from_an_empty_slot_fails(scene: Scene) -> None:
    text = assert_refused(scene, "remove head", "slot_empty")
    assert text == "You have nothing on your head."


def test_removing_into_a_full_inventory_fails_and_changes_nothing(scene: Scene) -> None:
    scene.world.get(scene.armitage, Inventory).capacity = 1
    scene.do("get knife")
    scene.do("wield knife")
    scene.do("get key")
    assert_refused(scene, "remove knife", "inventory_full")


def test_a_worn_backpack_keeps_its_contents_when_removed_and_dropped(scene: Scene) -> None:
    scene.do("get all")
    scene.do("wear backpack")
    scene.do("put key in backpack")
    backpack = scene.the("backpack")

    scene.do("remove backpack")
    scene.do("drop backpack")

    assert scene.where(backpack) == (scene.room("hall"), "")
    assert scene.where(scene.the("brass_key")) == (backpack, "")


# --------------------------------------------------------------------------------------------------
# The command table


@pytest.mark.parametrize(
    ("word", "verb"),
    [
        ("i", "inventory"),
        ("inv", "inventory"),
        ("take", "get"),
        ("wear", "equip"),
        ("wield", "equip"),
        ("remove", "unequip"),
        ("open", "open"),
        ("close", "close"),
        ("lock", "lock"),
        ("unlock", "unlock"),
        ("drop", "drop"),
        ("put", "put"),
    ],
)
def test_every_item_command_is_registered_with_help(scene: Scene, word: str, verb: str) -> None:
    spec = scene.engine.commands.resolve(word)
    assert spec is not None
    assert spec.verb == verb
    assert spec.help
    assert spec.category == "items"


# --------------------------------------------------------------------------------------------------
# The pure rules


def test_choose_takes_units_across_stacks_in_order() -> None:
    portions = rules.choose([(1, 2), (2, 5)], parse_target("4 coins"), "here")
    assert portions == [Portion(1, 2), Portion(2, 2)]


def test_choose_all_takes_every_match_whole() -> None:
    assert rules.choose([(1, 2), (2, 5)], parse_target("all"), "here") == [
        Portion(1, 2),
        Portion(2, 5),
    ]


def test_slots_needed_counts_a_stack_once_and_a_joined_stack_not_at_all() -> None:
    assert rules.slots_needed(["coin", "coin", None, None], set()) == 3
    assert rules.slots_needed(["coin"], {"coin"}) == 0


def test_latch_rules_never_unlock_a_sealed_thing() -> None:
    sealed = Latch("a black box", closed=True, lock=LockState.SEALED, key_template="")
    with pytest.raises(Refused):
        latches.unlock_latch(sealed, frozenset({"any"}))
    with pytest.raises(Refused):
        latches.open_latch(sealed)
    with pytest.raises(Refused) as refused:
        latches.lock_latch(sealed, frozenset())
    assert (refused.value.code, refused.value.text, refused.value.data) == (
        "already_locked",
        "The black box is already locked.",
        {},
    )
