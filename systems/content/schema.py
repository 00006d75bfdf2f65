"""The content file format as pydantic models: what each table of a data file may hold.

One model per kind of entry (a room, a door, an item template...), validated one entry at a time so
that a bad entry never hides the problems of the others. Only the loader uses these models: it
converts them into the frozen dataclasses of :mod:`components.content`, and nothing else may ever
see a pydantic object. No I/O here, and no checks that need another entry (references, duplicates):
those are the loader's.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

from components.content import Behaviour, EncounterCategory, ItemKind
from components.items import EQUIPMENT_SLOTS, LockState
from components.place import Environment, RoomFlag
from systems.characteristics import NPC_CHARACTERISTIC_RANGE
from systems.dice import DiceError, parse_dice

__all__ = [
    "FILE_SECTIONS",
    "ID_PATTERN",
    "CharacteristicsModel",
    "ContainerModel",
    "DoorModel",
    "EmotesModel",
    "Entry",
    "ExitModel",
    "FileKind",
    "FluxModel",
    "ItemModel",
    "LootModel",
    "NpcModel",
    "RoomModel",
    "Section",
    "SpawnModel",
    "StackModel",
    "SubzoneModel",
    "WanderModel",
    "WorldModel",
    "ZoneModel",
    "closest",
    "reflow",
]

#: An id: lower-case words of letters, digits and ``_``, joined by single dots (``arkham.square``).
ID_PATTERN = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
#: A stat name (``damage``, ``nourishment``): lower-case letters, digits and ``_``.
STAT_PATTERN = re.compile(r"[a-z][a-z0-9_]*")


def closest(word: str, choices: Any) -> str | None:
    """The choice most like ``word`` (a likely typo), or None when nothing is close."""
    found = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.75)
    return found[0] if found else None


def _hint(word: str, choices: Any) -> str:
    near = closest(word, choices)
    return f"; did you mean {near!r}?" if near else ""


def reflow(text: str) -> str:
    """Description text as players read it: lines of a paragraph joined with single spaces,
    paragraphs (separated by a blank line) kept apart, no leading or trailing blank space. Builders
    may then wrap long descriptions in TOML's triple-quoted strings however they like."""
    paragraphs = re.split(r"\n[ \t]*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


# --- field types -------------------------------------------------------------------------------


def _check_id(value: str) -> str:
    if not ID_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "content_id",
            "{value} is not a valid id: use lower-case letters, digits and '_', with '.' between"
            " words (as in 'arkham.square')",
            {"value": repr(value)},
        )
    return value


def _check_optional_id(value: str) -> str:
    return value if value == "" else _check_id(value)


def _check_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("content_text", "must not be empty")
    if "\n" in value:
        raise PydanticCustomError("content_text", "must be a single line")
    return value


def _check_optional_name(value: str) -> str:
    return value if value.strip() == "" and "\n" not in value else _check_name(value)


def _check_text(value: str) -> str:
    value = reflow(value)
    if not value:
        raise PydanticCustomError("content_text", "must not be empty")
    return value


def _check_keyword(value: str) -> str:
    value = value.strip()
    if not value or len(value.split()) != 1:
        raise PydanticCustomError(
            "content_keyword",
            "{value} is not a keyword: each keyword is one word that players type",
            {"value": repr(value)},
        )
    return value


def _check_slot(value: str) -> str:
    if value not in EQUIPMENT_SLOTS:
        raise PydanticCustomError(
            "content_slot",
            "{value} is not an equipment slot; use one of {slots}{hint}",
            {
                "value": repr(value),
                "slots": ", ".join(EQUIPMENT_SLOTS),
                "hint": _hint(value, EQUIPMENT_SLOTS),
            },
        )
    return value


def _check_stat(value: str) -> str:
    if not STAT_PATTERN.fullmatch(value):
        raise PydanticCustomError(
            "content_stat",
            "{value} is not a stat name: use lower-case letters, digits and '_' (as in 'damage')",
            {"value": repr(value)},
        )
    return value


def _check_dice(value: str) -> str:
    if value == "":
        return value
    try:
        parse_dice(value)
    except DiceError as bad:
        raise PydanticCustomError("content_dice", "{problem}", {"problem": str(bad)}) from None
    return value.strip().casefold()


def _switched(value: Any) -> Any:
    """``wander = true`` is short for ``wander = {}`` (every setting its default); ``false`` is
    no wandering at all."""
    if value is True:
        return {}
    if value is False:
        return None
    return value


def _exit_shorthand(value: Any) -> Any:
    """``n = "arkham.library"`` is short for ``n = { to = "arkham.library" }``."""
    if isinstance(value, str):
        return {"to": value}
    if isinstance(value, dict):
        return value
    raise PydanticCustomError(
        "content_exit",
        'an exit is a room id ("arkham.church") or a table { to = "...", door = "...",'
        " one_way = true }",
    )


