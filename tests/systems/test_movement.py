"""Movement: walking through exits, what the rooms on both sides see, refusals, and ``exits``.

Every test drives the engine through its command inbox, one tick per line. In the fixture world
Armitage and Carter wake in the ward, Wilmarth stands in the hall. The scripted walks at the end
take every exit of the fixture world and of the bundled world in ``data/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from components.body import Posture, PostureState
from components.content import Directory
from components.items import Item
from components.place import Door, Location
from engine.config import Config
from engine.core import Engine
from engine.events import Event
from engine.testing import heard_by
from systems import plugin as core
from systems.aggression import AggressionSettings
from systems.characters import create_character
from systems.content.build import build_world
from systems.encounters import EncounterSettings
from systems.look import room_view
from systems.whereabouts import room_of
from tests.systems.walk import play, ready_engine, room_key, walk_every_exit

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@dataclass
class Scene:
    engine: Engine
    armitage: int
    carter: int
    wilmarth: int

    def play(self, line: str, who: int | None = None) -> list[Event]:
        return play(self.engine, self.armitage if who is None else who, line)

    def heard(self, events: list[Event], who: int) -> list[tuple[str, str]]:
        return [(e.type, e.text) for e in heard_by(self.engine.world, events, who)]

    def where(self, who: int | None = None) -> str | None:
        return room_key(self.engine.world, self.armitage if who is None else who)

    def put(self, who: int, key: str) -> None:
        world = self.engine.world
        room_sid = world.stable_id(world.resource(Directory).rooms[key])
        assert room_sid is not None
        world.add(who, Location(room_sid))

    def sid(self, entity: int) -> int:
        sid = self.engine.world.stable_id(entity)
        assert sid is not None
        return sid

    def door(self) -> Door:
        world = self.engine.world
        return world.get(world.resource(Directory).doors["oak_door"], Door)


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


def errors(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.data["code"], e.text) for e in events if e.type == "error"]


# --------------------------------------------------------------------------------------------------
# Moving


def test_moving_takes_the_mover_through_the_exit_and_shows_it_the_new_room(scene: Scene) -> None:
    events = scene.play("east")
    assert scene.where() == "hall"
    (shown,) = [e for e in heard_by(scene.engine.world, events, scene.armitage) if e.type == "room"]
    world = scene.engine.world
    hall = world.resource(Directory).rooms["hall"]
    assert shown.data == room_view(world, hall, scene.armitage)
    assert shown.text.startswith("The Hall\nA long hall.")


def test_the_room_event_of_a_move_is_the_same_as_look(scene: Scene) -> None:
    moved = [e for e in scene.play("east") if e.type == "room"]
    looked = [e for e in scene.play("look") if e.type == "room"]
    assert [(e.text, e.data) for e in moved] == [(e.text, e.data) for e in looked]


def test_the_old_room_sees_the_mover_leave_and_the_new_room_sees_it_arrive(scene: Scene) -> None:
    events = scene.play("east")
    assert scene.heard(events, scene.carter) == [("leave", "Armitage leaves east.")]
    assert scene.heard(events, scene.wilmarth) == [("arrive", "Armitage arrives from the west.")]
    assert [t for t, _ in scene.heard(events, scene.armitage)] == ["room"]
    (leave,) = [e for e in events if e.type == "leave"]
    sid = scene.engine.world.stable_id(scene.armitage)
    assert dict(leave.data) == {"who": "Armitage", "id": sid, "direction": "e"}
    (arrive,) = [e for e in events if e.type == "arrive"]
    assert dict(arrive.data) == {"who": "Armitage", "id": sid, "from": "w"}


@pytest.mark.parametrize("line", ["east", "e", "E", "go east", "go e", "GO East", "ea"])
def test_every_way_of_saying_a_direction_moves(scene: Scene, line: str) -> None:
    scene.play(line)
    assert scene.where() == "hall"


@pytest.mark.parametrize(
    ("line", "start", "end"),
    [
        ("north", "gate", "street"),
        ("n", "gate", "street"),
        ("south", "street", "gate"),
        ("s", "street", "gate"),
        ("west", "hall", "ward"),
        ("w", "hall", "ward"),
        ("down", "hall", "cellar"),
        ("d", "hall", "cellar"),
        ("up", "cellar", "hall"),
        ("u", "cellar", "hall"),
        ("go up", "cellar", "hall"),
    ],
)
def test_each_direction_verb_and_its_alias_walk_that_way(
    scene: Scene, line: str, start: str, end: str
) -> None:
    scene.put(scene.armitage, start)
    scene.play(line)
    assert scene.where() == end


def test_going_up_and_down_reads_upwards_and_from_below(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    scene.put(scene.carter, "cellar")
    scene.put(scene.wilmarth, "hall")
    # Carter carries a light, so that the cellar sees who comes and goes.
    scene.engine.world.spawn(Item("lantern"), Location(scene.sid(scene.carter)), persistent=True)
    events = scene.play("up", who=scene.carter)
    assert scene.heard(events, scene.armitage) == [("arrive", "Carter arrives from below.")]
    events = scene.play("down", who=scene.carter)
    assert scene.heard(events, scene.wilmarth) == [("leave", "Carter leaves downwards.")]


def test_what_the_mover_holds_goes_with_it(scene: Scene) -> None:
    world = scene.engine.world
    sid = scene.sid(scene.armitage)
    knife = world.spawn(Item("rusty_knife"), Location(sid), persistent=True)
    scene.play("east")
    assert room_of(world, knife) == world.resource(Directory).rooms["hall"]
    assert world.get(knife, Location).holder == sid


def test_a_move_is_a_tracked_change_of_location(scene: Scene) -> None:
    scene.engine.tick()
    scene.engine.submit_line(scene.armitage, "east")
    changes = scene.engine.tick().changes
    sid = scene.engine.world.stable_id(scene.armitage)
    assert (sid, Location) in changes.changed


# --------------------------------------------------------------------------------------------------
# Refusals


def test_moving_needs_standing(scene: Scene) -> None:
    scene.engine.world.get(scene.armitage, Posture).state = PostureState.SITTING
    events = scene.play("east")
    assert errors(events) == [("not_standing", "You must stand up first.")]
    assert scene.where() == "ward"
    assert scene.heard(events, scene.carter) == []


def test_lying_down_one_cannot_move_either(scene: Scene) -> None:
    scene.play("lie")
    assert errors(scene.play("e")) == [("not_standing", "You must stand up first.")]


def test_there_is_no_going_where_there_is_no_exit(scene: Scene) -> None:
    events = scene.play("north")
    assert errors(events) == [("no_exit", "You cannot go north.")]
    assert events[0].data["direction"] == "n"
    assert scene.where() == "ward"


def test_a_closed_door_blocks_the_way(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    assert errors(scene.play("north")) == [("door_closed", "The oak door is closed.")]
    assert scene.where() == "hall"


def test_a_closed_but_unlocked_door_blocks_the_way_too(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    scene.door().locked = False
    assert errors(scene.play("north")) == [("door_closed", "The oak door is closed.")]


def test_an_open_door_lets_one_through_from_both_sides(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    scene.door().closed = False
    scene.door().locked = False
    scene.play("north")
    assert scene.where() == "gate"
    scene.play("south")
    assert scene.where() == "hall"


def test_a_one_way_exit_has_no_way_back(scene: Scene) -> None:
    scene.put(scene.armitage, "street")
    scene.play("east")
    assert scene.where() == "alley"
    assert errors(scene.play("west")) == [("no_exit", "You cannot go west.")]


def test_go_somewhere_that_is_not_a_direction_is_refused(scene: Scene) -> None:
    ((code, text),) = errors(scene.play("go sideways"))
    assert code == "bad_direction"
    assert text.startswith("'sideways' is not a direction. Directions are: north, northeast,")


def test_go_needs_a_direction(scene: Scene) -> None:
    ((code, text),) = errors(scene.play("go"))
    assert code == "bad_args"
    assert "go <direction>" in text


def test_a_refused_move_changes_nothing(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    scene.engine.tick()
    before = scene.engine.world.dump()
    result = scene.play("north") + scene.play("up")
    assert [e.type for e in result] == ["error", "error"]
    assert scene.engine.world.dump()[1:] == before[1:]


# --------------------------------------------------------------------------------------------------
# Darkness


def test_in_a_dark_room_the_mover_is_someone(scene: Scene) -> None:
    scene.put(scene.carter, "cellar")
    scene.put(scene.armitage, "hall")
    events = scene.play("down")
    assert scene.heard(events, scene.carter) == [("arrive", "Someone arrives from above.")]
    (arrive,) = [e for e in events if e.type == "arrive"]
    assert arrive.data["who"] == "someone" and arrive.data["id"] is None
    events = scene.play("up")
    assert scene.heard(events, scene.carter) == [("leave", "Someone leaves upwards.")]


def test_a_mover_carrying_a_light_is_seen_in_a_dark_room(scene: Scene) -> None:
    world = scene.engine.world
    scene.put(scene.carter, "cellar")
    scene.put(scene.armitage, "hall")
    world.spawn(Item("lantern"), Location(scene.sid(scene.armitage)), persistent=True)
    events = scene.play("down")
    assert scene.heard(events, scene.carter) == [("arrive", "Armitage arrives from above.")]
    (shown,) = [e for e in events if e.type == "room"]
    assert shown.data["dark"] is False


def test_walking_into_the_dark_shows_only_darkness(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    (shown,) = [e for e in scene.play("down") if e.type == "room"]
    assert shown.text == "It is pitch dark.\nObvious exits: up."


# --------------------------------------------------------------------------------------------------
# exits


def test_exits_lists_each_way_with_where_it_leads_and_its_door(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    (event,) = scene.play("exits")
    assert event.type == "exits"
    assert event.text.splitlines() == [
        "Obvious exits:",
        "  North      - The Gate [the oak door, locked]",
        "  West       - The Ward",
        "  Down       - The Cellar",
    ]
    north, west, down = event.data["exits"]
    assert (north["direction"], north["to"], north["to_name"]) == ("n", "gate", "The Gate")
    assert north["door"] == {"name": "an oak door", "closed": True, "locked": True}
    assert west["door"] is None and down["to"] == "cellar"


def test_exits_shows_an_open_door_as_open(scene: Scene) -> None:
    scene.put(scene.armitage, "hall")
    scene.door().closed = False
    scene.door().locked = False
    (event,) = scene.play("exits")
    assert "  North      - The Gate [the oak door, open]" in event.text.splitlines()


def test_exits_of_a_dead_end(scene: Scene) -> None:
    scene.put(scene.armitage, "alley")
    (event,) = scene.play("exits")
    assert event.text == "There is no obvious way out."
    assert event.data["exits"] == []


def test_exits_in_the_dark_shows_directions_only(scene: Scene) -> None:
    scene.put(scene.armitage, "cellar")
    (event,) = scene.play("exits")
    assert event.text.splitlines()[1] == "  Up         - (too dark to tell)"
    assert event.data["dark"] is True and event.data["exits"][0]["to"] is None


# --------------------------------------------------------------------------------------------------
# The scripted walks


def test_a_walk_through_every_exit_reaches_every_room_of_the_fixture_world(scene: Scene) -> None:
    report = walk_every_exit(scene.engine, scene.armitage)
    assert report.start == "ward"
    assert set(report.reached) == {"ward", "hall", "cellar", "gate", "street", "alley"}
    assert report.unreached == frozenset()
    assert report.exits_taken == 9  # every exit of every room
    assert report.recalls == 1  # the one-way alley is a dead end


def test_a_walk_through_every_exit_reaches_every_room_of_the_bundled_world() -> None:
    loader = pytest.importorskip("systems.content.loader")
    check = loader.check_content([DATA_DIR])
    assert check.report.ok, check.report.format()
    content = check.require()
    # A builder's walk: no horror of the bundled world (rats, cultists, ghouls) gets to strike,
    # nor does the sight of one trouble the walker's mind (a misfire would stop the walk).
    unmoved = EncounterSettings(
        first_unsettling=0,
        first_horror=0,
        first_eldritch=0,
        later_unsettling=0,
        later_horror=0,
        later_eldritch=0,
    )
    calm = {"aggression": AggressionSettings(reaction_s=1e9), "encounters": unmoved}
    engine = Engine(Config(rules=calm), plugins=[core])
    build_world(engine.world, content)
    engine.world.mark_clean()
    walker = create_character(engine.world, "Walker")
    report = walk_every_exit(engine, walker)
    assert report.start == content.start_room
    assert report.unreached == frozenset(), f"rooms no exit leads to: {sorted(report.unreached)}"
    assert report.exits_taken == sum(len(room.exits) for room in content.rooms)
