"""The shared words and look-ups: every command names things, lists them and judges a way out
through these, so their wording is pinned here once."""

from __future__ import annotations

import pytest

from components.content import Directory, ItemKind, ItemTemplate
from components.place import Door, Exit, Room
from engine.commands import Refused
from engine.world import World
from systems.characters import create_character
from systems.common import (
    DIRECTION_VERBS,
    WayWords,
    capitalised,
    direction_name,
    display_name,
    item_data,
    items_in,
    listed,
    plural_of,
    quantity_name,
    room_that_way,
    strip_article,
    tell_action,
    the,
    worn_items,
)
from systems.stacks import item_components
from systems.whereabouts import holders_of, move, room_of
from tests.systems.world_fixture import make_engine

WORDS = WayWords("You cannot go {way}.", "That way leads nowhere.")


@pytest.fixture
def world() -> World:
    return make_engine().world


def room(world: World, key: str) -> int:
    return world.resource(Directory).rooms[key]


def spawn(world: World, template: str, holder: int, quantity: int = 1, slot: str = "") -> int:
    made = item_components(world.resource(Directory).items[template], quantity)
    entity = world.spawn(*made, persistent=True)
    move(world, entity, holder, slot)
    return entity


# --------------------------------------------------------------------------------------------------
# Words


def test_a_name_starts_a_sentence_with_a_capital_and_keeps_the_rest() -> None:
    assert capitalised("the oak door") == "The oak door"
    assert capitalised("eBay") == "EBay"
    assert capitalised("") == ""


def test_the_definite_name_replaces_any_article() -> None:
    assert the("an oak door") == "the oak door"
    assert the("a rusty knife") == "the rusty knife"
    assert the("some bread") == "the bread"
    assert the("the gate") == "the gate"
    assert the("Armitage") == "the Armitage"
    assert strip_article("An oak door") == "oak door"


def test_names_are_listed_as_a_sentence_lists_them() -> None:
    assert listed([]) == ""
    assert listed(["a knife"]) == "a knife"
    assert listed(["a knife", "a key"]) == "a knife and a key"
    assert listed(n for n in ("a knife", "a key", "3 coins")) == "a knife, a key and 3 coins"


def test_plurals_follow_plain_english_rules() -> None:
    assert plural_of("rusty knife") == "rusty knives"
    assert plural_of("berry") == "berries"
    assert plural_of("key") == "keys"
    assert plural_of("box") == "boxes"
    assert plural_of("torch") == "torches"
    assert plural_of("silver coin") == "silver coins"


def test_a_quantity_is_named_with_the_templates_plural_if_it_has_one() -> None:
    coin = ItemTemplate("coin", "a silver coin", ("coin",), "", ItemKind.CURRENCY)
    assert quantity_name(coin, 1) == "a silver coin"
    assert quantity_name(coin, 3) == "3 silver coins"
    teeth = ItemTemplate("tooth", "a tooth", ("tooth",), "", ItemKind.JUNK, plural="teeth")
    assert quantity_name(teeth, 2) == "2 teeth"


def test_directions_are_named_in_full_and_an_unusual_one_as_it_is() -> None:
    assert direction_name("n") == "north"
    assert direction_name("up") == "up"
    assert direction_name("widdershins") == "widdershins"


def test_direction_verbs_come_from_the_places_direction_words() -> None:
    assert DIRECTION_VERBS == (
        ("north", ("n",), "n"),
        ("northeast", ("ne",), "ne"),
        ("east", ("e",), "e"),
        ("southeast", ("se",), "se"),
        ("south", ("s",), "s"),
        ("southwest", ("sw",), "sw"),
        ("west", ("w",), "w"),
        ("northwest", ("nw",), "nw"),
        ("up", ("u",), "up"),
        ("down", ("d",), "down"),
    )


# --------------------------------------------------------------------------------------------------
# Look-ups


def test_things_are_named_with_their_quantity(world: World) -> None:
    body = create_character(world, "Armitage")
    coins = spawn(world, "coin", body, 5)
    assert display_name(world, coins) == "5 silver coins"
    assert display_name(world, body) == "Armitage"
    assert display_name(world, room(world, "ward")) == "The Ward"