Id = Annotated[str, AfterValidator(_check_id)]
OptionalId = Annotated[str, AfterValidator(_check_optional_id)]  # "" = none
Name = Annotated[str, AfterValidator(_check_name)]
OptionalName = Annotated[str, AfterValidator(_check_optional_name)]  # "" = none
Text = Annotated[str, AfterValidator(_check_text)]
OptionalText = Annotated[str, AfterValidator(reflow)]
Keyword = Annotated[str, AfterValidator(_check_keyword)]
Slot = Annotated[str, AfterValidator(_check_slot)]
StatName = Annotated[str, AfterValidator(_check_stat)]
DiceText = Annotated[str, AfterValidator(_check_dice)]  # "" = bare hands
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Stats = dict[StatName, FiniteFloat]
# Enumerations are written as their values ("street"): strict mode would want enum instances.
_Lax = Strict(False)
EnvironmentName = Annotated[Environment, _Lax]
RoomFlagName = Annotated[RoomFlag, _Lax]
LockName = Annotated[LockState, _Lax]
ItemKindName = Annotated[ItemKind, _Lax]
BehaviourName = Annotated[Behaviour, _Lax]
CategoryName = Annotated[EncounterCategory, _Lax]


def _rule(field: str, message: str) -> PydanticCustomError:
    """An error of a rule between fields, reported against ``field`` (the loader reads it)."""
    return PydanticCustomError("content_rule", message, {"field": field})


# --- entries -----------------------------------------------------------------------------------


class Entry(BaseModel):
    """An entry of a data file. Strict: TOML values are typed, so ``closed = "yes"`` is an error,
    not a guess; unknown keys are errors (a typo would otherwise be silently ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class StackModel(Entry):
    """``{ template = "coin", quantity = 3 }``: items placed by content."""

    template: Id
    quantity: int = Field(1, ge=1)


class LootModel(StackModel):
    """``{ template = "coin", chance = 0.5, quantity = 3 }``: what an NPC may leave in its
    corpse; ``chance`` from just above 0 to 1 (always)."""

    chance: FiniteFloat = Field(1.0, gt=0, le=1)


_LOW, _HIGH = NPC_CHARACTERISTIC_RANGE
Characteristic = Annotated[int, Field(ge=_LOW, le=_HIGH)]


class CharacteristicsModel(Entry):
    """``[npcs.characteristics]``: STR, DEX, CON, SIZ, POW, EDU; any left out is 50."""

    str: Characteristic = 50
    dex: Characteristic = 50
    con: Characteristic = 50
    siz: Characteristic = 50
    pow: Characteristic = 50
    edu: Characteristic = 50


#: Stats that became fields of their own, and how they are written now.
_FORMER_STATS = {
    "damage": 'a field of its own now, as dice: damage = "1d6" (not in [stats])',
    "armour": "a field of its own now: armour = 1 (not in [stats])",
}


def _check_former_stats(stats: dict[str, float]) -> None:
    for name, advice in _FORMER_STATS.items():
        if name in stats:
            raise _rule(f"stats.{name}", f"{name} is {advice}")


class ExitModel(Entry):
    to: Id
    door: OptionalId = ""
    one_way: bool = False


class ContainerModel(Entry):
    """``[[rooms.containers]]``: a fixture of a room made from a container template."""

    id: Id
    template: Id
    contents: list[StackModel] = []
    lock: LockName | None = None
    closed: bool | None = None


#: The most a builder may make a room's lucidity flux gain or lose per game minute: beyond it, a
#: mind would be emptied (or healed) in minutes, surely a slip of the finger.
FLUX_LIMIT = 10.0
FluxRate = Annotated[float, Field(ge=-FLUX_LIMIT, le=FLUX_LIMIT, allow_inf_nan=False)]


class FluxModel(Entry):
    """``lucidity_flux = { day = -0.5, night = -1.0 }``: what a mind gains (or, negative, loses)
    per game minute here, by day and by night, in place of the environment's rates. A rate left
    out stays the environment's (a room's: its zone's, if the zone gives one)."""

    day: FluxRate | None = None
    night: FluxRate | None = None

    @model_validator(mode="after")
    def _some_rate(self) -> Self:
        if self.day is None and self.night is None:
            raise _rule("day", "give day, night or both (per game minute), or leave it out")
        return self


class RoomModel(Entry):
    id: Id
    name: Name
    description: Text
    subzone: OptionalId = ""
    environment: EnvironmentName = Environment.STREET
    flags: list[RoomFlagName] = []
    items: list[StackModel] = []
    exits: dict[str, Annotated[ExitModel, BeforeValidator(_exit_shorthand)]] = {}
    containers: list[ContainerModel] = []
    lucidity_flux: FluxModel | None = None


class SubzoneModel(Entry):
    id: Id
    name: Name


class DoorModel(Entry):
    id: Id
    name: Name = "a door"
    closed: bool = True
    locked: bool = False
    key: OptionalId = ""

    @model_validator(mode="after")
    def _locked_doors_are_closed(self) -> Self:
        if self.locked and not self.closed:
            raise _rule("closed", "a locked door must be closed (closed = true, or unlock it)")
        return self


class SpawnModel(Entry):
    npc: Id
    room: Id
    max: int = Field(1, ge=1)
    respawn_s: FiniteFloat = Field(300.0, ge=0)


