"""Content: the validated plain-data form of the data files, and the directory built from it.

The content loader (``systems/content``) turns TOML files into these frozen dataclasses; the world
builder turns them into entities. Systems read templates and find rooms through the
:class:`Directory` resource. Plain data only: no I/O, no validation logic (that is the loader's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from components.body import Characteristics
from components.items import LockState
from components.place import Environment, FluxOverride


class ItemKind(StrEnum):
    WEAPON = "weapon"
    ARMOUR = "armour"
    CONTAINER = "container"
    LIGHT = "light"
    FOOD = "food"
    KEY = "key"
    BOOK = "book"
    CURRENCY = "currency"
    JUNK = "junk"


class Behaviour(StrEnum):
    PASSIVE = "passive"
    AGGRESSIVE = "aggressive"


class EncounterCategory(StrEnum):
    """How much seeing this creature costs a mind (the lucidity rules use it)."""

    MUNDANE = "mundane"
    UNSETTLING = "unsettling"
    HORROR = "horror"
    ELDRITCH = "eldritch"


@dataclass(frozen=True, slots=True)
class ItemTemplate:
    id: str
    name: str
    keywords: tuple[str, ...]
    description: str
    kind: ItemKind = ItemKind.JUNK
    stackable: bool = False
    portable: bool = True
    slot: str = ""  # the equipment slot it is worn or wielded in; "" if it cannot be equipped
    weight: float = 0.0
    capacity: int = 0  # containers: item slots
    closed: bool = False  # containers: closed when spawned
    lock: LockState = LockState.UNLOCKED  # containers: lock state when spawned
    key: str = ""  # containers: template of the key that fits
    stats: tuple[tuple[str, float], ...] = ()  # light, nourishment... (rules decide)
    plural: str = ""  # "rusty knives"; derived from name when empty
    damage: str = ""  # weapons: the dice of a blow ("1d6+1"); "" hits as bare hands do
    armour: int = 0  # taken off each blow its wearer receives, while worn
    permanent: bool = False  # never decays, even dropped on a floor

    def stat(self, name: str, default: float = 0.0) -> float:
        return dict(self.stats).get(name, default)


@dataclass(frozen=True, slots=True)
class Wander:
    """An NPC that wanders: every ``interval_s`` seconds, with ``chance`` (0-1), it takes a step
    through an open exit into a room of its zone. None: the ``[wander]`` setting's."""

    interval_s: float | None = None
    chance: float | None = None


@dataclass(frozen=True, slots=True)
class Emotes:
    """An NPC's ambient lines: every ``interval_s`` seconds, with ``chance`` (0-1), it acts out
    one of ``lines`` (as ``emote`` does: "washes a paw."). None: the ``[emotes]`` setting's."""

    lines: tuple[str, ...]
    interval_s: float | None = None
    chance: float | None = None


@dataclass(frozen=True, slots=True)
class NpcTemplate:
    id: str
    name: str
    keywords: tuple[str, ...]
    description: str
    behaviour: Behaviour = Behaviour.PASSIVE
    category: EncounterCategory = EncounterCategory.MUNDANE
    dp: int = 10
    stats: tuple[tuple[str, float], ...] = ()
    carries: tuple[ItemStack, ...] = ()
    damage: str = ""  # the dice of its blows ("1d8"); "" hits as bare hands do
    armour: int = 0  # its hide: taken off each blow it receives (worn armour adds to it)
    characteristics: Characteristics = field(default_factory=Characteristics)
    loot: tuple[LootDrop, ...] = ()  # rolled into its corpse when it dies
    wander: Wander | None = None  # None: it stays where it is
    emotes: Emotes | None = None  # None: it acts out nothing
    greet: str = ""  # what it says when a player comes into its room; "": nothing
    flee_below: float = 0.0  # in a fight, it flees once its dp falls below this share of its whole


@dataclass(frozen=True, slots=True)
class ItemStack:
    """Items placed by content: ``quantity`` of ``template``."""

    template: str
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class LootDrop:
    """What an NPC may leave in its corpse: ``quantity`` of ``template``, with ``chance`` (0-1)."""

    template: str
    chance: float = 1.0
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class SpawnRule:
    npc: str
    room: str
    max: int = 1
    respawn_s: float = 300.0


@dataclass(frozen=True, slots=True)
class DoorDef:
    id: str
    name: str = "a door"
    closed: bool = True
    locked: bool = False
    key: str = ""


@dataclass(frozen=True, slots=True)
class ExitDef:
    direction: str
    to: str
    door: str = ""
    one_way: bool = False


@dataclass(frozen=True, slots=True)
class RoomContainerDef:
    """A fixture of a room that holds items (a chest, a desk), made from an item template."""

    id: str
    template: str
    contents: tuple[ItemStack, ...] = ()
    closed: bool | None = None  # None: the template's default
    lock: LockState | None = None

    def key(self, room: str) -> str:
        return f"{room}/{self.id}"


@dataclass(frozen=True, slots=True)
class RoomDef:
    id: str
    zone: str
    name: str
    description: str
    subzone: str = ""
    environment: Environment = Environment.STREET
    flags: frozenset[str] = frozenset()
    exits: tuple[ExitDef, ...] = ()
    containers: tuple[RoomContainerDef, ...] = ()
    items: tuple[ItemStack, ...] = ()
    lucidity_flux: FluxOverride | None = None  # the builder's rates, over the environment's


@dataclass(frozen=True, slots=True)
class ZoneDef:
    id: str
    name: str
    description: str = ""
    subzones: tuple[tuple[str, str], ...] = ()  # (id, name)
    lucidity_flux: FluxOverride | None = None  # for every room of the zone that has none


@dataclass(frozen=True, slots=True)
class TableContent:
    """The entries of one plugin-declared content table, in file order: instances of the table's
    model (frozen pydantic models, the one place rules see them)."""

    name: str
    model: type
    rows: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class Content:
    """A whole validated world: what the builder needs and nothing it must check again."""

    zones: tuple[ZoneDef, ...] = ()
    rooms: tuple[RoomDef, ...] = ()
    doors: tuple[DoorDef, ...] = ()
    items: tuple[ItemTemplate, ...] = ()
    npcs: tuple[NpcTemplate, ...] = ()
    spawns: tuple[SpawnRule, ...] = ()
    start_room: str = ""  # where new characters wake and the dead respawn
    tables: tuple[TableContent, ...] = ()  # the plugins' content tables


@dataclass(slots=True)
class ContentTables:
    """The world resource holding every plugin-declared content table's entries, by model."""

    rows: dict[type, tuple[Any, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Directory:
    """The world resource that maps content keys to live entities and templates.

    Built once by the world builder; systems use it to find a room by key, a door by key, or the
    template of an item or NPC.
    """

    rooms: dict[str, int] = field(default_factory=dict)
    doors: dict[str, int] = field(default_factory=dict)
    items: dict[str, ItemTemplate] = field(default_factory=dict)
    npcs: dict[str, NpcTemplate] = field(default_factory=dict)
    zones: dict[str, ZoneDef] = field(default_factory=dict)
    spawns: tuple[SpawnRule, ...] = ()
    start_room: str = ""
    zone_rooms: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """The room entities of each zone, so that a zone's occupants are found room by room."""
    zone_entities: dict[str, int] = field(default_factory=dict)
    """The entity of each zone (with a ``Zone`` component), where per-zone state is kept."""
