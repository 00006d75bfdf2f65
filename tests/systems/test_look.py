"""Looking: the room as data and text, people and things, containers, peeking, and darkness.

Every test drives the engine through its command inbox, one tick per line, in the fixture world
(tests/systems/world_fixture.py): Armitage and Carter wake in the ward (with the orderly), Wilmarth
stands in the hall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from components.body import Identity, Npc, Posture, PostureState, Vitals
from components.combat import Fighting
from components.content import Directory
from components.items import Container, Item
from components.place import Door, Location, Room, RoomFlag
from engine.config import Config
from engine.core import Engine
from engine.events import Event
from engine.plugins import Plugin, PluginKit
from engine.testing import Stage, heard_by, world_from_toml
from engine.world import World
from systems.characters import create_character
from systems.common import display_name
from systems.look import PITCH_DARK, LookSettings
from systems.npc_spawn import spawn_npc
from systems.whereabouts import contents, move
from tests.systems.walk import play, ready_engine
from tests.systems.world_fixture import make_engine


@dataclass
class Scene:
    engine: Engine
    armitage: int
    carter: int
    wilmarth: int

    def look(self, line: str = "look", who: int | None = None) -> Event:
        """The one event ``who`` (Armitage) receives for ``line``."""
        actor = self.armitage if who is None else who
        events = heard_by(self.engine.world, play(self.engine, actor, line), actor)
        mine = [e for e in events if e.type in {"room", "look", "peek", "error"}]
        assert len(mine) == 1, [(e.type, e.text) for e in events]
        return mine[0]

    def room(self, key: str) -> int:
        return self.engine.world.resource(Directory).rooms[key]

    def sid(self, entity: int) -> int:
        sid = self.engine.world.stable_id(entity)
        assert sid is not None
        return sid

    def spawn_item(self, template: str, holder: int, slot: str = "", quantity: int = 1) -> int:
        return self.engine.world.spawn(
            Item(template, quantity), Location(self.sid(holder), slot), persistent=True
        )

    def go_to(self, who: int, key: str) -> None:
        self.engine.world.add(who, Location(self.sid(self.room(key))))


@pytest.fixture
def scene() -> Scene:
    engine = ready_engine()
    world = engine.world
    return Scene(
        engine,
        create_character(world, "Armitage"),
        create_character(world, "Carter"),
        create_character(world, "Wilmarth", room="hall"),
    )


def orderly(scene: Scene) -> int:
    (npc,) = [e for e, npc in scene.engine.world.query(Npc) if npc.template == "orderly"]
    return npc


# --------------------------------------------------------------------------------------------------
# The room


def test_look_shows_the_room_as_structured_data(scene: Scene) -> None:
    event = scene.look()
    assert event.type == "room"
    data = event.data
    assert (data["id"], data["name"], data["description"]) == (
        "ward",
        "The Ward",
        "Iron beds in rows.",
    )
    assert (data["zone"], data["zone_name"], data["environment"]) == (
        "asylum",
        "Arkham Sanitarium",
        "sanctuary",
    )
    assert data["dark"] is False
    assert data["exits"] == [
        {"direction": "e", "name": "east", "to": "hall", "to_name": "The Hall", "door": None}
    ]
    (chest,) = data["containers"]
    assert chest["name"] == "an oak chest"
    assert (chest["closed"], chest["lock"]) == (True, "locked")
    assert data["items"] == []


def test_the_looker_is_not_among_the_occupants_but_everyone_else_is(scene: Scene) -> None:
    occupants = scene.look().data["occupants"]
    assert {
        "id": scene.sid(scene.carter),
        "name": "Carter",
        "kind": "player",
        "posture": "standing",
        "state": None,
        "keyword": "carter",
        "target": "carter",
    } in occupants
    assert {o["kind"] for o in occupants} == {"player", "npc"}
    assert scene.sid(orderly(scene)) in [o["id"] for o in occupants]
    assert scene.sid(scene.armitage) not in [o["id"] for o in occupants]
    assert scene.sid(scene.wilmarth) not in [o["id"] for o in occupants]


def test_look_text_has_name_description_exits_people_and_things(scene: Scene) -> None:
    text = scene.look().text
    assert text.splitlines()[:3] == ["The Ward", "Iron beds in rows.", "Obvious exits: east."]
    assert "Carter is standing here." in text
    assert "A weary orderly is standing here." in text
    assert "You see an oak chest (closed) here." in text
    assert "Armitage" not in text


def test_l_is_look(scene: Scene) -> None:
    assert scene.look("l").data == scene.look("look").data


def test_items_on_the_floor_are_listed_with_their_quantities(scene: Scene) -> None:
    coins = scene.spawn_item("coin", scene.room("ward"), quantity=5)
    items = scene.look().data["items"]
    assert items == [{"id": scene.sid(coins), "name": "5 silver coins", "quantity": 5}]
    assert "5 silver coins" in scene.look().text


def test_identical_things_are_counted_once_in_the_text(scene: Scene) -> None:
    for _ in range(3):
        scene.spawn_item("rusty_knife", scene.room("ward"))
    event = scene.look()
    assert len(event.data["items"]) == 3
    assert "a rusty knife (x3)" in event.text


def test_a_posture_shows_in_the_room(scene: Scene) -> None:
    scene.engine.world.get(scene.carter, Posture).state = PostureState.SITTING
    event = scene.look()
    assert "Carter is sitting here." in event.text
    (carter,) = [o for o in event.data["occupants"] if o["name"] == "Carter"]
    assert carter["posture"] == "sitting"


def test_a_closed_door_shows_in_the_exits(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    event = scene.look()
    north = event.data["exits"][0]
    assert north["direction"] == "n" and north["to"] == "gate"
    assert north["door"] == {"name": "an oak door", "closed": True, "locked": True}
    assert "Obvious exits: north (oak door, closed), west, down." in event.text


def test_looking_changes_nothing(scene: Scene) -> None:
    scene.engine.tick()
    before = scene.engine.world.dump()
    for line in ("look", "look chest", "look east", "look carter", "look me"):
        play(scene.engine, scene.armitage, line)
    after = scene.engine.world.dump()
    assert before[1:] == after[1:]  # all but the clock


def test_someone_nowhere_sees_nothing(scene: Scene) -> None:
    world = scene.engine.world
    ghost = world.spawn(Identity("a ghost"), persistent=True)
    event = scene.look(who=ghost)
    assert (event.type, event.data["code"]) == ("error", "nowhere")


# --------------------------------------------------------------------------------------------------
# Darkness


def test_a_dark_room_shows_only_pitch_dark_and_its_exits(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.go_to(scene.carter, "cellar")
    event = scene.look()
    assert event.text == f"{PITCH_DARK}\nObvious exits: up."
    data = event.data
    assert data["dark"] is True
    assert (data["occupants"], data["items"], data["containers"]) == ([], [], [])
    assert data["description"] == ""
    assert data["exits"] == [
        {"direction": "up", "name": "up", "to": None, "to_name": None, "door": None}
    ]


def test_a_light_carried_by_the_looker_lights_a_dark_room(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.spawn_item("lantern", scene.armitage)
    event = scene.look()
    assert event.data["dark"] is False
    assert event.text.startswith("The Cellar\nDamp stone.")
    assert "a heavy statue" in event.text


def test_a_light_wielded_by_someone_else_present_lights_a_dark_room(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.go_to(scene.carter, "cellar")
    scene.spawn_item("lantern", scene.carter, slot="off_hand")
    event = scene.look()
    assert event.data["dark"] is False
    assert "Carter is standing here." in event.text


def test_a_light_lying_on_the_floor_lights_a_dark_room(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.spawn_item("lantern", scene.room("cellar"))
    assert scene.look().data["dark"] is False


def test_a_light_packed_in_a_container_does_not_light_a_dark_room(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    pack = scene.engine.world.spawn(
        Item("backpack"), Container(10), Location(scene.sid(scene.armitage)), persistent=True
    )
    scene.spawn_item("lantern", pack)
    assert scene.look().data["dark"] is True


def test_a_light_in_another_room_does_not_light_a_dark_one(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.spawn_item("lantern", scene.wilmarth)  # in the hall, above
    assert scene.look().data["dark"] is True


def test_in_the_dark_things_of_the_room_cannot_be_looked_at(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    event = scene.look("look statue")
    assert (event.type, event.data["code"], event.text) == (
        "error",
        "too_dark",
        "It is too dark to see that.",
    )


def test_in_the_dark_what_one_holds_can_still_be_examined(scene: Scene) -> None:
    scene.go_to(scene.armitage, "cellar")
    scene.spawn_item("rusty_knife", scene.armitage)
    event = scene.look("look knife")
    assert (event.type, event.data["name"]) == ("look", "a rusty knife")


# --------------------------------------------------------------------------------------------------
# People and things


def test_look_at_a_player_shows_description_posture_and_equipment(scene: Scene) -> None:
    knife = scene.spawn_item("rusty_knife", scene.carter, slot="main_hand")
    pack = scene.engine.world.spawn(
        Item("backpack"), Container(10), Location(scene.sid(scene.carter), "back"), persistent=True
    )
    scene.spawn_item("brass_key", scene.carter)  # carried, not worn: not shown
    scene.engine.world.get(scene.carter, Posture).state = PostureState.SITTING
    event = scene.look("look carter")
    assert event.type == "look"
    data = event.data
    assert (data["name"], data["kind"], data["posture"]) == ("Carter", "player", "sitting")
    assert data["description"] == "Carter looks as lost as anyone here."
    assert [(e["slot"], e["id"]) for e in data["equipment"]] == [
        ("back", scene.sid(pack)),
        ("main_hand", scene.sid(knife)),
    ]
    assert event.text.splitlines() == [
        "Carter",
        "Carter looks as lost as anyone here.",
        "Carter is sitting.",
        "Carter wields a rusty knife.",
        "Carter wears a canvas backpack (back).",
    ]


def test_look_at_an_npc_shows_its_description(scene: Scene) -> None:
    event = scene.look("look orderly")
    assert (event.data["name"], event.data["kind"]) == ("a weary orderly", "npc")
    assert event.text.splitlines()[:3] == [
        "A weary orderly",
        "He yawns.",
        "A weary orderly is standing.",
    ]


def test_look_me_describes_the_looker(scene: Scene) -> None:
    event = scene.look("look me")
    assert event.data["id"] == scene.sid(scene.armitage)


def test_look_at_an_item_on_the_floor_shows_its_description(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    event = scene.look("look knife")
    assert (event.type, event.data["kind"], event.data["name"]) == ("look", "item", "a rusty knife")
    assert event.text == "A rusty knife\nPitted and dull."


def test_look_at_a_carried_item(scene: Scene) -> None:
    key = scene.spawn_item("brass_key", scene.armitage)
    event = scene.look("look at key")
    assert event.data["id"] == scene.sid(key)
    assert event.text == "A brass key\nSmall and worn."


def test_an_ordinal_picks_among_things_of_the_same_name(scene: Scene) -> None:
    scene.spawn_item("rusty_knife", scene.armitage)
    silver = scene.spawn_item("silver_knife", scene.armitage)
    assert scene.look("look 2.knife").data["id"] == scene.sid(silver)


def test_look_at_a_closed_container_says_it_is_closed(scene: Scene) -> None:
    event = scene.look("look chest")
    assert event.data["kind"] == "container"
    assert event.data["closed"] is True and event.data["contents"] is None
    assert event.text == "An oak chest\nBanded with iron.\nIt is closed."


def test_look_in_an_open_container_lists_what_it_holds(scene: Scene) -> None:
    world = scene.engine.world
    (chest,) = [e for e in contents(world, scene.room("ward")) if world.has(e, Container)]
    world.get(chest, Container).closed = False
    event = scene.look("look in chest")
    assert [i["name"] for i in event.data["contents"]] == ["5 silver coins"]
    assert event.text.endswith("It holds 5 silver coins.")


def test_an_empty_open_container_says_so(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    assert scene.look("look backpack").text.endswith("It is empty.")


def test_looking_at_what_is_not_here_is_an_error(scene: Scene) -> None:
    event = scene.look("look wilmarth")  # in the hall, not here
    assert (event.type, event.data["code"]) == ("error", "no_such_target")
    assert event.text == "You see no 'wilmarth' here."


def test_look_at_all_is_refused(scene: Scene) -> None:
    event = scene.look("look all")
    assert (event.type, event.data["code"]) == ("error", "bad_target")


# --------------------------------------------------------------------------------------------------
# Peeking


def test_look_in_a_direction_peeks_into_the_next_room(scene: Scene) -> None:
    event = scene.look("look east")
    assert event.type == "peek"
    assert (event.data["direction"], event.data["id"], event.data["name"]) == (
        "e",
        "hall",
        "The Hall",
    )
    assert [o["name"] for o in event.data["occupants"]] == ["Wilmarth"]
    assert event.text == "East: The Hall.\nWilmarth is standing there."


def test_peeking_with_a_short_direction_word(scene: Scene) -> None:
    assert scene.look("l e").data["id"] == "hall"


def test_peeking_into_an_empty_room_says_nobody_is_there(scene: Scene) -> None:
    scene.go_to(scene.armitage, "street")
    event = scene.look("look south")
    assert event.text == "South: The Gate.\nNobody is there."


def test_peeking_through_a_closed_door_shows_only_the_door(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    event = scene.look("look north")
    assert (event.type, event.data["code"], event.text) == (
        "error",
        "door_closed",
        "The oak door is closed.",
    )


def test_peeking_through_an_open_door(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    door = scene.engine.world.resource(Directory).doors["oak_door"]
    scene.engine.world.get(door, Door).closed = False
    assert scene.look("look north").data["id"] == "gate"


def test_peeking_where_there_is_no_exit_is_an_error(scene: Scene) -> None:
    event = scene.look("look west")
    assert (event.type, event.data["code"], event.text) == (
        "error",
        "no_exit",
        "You see no exit west.",
    )


def test_peeking_into_a_dark_room_shows_darkness(scene: Scene) -> None:
    scene.go_to(scene.armitage, "hall")
    scene.go_to(scene.carter, "cellar")
    event = scene.look("look down")
    assert event.data["dark"] is True and event.data["occupants"] == []
    assert event.text == "Below: darkness. You cannot make out anything there."


def test_each_occupant_says_the_words_that_name_it_for_a_click_to_attack_or_consider(
    scene: Scene,
) -> None:
    """Two ghouls, a rat and a player: each occupant's ``target`` names exactly it, in the
    order commands search, so a client may send ``consider <target>`` or ``attack <target>``."""
    world = scene.engine.world
    directory = world.resource(Directory)
    hall = scene.room("hall")
    first = spawn_npc(world, directory.npcs["ghoul"], hall, "")
    second = spawn_npc(world, directory.npcs["ghoul"], hall, "")
    rat = spawn_npc(world, directory.npcs["rat"], hall, "")
    scene.go_to(scene.armitage, "hall")
    occupants = scene.look().data["occupants"]
    by_id = {o["id"]: o for o in occupants}
    assert (by_id[scene.sid(first)]["keyword"], by_id[scene.sid(first)]["target"]) == (
        "ghoul",
        "ghoul",
    )
    assert by_id[scene.sid(second)]["target"] == "2.ghoul"
    assert (by_id[scene.sid(rat)]["kind"], by_id[scene.sid(rat)]["target"]) == ("npc", "rat")
    assert by_id[scene.sid(scene.wilmarth)]["target"] == "wilmarth"
    for occupant in occupants:
        sized_up = [
            e
            for e in play(scene.engine, scene.armitage, f"consider {occupant['target']}")
            if e.type == "consider"
        ]
        assert [e.data["target"] for e in sized_up] == [occupant["id"]]


def test_a_name_that_begins_another_counts_it_as_an_earlier_namesake(scene: Scene) -> None:
    """``crow`` begins ``crowley``, so a Crow standing after a Crowley is ``2.crow``; Crowley is
    ``crowley`` wherever it stands: each target finds exactly its occupant."""
    world = scene.engine.world
    for name in ("Crowley", "Crow", "Crowther", "Crow Two"):
        create_character(world, name.replace(" ", ""), room="hall")
    scene.go_to(scene.armitage, "hall")
    occupants = scene.look().data["occupants"]
    targets = {o["name"]: o["target"] for o in occupants}
    assert targets["Crowley"] == "crowley" and targets["Crow"] == "2.crow"
    assert targets["Crowther"] == "crowther" and targets["CrowTwo"] == "crowtwo"
    for occupant in occupants:
        sized_up = [
            e
            for e in play(scene.engine, scene.armitage, f"consider {occupant['target']}")
            if e.type == "consider"
        ]
        assert [e.data["target"] for e in sized_up] == [occupant["id"]]


def test_an_occupants_state_shows_a_fight_or_a_mortal_wound(scene: Scene) -> None:
    world = scene.engine.world
    directory = world.resource(Directory)
    rat = spawn_npc(world, directory.npcs["rat"], scene.room("hall"), "")
    scene.go_to(scene.armitage, "hall")
    play(scene.engine, scene.wilmarth, "attack rat")
    states = {o["name"]: o["state"] for o in scene.look().data["occupants"]}
    assert states == {"Wilmarth": "fighting", "a fat rat": "fighting"}
    world.get(rat, Vitals).dp = 0
    world.remove(rat, Fighting)
    world.remove(scene.wilmarth, Fighting)
    states = {o["name"]: o["state"] for o in scene.look().data["occupants"]}
    assert states == {"Wilmarth": None, "a fat rat": "mortally_wounded"}


def test_a_crowd_is_named_up_to_occupants_shown_and_the_rest_counted() -> None:
    engine = make_engine(Config(rules={"look": LookSettings(occupants_shown=3)}))
    world = engine.world
    viewer = create_character(world, "Armitage", room="hall")
    for i in range(7):
        create_character(world, f"Crowd{chr(97 + i)}", room="hall")
    engine.submit_line(viewer, "look")
    (room,) = [e for e in engine.tick().events if e.type == "room"]
    assert [o["name"] for o in room.data["occupants"]] == ["Crowda", "Crowdb", "Crowdc"]
    assert room.data["more_occupants"] == 4
    assert "Crowdc is standing here.\n4 others are here." in room.text
    assert "Crowdd" not in room.text
    engine.submit_line(viewer, "look")
    (again,) = [e for e in engine.tick().events if e.type == "room"]
    assert again.data["occupants"][0]["target"] == "crowda"


def test_a_room_with_room_for_everyone_counts_no_others() -> None:
    engine = make_engine()
    world = engine.world
    viewer = create_character(world, "Armitage", room="hall")
    create_character(world, "Carter", room="hall")
    engine.submit_line(viewer, "look")
    (room,) = [e for e in engine.tick().events if e.type == "room"]
    assert room.data["more_occupants"] == 0
    assert "others are here" not in room.text and "other is here" not in room.text


# --------------------------------------------------------------------------------------------------
# Look contributors: plugins add lines


HEATH = """\
[zone]
id = "heath"
name = "The Heath"

