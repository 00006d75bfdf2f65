"""Sorting parsed data files into entries: each table checked against its schema model, ids
recorded once (a duplicate is a problem), broken entries remembered so that references to them
are not reported twice. Pure: reads no file, and judges no reference or map (those come after)."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from systems.content.reading import SourceFile
from systems.content.report import Problem, Severity
from systems.content.schema import (
    FILE_SECTIONS,
    DoorModel,
    Entry,
    FileKind,
    ItemModel,
    NpcModel,
    RoomModel,
    Section,
    SpawnModel,
    SubzoneModel,
    WorldModel,
    ZoneModel,
    closest,
)

__all__ = ["Entries", "Placed", "PlacedZone"]

#: Where entries of each kind are defined, to know which references a broken file may explain.
_FILE_OF_KIND = {"item": FileKind.ITEMS, "npc": FileKind.NPCS}

M = TypeVar("M", bound=Entry)


@dataclass(slots=True)
class Placed(Generic[M]):
    """A valid entry and where it came from."""

    model: M
    file: str
    entry: str
    zone: str = ""


@dataclass(slots=True)
class PlacedZone:
    """A zone's header entry (None while its [zone] table is broken) and its subzones."""

    placed: Placed[ZoneModel] | None
    subzones: dict[str, Placed[SubzoneModel]] = field(default_factory=dict)
    broken_subzones: set[str] = field(default_factory=set)


class Entries:
    """Every valid entry of the files read, by kind and id, with the problems found so far.

    The later checks (references, the map) and the conversion to content read these tables and
    add their own problems through :meth:`error` and :meth:`warn`.
    """

    def __init__(self, tables: Mapping[str, type[Entry]] | None = None) -> None:
        self.table_models: dict[str, type[Entry]] = dict(tables or {})
        self.tables: dict[str, list[Placed[Any]]] = {name: [] for name in self.table_models}
        self.problems: list[Problem] = []
        self.worlds: list[Placed[WorldModel]] = []
        self.world_broken = False
        self.zones: dict[str, PlacedZone] = {}
        self.rooms: dict[str, Placed[RoomModel]] = {}
        self.doors: dict[str, Placed[DoorModel]] = {}
        self.items: dict[str, Placed[ItemModel]] = {}
        self.npcs: dict[str, Placed[NpcModel]] = {}
        self.spawns: list[Placed[SpawnModel]] = []
        self.zone_order: list[str] = []
        self.defined: dict[str, dict[str, str]] = {}
        self.broken: dict[str, set[str]] = {}
        self.unreadable: set[FileKind] = set()  # kinds of file of which one could not be read

    # reporting

    def error(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(Severity.ERROR, file, entry, field_, message))

    def warn(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(Severity.WARNING, file, entry, field_, message))

    # files and entries

    def read(self, source: SourceFile) -> None:
        """Take every table of one parsed file as entries, reporting what does not belong."""
        if source.data is None:
            self.world_broken |= source.kind == FileKind.WORLD
            self.unreadable.add(source.kind)
            return
        if source.kind == FileKind.TABLE:
            model = self.table_models.get(source.table)
            if model is None:
                return  # a table whose declaration was refused (reported)
            sections: tuple[Section, ...] = (Section(source.table, model, source.table, many=True),)
        else:
            sections = FILE_SECTIONS[source.kind]
        keys = [s.key for s in sections]
        for key in source.data:
            if key not in keys:
                hint = closest(key, keys)
                tables = ", ".join(f"[{s.key}]" if not s.many else f"[[{s.key}]]" for s in sections)
                advice = f"did you mean {hint!r}?" if hint else f"{source.kind} files hold {tables}"
                self.error(source.name, "", key, f"unknown table; {advice}")
        zone = ""
        for section in sections:
            value = source.data.get(section.key)
            if value is None:
                if section.required:
                    self.error(source.name, "", section.key, f"missing the [{section.key}] table")
                    self.world_broken |= source.kind == FileKind.WORLD
                    if section.key == "zone":
                        zone = self.zone_header(source, None, None)
                continue
            if section.many:
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    self.error(
                        source.name,
                        "",
                        section.key,
                        f"expected tables: write [[{section.key}]] before each entry",
                    )
                    continue
                for index, raw in enumerate(value, 1):
                    self.entry(source, section, index, raw, zone)
            elif not isinstance(value, dict):
                self.error(
                    source.name,
                    "",
                    section.key,
                    f"expected one table: write [{section.key}] (one per file)",
                )
                self.world_broken |= source.kind == FileKind.WORLD
                if section.key == "zone":
                    zone = self.zone_header(source, None, None)
            else:
                placed = self.entry(source, section, 1, value, zone)
                if section.key == "zone":
                    raw_id = value.get("id")
                    zone = self.zone_header(
                        source, placed, raw_id if isinstance(raw_id, str) else None
                    )

    def zone_header(
        self, source: SourceFile, placed: Placed[Any] | None, raw_id: str | None
    ) -> str:
        """Record a zone file's zone (or its absence); return the zone id its rooms belong to."""
        zone_id = placed.model.id if placed is not None else raw_id
        if zone_id is None:
            zone_id = f"<{source.name}>"  # unnamed: its rooms are still checked
        if placed is not None:
            stem = Path(source.name.partition(":")[2] or source.name).stem
            if stem != zone_id:
                self.warn(
                    source.name,
                    placed.entry,
                    "id",
                    f"zone {zone_id!r} is in a file named {stem + '.toml'!r}: name the file"
                    " after its zone",
                )
        zone = self.zones.setdefault(zone_id, PlacedZone(placed))
        if zone.placed is None:
            zone.placed = placed
        if zone_id not in self.zone_order:
            self.zone_order.append(zone_id)
        return zone_id

    def entry(
        self, source: SourceFile, section: Section, index: int, raw: Mapping[str, Any], zone: str
    ) -> Placed[Any] | None:
        raw_id = raw.get("id")
        has_id = "id" in section.model.model_fields
        if section.label == "world":
            label = "world"
        elif has_id and isinstance(raw_id, str) and raw_id:
            label = f"{section.label} {raw_id}"
        else:
            label = f"{section.label} #{index}"
        try:
            model = section.model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                self.problems.append(_schema_problem(source.name, label, section.model, raw, err))
            if isinstance(raw_id, str):
                if section.label == "subzone":
                    self.zones.setdefault(zone, PlacedZone(None)).broken_subzones.add(raw_id)
                else:
                    self.broken.setdefault(section.label, set()).add(raw_id)
            self.world_broken |= section.label == "world"
            return None
        placed: Placed[Any] = Placed(model, source.name, label, zone)
        if source.kind == FileKind.TABLE:
            if has_id and not self.unique(section.label, str(raw_id), source.name, label):
                return None
            self.tables[section.key].append(placed)
        elif isinstance(model, WorldModel):
            self.worlds.append(placed)
        elif isinstance(model, SubzoneModel):
            subzones = self.zones.setdefault(zone, PlacedZone(None)).subzones
            if model.id in subzones:
                self.error(
                    source.name, label, "id", f"subzone {model.id!r} is declared twice in this zone"
                )
            else:
                subzones[model.id] = placed
        elif isinstance(model, SpawnModel):
            self.spawns.append(placed)
        elif isinstance(model, ZoneModel | RoomModel | DoorModel | ItemModel | NpcModel):
            if not self.unique(section.label, model.id, source.name, label):
                return None  # a duplicate: reported, and the first definition stands
            if isinstance(model, RoomModel):
                self.rooms[model.id] = placed
            elif isinstance(model, DoorModel):
                self.doors[model.id] = placed
            elif isinstance(model, ItemModel):
                self.items[model.id] = placed
            elif isinstance(model, NpcModel):
                self.npcs[model.id] = placed
        return placed

    def unique(self, kind: str, id_: str, file: str, entry: str) -> bool:
        seen = self.defined.setdefault(kind, {})
        if id_ in seen:
            where = "earlier in this file" if seen[id_] == file else f"in {seen[id_]}"
            self.error(file, entry, "id", f"duplicate {kind} id {id_!r}: also defined {where}")
            return False
        seen[id_] = file
        return True

    # what was read

    def may_be_missing(self, kind: str, id_: str) -> bool:
        """False when ``id_`` may well exist in a broken entry or an unreadable file: a problem
        already reported, which must not be reported again as every reference to it."""
        if id_ in self.broken.get(kind, ()):
            return False
        return _FILE_OF_KIND.get(kind, FileKind.ZONE) not in self.unreadable

    def map_is_whole(self) -> bool:
        """True when every room and zone file was read: only then can the map be judged."""
        return not self.broken.get("room") and FileKind.ZONE not in self.unreadable