class ZoneModel(Entry):
    id: Id
    name: Name
    description: OptionalText = ""
    lucidity_flux: FluxModel | None = None


_CONTAINER_ONLY = ("capacity", "closed", "lock", "key")


class ItemModel(Entry):
    id: Id
    name: Name
    plural: Name = ""
    keywords: list[Keyword] = Field(min_length=1)
    description: Text
    kind: ItemKindName = ItemKind.JUNK
    stackable: bool = False
    portable: bool = True
    slot: Slot = ""
    weight: FiniteFloat = Field(0.0, ge=0)
    capacity: int = Field(0, ge=0)
    closed: bool = False
    lock: LockName = LockState.UNLOCKED
    key: OptionalId = ""
    stats: Stats = {}
    damage: DiceText = ""
    armour: int = Field(0, ge=0)
    permanent: bool = False

    @model_validator(mode="after")
    def _combat_rules(self) -> Self:
        _check_former_stats(self.stats)
        if self.damage and self.kind != ItemKind.WEAPON:
            raise _rule(
                "damage", f"only weapons have damage (this item's kind is {str(self.kind)!r})"
            )
        if self.armour and not self.slot:
            raise _rule("armour", "armour counts only when worn: give the item a slot")
        return self

    @model_validator(mode="after")
    def _container_rules(self) -> Self:
        if self.kind == ItemKind.CONTAINER:
            if self.capacity < 1:
                raise _rule("capacity", "a container needs a capacity of at least 1 (item slots)")
            if self.stackable:
                raise _rule("stackable", "a container cannot be stackable")
            if self.lock != LockState.UNLOCKED and not self.closed:
                raise _rule("closed", f"a {self.lock} container must be closed (closed = true)")
        else:
            given = [name for name in _CONTAINER_ONLY if name in self.model_fields_set]
            if given:
                raise _rule(
                    given[0],
                    f"only containers have {', '.join(given)} (this item's kind is"
                    f" {str(self.kind)!r})",
                )
        return self


Interval = Annotated[FiniteFloat | None, Field(gt=0)]  # None: the rule's setting
Chance = Annotated[FiniteFloat | None, Field(gt=0, le=1)]


class WanderModel(Entry):
    """``[npcs.wander]`` (or ``wander = true``): a step through an open exit, within its zone,
    every ``interval_s`` seconds with ``chance``; either left out is the ``[wander]`` setting."""

    interval_s: Interval = None
    chance: Chance = None


class EmotesModel(Entry):
    """``[npcs.emotes]``: one of ``lines``, acted out every ``interval_s`` seconds with
    ``chance``; either left out is the ``[emotes]`` setting."""

    lines: list[Name] = Field(min_length=1)
    interval_s: Interval = None
    chance: Chance = None


class NpcModel(Entry):
    id: Id
    name: Name
    keywords: list[Keyword] = Field(min_length=1)
    description: Text
    behaviour: BehaviourName = Behaviour.PASSIVE
    category: CategoryName = EncounterCategory.MUNDANE
    dp: int = Field(10, ge=1)
    carries: list[StackModel] = []
    stats: Stats = {}
    damage: DiceText = ""
    armour: int = Field(0, ge=0)
    characteristics: CharacteristicsModel = CharacteristicsModel()
    loot: list[LootModel] = []
    wander: Annotated[WanderModel | None, BeforeValidator(_switched)] = None
    emotes: EmotesModel | None = None
    greet: OptionalName = ""
    flee_below: FiniteFloat = Field(0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _combat_rules(self) -> Self:
        _check_former_stats(self.stats)
        return self


class WorldModel(Entry):
    name: Name = ""
    start_room: OptionalId = ""


# --- files -------------------------------------------------------------------------------------


class FileKind(StrEnum):
    """What a data file holds, decided by where it is: ``world.toml``, ``zones/``, ``items/``,
    ``npcs/``."""

    WORLD = "world"
    ZONE = "zone"
    ITEMS = "items"
    NPCS = "npcs"
    TABLE = "table"  # a plugin's content table: ``<table>/*.toml``


@dataclass(frozen=True, slots=True)
class Section:
    """A top-level key of a data file: ``[zone]`` (one table) or ``[[rooms]]`` (many)."""

    key: str
    model: type[Entry]
    label: str  # what an entry is called in reports: "room", "door"...
    many: bool
    required: bool = False


FILE_SECTIONS: dict[FileKind, tuple[Section, ...]] = {
    FileKind.WORLD: (Section("world", WorldModel, "world", many=False, required=True),),
    FileKind.ZONE: (
        Section("zone", ZoneModel, "zone", many=False, required=True),
        Section("subzones", SubzoneModel, "subzone", many=True),
        Section("doors", DoorModel, "door", many=True),
        Section("rooms", RoomModel, "room", many=True),
        Section("spawns", SpawnModel, "spawn", many=True),
    ),
    FileKind.ITEMS: (Section("items", ItemModel, "item", many=True),),
    FileKind.NPCS: (Section("npcs", NpcModel, "npc", many=True),),
}
