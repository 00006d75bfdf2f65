"""Posture: sitting, standing, lying and resting, what the room sees, and the no-ops.

Driven through the command inbox, one tick per line. Armitage and Carter wake in the ward (a place
of rest); Wilmarth stands in the hall (not one).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from components.body import Posture, PostureState
from components.content import Directory
from components.place import Location
from engine.commands import Refused
from engine.core import Engine
from engine.events import Event
from engine.testing import heard_by
from systems.characters import create_character
from systems.posture import Change, change_posture
from tests.systems.walk import play, ready_engine

STANDING, SITTING, LYING = PostureState.STANDING, PostureState.SITTING, PostureState.LYING


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

    def posture(self, who: int | None = None) -> tuple[str, bool]:
        posture = self.engine.world.get(self.armitage if who is None else who, Posture)
        return str(posture.state), posture.resting


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


def test_sitting_down_tells_the_sitter_and_the_room(scene: Scene) -> None:
    events = scene.play("sit")
    assert scene.posture() == ("sitting", False)
    assert scene.heard(events, scene.armitage) == [("posture", "You sit down.")]
    assert scene.heard(events, scene.carter) == [("posture", "Armitage sits down.")]
    assert scene.heard(events, scene.wilmarth) == []
    mine, theirs = events
    assert dict(mine.data) == {"posture": "sitting", "resting": False}
    sid = scene.engine.world.stable_id(scene.armitage)
    assert dict(theirs.data) == {
        "who": "Armitage",
        "id": sid,
        "posture": "sitting",
        "resting": False,
    }


@pytest.mark.parametrize(
    ("first", "then", "yours", "theirs", "final"),
    [
        ("sit", "stand", "You stand up.", "Armitage stands up.", "standing"),
        ("lie", "stand", "You get up.", "Armitage gets up.", "standing"),
        ("lie", "sit", "You sit up.", "Armitage sits up.", "sitting"),
        ("sit", "lie", "You lie down.", "Armitage lies down.", "lying"),
        ("stand", "lie", "You lie down.", "Armitage lies down.", "lying"),
    ],
)
def test_each_change_of_posture_reads_right(
    scene: Scene, first: str, then: str, yours: str, theirs: str, final: str
) -> None:
    scene.play(first)
    events = scene.play(then)
    assert scene.heard(events, scene.armitage) == [("posture", yours)]
    assert scene.heard(events, scene.carter) == [("posture", theirs)]
    assert scene.posture()[0] == final


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("stand", "You are already standing."),
        ("sit", "You are already sitting."),
        ("lie", "You are already lying down."),
    ],
)
def test_taking_the_posture_one_has_is_a_no_op(scene: Scene, line: str, text: str) -> None:
    if line != "stand":
        scene.play(line)
    scene.engine.tick()
    before = scene.engine.world.dump()
    events = scene.play(line)
    assert [(e.type, e.data["code"], e.text) for e in events] == [("error", "already", text)]
    assert scene.engine.world.dump()[1:] == before[1:]


def test_resting_in_a_place_of_rest_sits_down_to_rest(scene: Scene) -> None:
    events = scene.play("rest")
    assert scene.posture() == ("sitting", True)
    assert scene.heard(events, scene.armitage) == [("posture", "You sit down and rest.")]
    assert scene.heard(events, scene.carter) == [("posture", "Armitage sits down to rest.")]


def test_resting_while_sitting_settles_down_to_rest(scene: Scene) -> None:
    scene.play("sit")
    events = scene.play("rest")
    assert scene.heard(events, scene.armitage) == [("posture", "You settle down to rest.")]
    assert scene.posture() == ("sitting", True)


def test_resting_while_lying_sits_up_to_rest(scene: Scene) -> None:
    scene.play("lie")
    assert scene.heard(scene.play("rest"), scene.carter) == [
        ("posture", "Armitage sits up to rest.")
    ]
    assert scene.posture() == ("sitting", True)


def test_resting_twice_is_a_no_op(scene: Scene) -> None:
    scene.play("rest")
    events = scene.play("rest")
    assert [(e.data["code"], e.text) for e in events] == [("already", "You are already resting.")]


def test_outside_a_place_of_rest_rest_only_sits_down(scene: Scene) -> None:
    events = scene.play("rest", who=scene.wilmarth)
    assert scene.posture(scene.wilmarth) == ("sitting", False)
    assert scene.heard(events, scene.wilmarth) == [
        ("posture", "You sit down, but this is no place to rest.")
    ]


def test_outside_a_place_of_rest_resting_while_seated_is_refused(scene: Scene) -> None:
    scene.play("sit", who=scene.wilmarth)
    events = scene.play("rest", who=scene.wilmarth)
    assert [(e.data["code"], e.text) for e in events] == [
        ("cannot_rest", "You cannot rest here: this is no place to rest.")
    ]
    assert scene.posture(scene.wilmarth) == ("sitting", False)


@pytest.mark.parametrize("line", ["stand", "sit", "lie"])
def test_any_other_posture_command_ends_resting(scene: Scene, line: str) -> None:
    scene.play("rest")
    scene.play(line)
    assert scene.posture()[1] is False


def test_sitting_while_resting_stops_resting(scene: Scene) -> None:
    scene.play("rest")
    events = scene.play("sit")
    assert scene.heard(events, scene.armitage) == [("posture", "You stop resting.")]
    assert scene.heard(events, scene.carter) == [("posture", "Armitage stops resting.")]
    assert scene.posture() == ("sitting", False)


def test_in_a_dark_room_the_room_sees_someone_change_posture(scene: Scene) -> None:
    world = scene.engine.world
    cellar = world.stable_id(world.resource(Directory).rooms["cellar"])
    assert cellar is not None
    world.add(scene.armitage, Location(cellar))
    world.add(scene.carter, Location(cellar))
    events = scene.play("sit")
    assert scene.heard(events, scene.carter) == [("posture", "Someone sits down.")]
    assert heard_by(world, events, scene.carter)[0].data["id"] is None


def test_a_body_without_a_posture_stands_and_can_sit(scene: Scene) -> None:
    scene.engine.world.remove(scene.armitage, Posture)
    scene.play("sit")
    assert scene.posture() == ("sitting", False)


def test_a_body_without_a_posture_that_stands_up_is_refused_and_gains_nothing(
    scene: Scene,
) -> None:
    world = scene.engine.world
    world.remove(scene.armitage, Posture)
    scene.engine.tick()
    before = world.dump()
    events = scene.play("stand")
    assert [(e.type, e.data["code"]) for e in events] == [("error", "already")]
    assert not world.has(scene.armitage, Posture)
    assert world.dump()[1:] == before[1:]


def test_the_rule_is_a_pure_function_of_posture_wish_and_place() -> None:
    standing = Posture()
    assert change_posture(standing, SITTING) == Change(
        SITTING, False, "You sit down.", "{name} sits down."
    )
    with pytest.raises(Refused) as refused:
        change_posture(standing, STANDING)
    assert (refused.value.code, refused.value.text, refused.value.data) == (
        "already",
        "You are already standing.",
        {},
    )
    assert change_posture(standing, SITTING, rest=True, rest_allowed=True) == Change(
        SITTING, True, "You sit down and rest.", "{name} sits down to rest."
    )
    with pytest.raises(Refused) as refused:
        change_posture(Posture(SITTING), SITTING, rest=True)
    assert (refused.value.code, refused.value.text, refused.value.data) == (
        "cannot_rest",
        "You cannot rest here: this is no place to rest.",
        {},
    )
    assert standing == Posture()  # the rule changed nothing