# --- pydantic errors as problems ---------------------------------------------------------------


def _schema_problem(
    file: str, entry: str, model: type[BaseModel], raw: Mapping[str, Any], err: Any
) -> Problem:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    kind: str = err["type"]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    where = _field_name(loc, raw)
    if kind == "content_rule":
        where = f"{where}.{ctx['field']}" if where else str(ctx["field"])
    if kind == "missing":
        message = "missing (required)"
    elif kind == "extra_forbidden":
        known = _fields_at(model, loc[:-1])
        near = closest(str(loc[-1]), known)
        message = "unknown key; " + (
            f"did you mean {near!r}?" if near else f"the keys here are {', '.join(known)}"
        )
    elif kind.startswith("content_"):
        message = str(err["msg"])
    elif kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        near = closest(str(err["input"]), choices)
        message = f"{err['msg']}, not {_show(err['input'])}" + (
            f"; did you mean {near!r}?" if near else ""
        )
    else:
        message = f"{err['msg']} (got {_show(err['input'])})"
    return Problem(Severity.ERROR, file, entry, where, message)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field_name(loc: Sequence[str | int], raw: Any) -> str:
    """A pydantic location as builders read it: ``containers.desk.contents#2.template``.

    List elements are named by their ``id`` when they have one, else by position (``#1`` is the
    first); the path stops where the data stops being a table (an exit written as a room id).
    """
    name = ""
    node = raw
    for part in loc:
        if part == "[key]":
            break
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                break
            node = node[part]
            element_id = node.get("id") if isinstance(node, dict) else None
            if isinstance(element_id, str) and element_id:
                name += f".{element_id}"
            else:
                name += f"#{part + 1}"
        else:
            if not isinstance(node, dict):
                break
            name += f".{part}" if name else part
            node = node.get(part)
    return name


def _fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model allows at ``loc`` (for suggesting the key a typo meant)."""
    node: Any = model
    for part in loc:
        node = _unwrap(node)
        if isinstance(node, type) and issubclass(node, BaseModel):
            fields = node.model_fields
            if not isinstance(part, str) or part not in fields:
                return []
            node = fields[part].annotation
        elif typing.get_origin(node) is list:
            node = typing.get_args(node)[0]
        elif typing.get_origin(node) is dict:
            node = typing.get_args(node)[1]
        else:
            return []
    node = _unwrap(node)
    if isinstance(node, type) and issubclass(node, BaseModel):
        return list(node.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
