"""Whereabouts: the room and the zone a thing is in (zones are entities of their own, where
plugins keep per-zone state), and whether it is under the open sky."""

from __future__ import annotations

from components.place import Zone
from engine.ids import content_stable_id
from engine.testing import world_from_toml
from systems.whereabouts import is_outdoors, move, room_of, zone_entity, zone_of

MOOR = """\
[zone]
id = "moor"
name = "The Moor"
description = "Heather and mist."

[[rooms]]
id = "moor.track"
name = "A Track"
description = "Ruts in the peat."
flags = ["outdoors"]
exits = { e = "moor.inn" }

[[rooms]]
id = "moor.inn"
name = "The Inn"
description = "Low beams."
exits = { w = "moor.track", n = "village.green" }
"""

VILLAGE = """\
[zone]
id = "village"
name = "The Village"

[[rooms]]
id = "village.green"
name = "The Green"
description = "Grass and a well."
flags = ["outdoors"]
exits = { s = "moor.inn" }
"""

SATCHEL = """\
[[items]]
id = "satchel"
name = "a satchel"
keywords = ["satchel"]
description = "Leather."
kind = "container"
capacity = 4
"""


def test_every_zone_is_an_entity_with_a_stable_id_from_its_key() -> None:
    stage = world_from_toml(zones=[MOOR, VILLAGE])
    moor = stage.zone("moor")
    assert stage.world.get(moor, Zone) == Zone("moor", "The Moor", "Heather and mist.")
    assert stage.world.stable_id(moor) == content_stable_id("zone:moor")
    assert zone_entity(stage.world, "village") == stage.zone("village")
    assert zone_entity(stage.world, "nowhere") is None


def test_a_things_zone_is_its_rooms_however_deeply_it_is_held() -> None:
    stage = world_from_toml(zones=[MOOR, VILLAGE], items=[SATCHEL])
    walker = stage.player("Walker", room="village.green")
    satchel = stage.world.spawn(persistent=True)
    move(stage.world, satchel, walker)
    assert zone_of(stage.world, satchel) == stage.zone("village")
    assert zone_of(stage.world, stage.room("moor.inn")) == stage.zone("moor")
    assert zone_of(stage.world, stage.zone("moor")) == stage.zone("moor")
    nowhere = stage.world.spawn(persistent=True)
    assert zone_of(stage.world, nowhere) is None


def test_outdoors_is_where_the_room_is_flagged_so_whatever_holds_you() -> None:
    stage = world_from_toml(zones=[MOOR, VILLAGE])
    walker = stage.player("Walker")
    assert room_of(stage.world, walker) == stage.room("moor.track")
    assert is_outdoors(stage.world, walker)
    stage.type(walker, "east")
    assert not is_outdoors(stage.world, walker)
    assert not is_outdoors(stage.world, stage.world.spawn())