[[rooms]]
id = "heath.stones"
name = "The Standing Stones"
description = "Grey stones in a ring."
flags = ["outdoors"]
exits = { down = "heath.barrow" }

[[rooms]]
id = "heath.barrow"
name = "The Barrow"
description = "Earth and bones."
flags = ["dark"]
exits = { up = "heath.stones" }
"""

TRINKETS = """\
[[items]]
id = "idol"
name = "a soapstone idol"
keywords = ["idol"]
description = "Squat and smiling."
"""


def omens(kit: PluginKit) -> None:
    def sky(world: World, viewer: int | None, seen: int) -> list[str]:
        if world.has(seen, Room):
            outdoors = world.get(seen, Room).has_flag(RoomFlag.OUTDOORS)
            return ["A crow circles overhead."] if outdoors else []
        return [f"It seems to watch {display_name(world, viewer) if viewer else 'nobody'}."]

    def more(world: World, viewer: int | None, seen: int) -> list[str]:
        return ["The wind moans."] if world.has(seen, Room) else []

    kit.look_contributor(sky)
    kit.look_contributor(more)


def broken(kit: PluginKit) -> None:
    def fails(world: World, viewer: int | None, seen: int) -> list[str]:
        raise RuntimeError("the stars are wrong")

    kit.look_contributor(fails)


def heath(*setups: Callable[[PluginKit], None]) -> Stage:
    plugins = [Plugin(f"p{i}", setup, requires=("core",)) for i, setup in enumerate(setups)]
    return world_from_toml(zones=[HEATH], items=[TRINKETS], plugins=plugins)


def test_contributors_add_their_lines_after_the_description_in_order() -> None:
    stage = heath(omens)
    walker = stage.player("Walker")
    (event,) = [e for e in stage.type(walker, "look") if e.type == "room"]
    assert event.data["details"] == ["A crow circles overhead.", "The wind moans."]
    assert event.text.splitlines()[:4] == [
        "The Standing Stones",
        "Grey stones in a ring.",
        "A crow circles overhead.",
        "The wind moans.",
    ]


def test_contributors_speak_about_a_thing_and_a_person_to_whoever_looks() -> None:
    stage = heath(omens)
    walker, other = stage.player("Walker"), stage.player("Keeper")
    idol = stage.world.spawn(Item("idol"), persistent=True)
    move(stage.world, idol, walker)
    (thing,) = [e for e in stage.type(walker, "look idol") if e.type == "look"]
    assert thing.data["details"] == ["It seems to watch Walker."]
    assert thing.text.splitlines()[:3] == [
        "A soapstone idol",
        "Squat and smiling.",
        "It seems to watch Walker.",
    ]
    (person,) = [e for e in stage.type(other, "look walker") if e.type == "look"]
    assert person.data["details"] == ["It seems to watch Keeper."]
    assert "It seems to watch Keeper." in person.text.splitlines()


def test_in_the_dark_no_contributor_is_asked() -> None:
    stage = heath(omens)
    walker = stage.player("Walker", room="heath.barrow")
    (event,) = [e for e in stage.type(walker, "look") if e.type == "room"]
    assert event.data["details"] == []
    assert event.text == "It is pitch dark.\nObvious exits: up."


def test_a_failing_contributor_leaves_look_working_and_the_others_speaking() -> None:
    stage = heath(broken, omens)
    walker = stage.player("Walker")
    events = stage.type(walker, "look")
    assert [e.type for e in events if e.scope.target == walker] == ["room"]
    (event,) = [e for e in events if e.type == "room"]
    assert event.data["details"] == ["A crow circles overhead.", "The wind moans."]


def test_without_contributors_the_details_are_empty_and_the_text_unchanged() -> None:
    stage = heath()
    walker = stage.player("Walker")
    (event,) = [e for e in stage.type(walker, "look") if e.type == "room"]
    assert event.data["details"] == []
    assert event.text.splitlines()[:3] == [
        "The Standing Stones",
        "Grey stones in a ring.",
        "Obvious exits: down.",
    ]
