"""A small hand-built world shared by the systems tests: independent of the bundled data files.

Map (zone "asylum" above, zone "town" below)::

    [ward]  --e-->  [hall]  --n (oak door, locked, brass key)-->  [gate]  --n-->  [street]
                      |down                                                        (town)
                   [cellar] (dark)            [street] --e (one way)--> [alley]

The ward is the start room (safe, rest location, no combat) with an oak chest (locked, brass key)
holding 5 coins; a rusty knife, a brass key and a backpack lie in the hall; a heavy statue (not
portable) stands in the cellar. Besides the orderly (spawned in the ward), the NPC templates a
fight needs: a ghoul (aggressive, armoured, strong, with loot) and a rat (passive and weak), and a
leather coat to wear (armour 2); and NPCs that act: a cat (wanders every 10 s and acts out a line
every 20 s, always), a clerk (greets) and a cowardly cultist (aggressive, flees below half).
"""

from __future__ import annotations

from components.body import Characteristics
from components.content import (
    Behaviour,
    Content,
    DoorDef,
    Emotes,
    ExitDef,
    ItemKind,
    ItemStack,
    ItemTemplate,
    LootDrop,
    NpcTemplate,
    RoomContainerDef,
    RoomDef,
    SpawnRule,
    Wander,
    ZoneDef,
)
from components.items import LockState
from components.place import Environment
from engine.config import Config
from engine.core import Engine
from systems import plugin as core
from systems.content.build import build_world

ITEMS = (
    ItemTemplate(
        "rusty_knife",
        "a rusty knife",
        ("knife", "rusty"),
        "Pitted and dull.",
        ItemKind.WEAPON,
        slot="main_hand",
        damage="1d4",
    ),
    ItemTemplate(
        "silver_knife",
        "a silver knife",
        ("knife", "silver"),
        "It gleams.",
        ItemKind.WEAPON,
        slot="main_hand",
        damage="1d6",
    ),
    ItemTemplate("brass_key", "a brass key", ("key", "brass"), "Small and worn.", ItemKind.KEY),
    ItemTemplate(
        "coin",
        "a silver coin",
        ("coin", "coins", "silver"),
        "Old money.",
        ItemKind.CURRENCY,
        stackable=True,
    ),
    ItemTemplate(
        "backpack",
        "a canvas backpack",
        ("backpack", "pack", "canvas"),
        "Patched canvas.",
        ItemKind.CONTAINER,
        slot="back",
        capacity=10,
    ),
    ItemTemplate(
        "oak_chest",
        "an oak chest",
        ("chest", "oak"),
        "Banded with iron.",
        ItemKind.CONTAINER,
        portable=False,
        capacity=5,
        closed=True,
        lock=LockState.LOCKED,
        key="brass_key",
    ),
    ItemTemplate(
        "statue", "a heavy statue", ("statue", "heavy"), "Too heavy to lift.", portable=False
    ),
    ItemTemplate(
        "lantern",
        "a tin lantern",
        ("lantern", "tin"),
        "It smells of oil.",
        ItemKind.LIGHT,
        slot="off_hand",
    ),
    ItemTemplate(
        "leather_coat",
        "a leather coat",
        ("coat", "leather"),
        "Scuffed.",
        ItemKind.ARMOUR,
        slot="torso",
        armour=2,
    ),
)

NPCS = (
    NpcTemplate("orderly", "a weary orderly", ("orderly", "weary"), "He yawns."),
    NpcTemplate(
        "ghoul",
        "a ghoul",
        ("ghoul", "creature"),
        "It gnaws.",
        Behaviour.AGGRESSIVE,
        dp=20,
        carries=(ItemStack("coin", 2),),
        damage="1d6",
        armour=1,
        characteristics=Characteristics(strength=75, dexterity=60, constitution=70, size=60),
        loot=(LootDrop("coin", 1.0, 3), LootDrop("lantern", 0.0)),
    ),
    NpcTemplate("rat", "a fat rat", ("rat", "fat"), "Bold.", dp=4, damage="1d2"),
    NpcTemplate(
        "cat",
        "a black cat",
        ("cat", "black"),
        "It owns the place.",
        dp=4,
        wander=Wander(interval_s=10.0, chance=1.0),
        emotes=Emotes(("washes a paw.", "'s tail twitches."), interval_s=20.0, chance=1.0),
    ),
    NpcTemplate("clerk", "the clerk", ("clerk",), "Pallid.", greet="Rooms are a dollar a night."),
    NpcTemplate(
        "coward",
        "a cowardly cultist",
        ("cultist", "cowardly"),
        "Shifty.",
        Behaviour.AGGRESSIVE,
        dp=20,
        flee_below=0.5,
    ),
)

ROOMS = (
    RoomDef(
        "ward",
        "asylum",
        "The Ward",
        "Iron beds in rows.",
        environment=Environment.SANCTUARY,
        flags=frozenset({"safe", "rest_location", "no_combat"}),
        exits=(ExitDef("e", "hall"),),
        containers=(RoomContainerDef("chest", "oak_chest", (ItemStack("coin", 5),)),),
    ),
    RoomDef(
        "hall",
        "asylum",
        "The Hall",
        "A long hall.",
        environment=Environment.INDOORS,
        exits=(
            ExitDef("w", "ward"),
            ExitDef("n", "gate", door="oak_door"),
            ExitDef("down", "cellar"),
        ),
        items=(ItemStack("rusty_knife"), ItemStack("brass_key"), ItemStack("backpack")),
    ),
    RoomDef(
        "cellar",
        "asylum",
        "The Cellar",
        "Damp stone.",
        environment=Environment.HAUNTED,
        flags=frozenset({"dark"}),
        exits=(ExitDef("up", "hall"),),
        items=(ItemStack("statue"),),
    ),
    RoomDef(
        "gate",
        "asylum",
        "The Gate",
        "Wrought iron.",
        environment=Environment.STREET,
        exits=(ExitDef("s", "hall", door="oak_door"), ExitDef("n", "street")),
    ),
    RoomDef(
        "street",
        "town",
        "A Street",
        "Gambrel roofs lean.",
        environment=Environment.STREET,
        exits=(ExitDef("s", "gate"), ExitDef("e", "alley", one_way=True)),
    ),
    RoomDef("alley", "town", "An Alley", "A dead end.", environment=Environment.STREET),
)

CONTENT = Content(
    zones=(ZoneDef("asylum", "Arkham Sanitarium"), ZoneDef("town", "Arkham")),
    rooms=ROOMS,
    doors=(DoorDef("oak_door", "an oak door", closed=True, locked=True, key="brass_key"),),
    items=ITEMS,
    npcs=NPCS,
    spawns=(SpawnRule("orderly", "ward", max=1, respawn_s=60.0),),
    start_room="ward",
)


def make_engine(config: Config | None = None) -> Engine:
    """An engine with the core plugin and the fixture world built, before its first tick."""
    engine = Engine(config or Config(), plugins=[core])
    build_world(engine.world, CONTENT)
    engine.world.mark_clean()
    return engine