def test_worn_items_come_in_character_sheet_order_and_carried_ones_in_arrival_order(
    world: World,
) -> None:
    body = create_character(world, "Armitage")
    backpack = spawn(world, "backpack", body, slot="back")
    knife = spawn(world, "rusty_knife", body, slot="main_hand")
    key = spawn(world, "brass_key", body)
    coins = spawn(world, "coin", body, 2)
    assert worn_items(world, body) == [backpack, knife]  # back comes before main hand
    assert items_in(world, body) == [key, coins]
    assert items_in(world, body, "back") == [backpack]


def test_item_data_for_clients_has_a_fixed_shape(world: World) -> None:
    body = create_character(world, "Armitage")
    coins = spawn(world, "coin", body, 3)
    sid = world.stable_id(coins)
    assert list(item_data(world, coins).items()) == [
        ("id", sid),
        ("name", "3 silver coins"),
        ("quantity", 3),
    ]
    assert list(item_data(world, coins, template=True).items()) == [
        ("id", sid),
        ("template", "coin"),
        ("name", "3 silver coins"),
        ("quantity", 3),
    ]


def test_the_holder_chain_runs_from_a_thing_up_to_its_room(world: World) -> None:
    body = create_character(world, "Armitage")
    backpack = spawn(world, "backpack", body, slot="back")
    key = spawn(world, "brass_key", backpack)
    assert holders_of(world, key) == [backpack, body, room(world, "ward")]
    assert room_of(world, key) == room(world, "ward")


# --------------------------------------------------------------------------------------------------
# The way out of a room


def refusal(world: World, key: str, direction: str, words: WayWords = WORDS) -> Refused:
    with pytest.raises(Refused) as refused:
        room_that_way(world, room(world, key), direction, words)
    return refused.value


def test_an_open_way_leads_to_its_room(world: World) -> None:
    assert room_that_way(world, room(world, "ward"), "e", WORDS) == room(world, "hall")


def test_no_exit_that_way_is_refused_in_the_commands_words(world: World) -> None:
    refused = refusal(world, "ward", "n")
    assert (refused.code, refused.text, refused.data) == (
        "no_exit",
        "You cannot go north.",
        {"direction": "n"},
    )
    peeking = WayWords("You see no exit {way}.", "The way {way} leads nowhere.")
    assert refusal(world, "ward", "up", peeking).text == "You see no exit up."


def test_a_closed_door_bars_the_way_and_may_be_named_in_the_data(world: World) -> None:
    refused = refusal(world, "hall", "n")
    assert (refused.code, refused.text, refused.data) == (
        "door_closed",
        "The oak door is closed.",
        {"direction": "n"},
    )
    naming = WayWords("", "", name_door=True)
    assert list(refusal(world, "hall", "n", naming).data.items()) == [
        ("direction", "n"),
        ("door", "an oak door"),
    ]
    door = world.resource(Directory).doors["oak_door"]
    world.get(door, Door).closed = False
    assert room_that_way(world, room(world, "hall"), "n", WORDS) == room(world, "gate")


def test_an_exit_to_no_room_leads_nowhere(world: World) -> None:
    world.get(room(world, "alley"), Room).exits["w"] = Exit("w", "no.such.room")
    refused = refusal(world, "alley", "w")
    assert (refused.code, refused.text, refused.data) == (
        "no_exit",
        "That way leads nowhere.",
        {"direction": "w"},
    )


# --------------------------------------------------------------------------------------------------
# Telling


def test_an_action_is_told_to_its_actor_and_to_the_rest_of_the_room_with_one_payload(
    world: World,
) -> None:
    actor = create_character(world, "Armitage")
    ward = room(world, "ward")
    tell_action(world, actor, ward, "wave", "You wave.", "Armitage waves.", {"at": None})
    mine, theirs = world.drain_events()
    payload = {"action": "wave", "actor": world.stable_id(actor), "at": None}
    assert (mine.type, mine.scope.target, mine.text, dict(mine.data)) == (
        "msg",
        actor,
        "You wave.",
        payload,
    )
    assert (theirs.scope.target, theirs.text, dict(theirs.data)) == (
        ward,
        "Armitage waves.",
        payload,
    )
    assert theirs.exclude == frozenset({actor})
