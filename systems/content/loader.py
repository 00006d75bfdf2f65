"""Load and check world content: folders of TOML files in, ``Content`` or every problem out.

:func:`read_source` is the only I/O (it reads and parses files); :func:`check_files` is a pure
function of the parsed data, shared by ``kadath check-world``, the world builder and the tests, so
all three see the same report. Loading runs once, at start-up or from the command line: never on
the tick. The result holds only the frozen dataclasses of :mod:`components.content`, never a
pydantic object, and is never partly built: any error means no content at all.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from components.content import (
    Content,
    DoorDef,
    ExitDef,
    ItemKind,
    ItemStack,
    ItemTemplate,
    NpcTemplate,
    RoomContainerDef,
    RoomDef,
    SpawnRule,
    ZoneDef,
)
from components.items import LockState
from components.place import DIRECTIONS, parse_direction
from engine.plugins import SetupError
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
    StackModel,
    SubzoneModel,
    WorldModel,
    ZoneModel,
    closest,
)

__all__ = [
    "WORLD_FILE",
    "ContentCheck",
    "ContentError",
    "ContentSource",
    "Problem",
    "Report",
    "Severity",
    "SourceFile",
    "check_content",
    "check_files",
    "read_source",
]

#: The file of a content folder that names the world and its start room.
WORLD_FILE = "world.toml"
#: The sub-folders a content folder may have, and what each holds.
FOLDERS: dict[str, FileKind] = {
    "zones": FileKind.ZONE,
    "items": FileKind.ITEMS,
    "npcs": FileKind.NPCS,
}


# --- the report --------------------------------------------------------------------------------


class Severity(StrEnum):
    ERROR = "error"  # the world cannot be built: the server refuses to start
    WARNING = "warning"  # the world can be built, but a builder probably made a mistake


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the content, located as precisely as the data allows.

    ``file`` is the path relative to its content folder (prefixed ``plugin:`` for a plugin's
    folder), ``entry`` names the entry (``room arkham.square``, ``spawn #2``), ``field`` the key
    within it (``exits.n``, ``items#2.template``); each is empty when it does not apply.
    """

    severity: Severity
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join([*(p for p in (self.file, self.entry, self.field) if p), self.message])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class Report:
    """Every problem found in one check, errors and warnings, and how many files were read."""

    problems: tuple[Problem, ...] = ()
    files: int = 0

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when the world can be built (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        return (
            f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"
            f" in {_plural(self.files, 'file')}"
        )

    def lines(self) -> list[str]:
        """Errors, then warnings, each group by file in the order found; then the summary."""
        listed = [f"error: {p}" for p in _by_file(self.errors)]
        listed += [f"warning: {p}" for p in _by_file(self.warnings)]
        return [*listed, self.summary()]

    def format(self) -> str:
        return "\n".join(self.lines())


def _by_file(problems: Iterable[Problem]) -> list[Problem]:
    order: dict[str, int] = {}
    for p in problems:
        order.setdefault(p.file, len(order))
    return sorted(problems, key=lambda p: order[p.file])


class ContentError(SetupError):
    """The content has errors; ``report`` has every problem, and the message is its text."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(
            "the world's content has errors (`kadath check-world` shows the same report):\n"
            + report.format()
        )

    def __reduce__(self) -> tuple[type[ContentError], tuple[Report]]:
        return (type(self), (self.report,))


@dataclass(frozen=True, slots=True)
class ContentCheck:
    """The outcome of a check: the report, and the content when there is no error."""

    report: Report
    content: Content | None = None
    world_name: str = ""

    def require(self) -> Content:
        """The content, or :class:`ContentError` with the whole report if there is any error."""
        if self.content is None or not self.report.ok:
            raise ContentError(self.report)
        return self.content


# --- reading files (the only I/O) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContentSource:
    """A content folder: the world's own (``plugin`` empty) or one a plugin registered."""

    path: Path
    plugin: str = ""

    def label(self, relative: str) -> str:
        """How reports name a file of this folder."""
        return f"{self.plugin}:{relative}" if self.plugin else relative


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One parsed data file. ``data`` is None when it could not be read (already reported)."""

    name: str
    kind: FileKind
    data: Mapping[str, Any] | None


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_source(source: ContentSource) -> tuple[list[SourceFile], list[Problem]]:
    """Read and parse every data file of one folder, in a fixed order (world file, zones, items,
    NPCs; by name within each). Unreadable files and TOML syntax errors become problems; files
    where no data file belongs are warned about, never silently ignored."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    root = source.path
    if not root.is_dir():
        what = "the world's data folder" if not source.plugin else "content folder"
        hint = " (set world.data_dir, or --data)" if not source.plugin else ""
        problems.append(
            Problem(Severity.ERROR, source.label(str(root)), "", "", f"{what} does not exist{hint}")
        )
        return files, problems
    found: list[tuple[int, str, FileKind]] = []
    for path in sorted(root.rglob("*.toml")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        parts = relative.parts
        if parts == (WORLD_FILE,):
            found.append((0, relative.as_posix(), FileKind.WORLD))
        elif len(parts) == 2 and parts[0] in FOLDERS:
            kind = FOLDERS[parts[0]]
            found.append((1 + list(FOLDERS).index(parts[0]), relative.as_posix(), kind))
        else:
            problems.append(
                Problem(
                    Severity.WARNING,
                    source.label(relative.as_posix()),
                    "",
                    "",
                    f"not read: data files are {WORLD_FILE}, zones/*.toml, items/*.toml and"
                    " npcs/*.toml",
                )
            )
    for _, relative_name, kind in sorted(found):
        name = source.label(relative_name)
        try:
            with (root / relative_name).open("rb") as stream:
                data = tomllib.load(stream)
        except tomllib.TOMLDecodeError as exc:
            problems.append(Problem(Severity.ERROR, name, "", "", f"TOML syntax error: {exc}"))
            data = None
        except UnicodeDecodeError:
            problems.append(Problem(Severity.ERROR, name, "", "", "not UTF-8 text"))
            data = None
        except OSError as exc:
            problems.append(Problem(Severity.ERROR, name, "", "", f"cannot read: {exc.strerror}"))
            data = None
        files.append(SourceFile(name, kind, data))
    return files, problems


def check_content(
    sources: Iterable[ContentSource | str | os.PathLike[str]] | str | os.PathLike[str],
) -> ContentCheck:
    """Read and check content folders as one world; the first is the world's own folder, the
    others (plugins' folders) add to it, and ids must be unique across all of them."""
    if isinstance(sources, str | os.PathLike):
        sources = [sources]  # one folder given as such, not as the characters of its name
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for source in sources:
        if not isinstance(source, ContentSource):
            source = ContentSource(Path(source))
        read, found = read_source(source)
        files += read
        problems += found
    return check_files(files, problems=problems)


# --- checking (pure) ---------------------------------------------------------------------------

#: Where entries of each kind are defined, to know which references a broken file may explain.
_FILE_OF_KIND = {"item": FileKind.ITEMS, "npc": FileKind.NPCS}

M = TypeVar("M", bound=Entry)


@dataclass(slots=True)
class _Placed(Generic[M]):
    """A valid entry and where it came from."""

    model: M
    file: str
    entry: str
    zone: str = ""


@dataclass(slots=True)
class _Zone:
    placed: _Placed[ZoneModel] | None  # None: its [zone] table was broken
    subzones: dict[str, _Placed[SubzoneModel]] = field(default_factory=dict)
    broken_subzones: set[str] = field(default_factory=set)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.worlds: list[_Placed[WorldModel]] = []
        self.world_broken = False
        self.zones: dict[str, _Zone] = {}
        self.rooms: dict[str, _Placed[RoomModel]] = {}
        self.doors: dict[str, _Placed[DoorModel]] = {}
        self.items: dict[str, _Placed[ItemModel]] = {}
        self.npcs: dict[str, _Placed[NpcModel]] = {}
        self.spawns: list[_Placed[SpawnModel]] = []
        self.zone_order: list[str] = []
        self.defined: dict[str, dict[str, str]] = {}
        self.broken: dict[str, set[str]] = {}
        self.world_name = ""
        self.unreadable: set[FileKind] = set()  # kinds of file of which one could not be read

    # reporting

    def error(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(Severity.ERROR, file, entry, field_, message))

    def warn(self, file: str, entry: str, field_: str, message: str) -> None:
        self.problems.append(Problem(Severity.WARNING, file, entry, field_, message))

    # files and entries

    def read(self, source: SourceFile) -> None:
        if source.data is None:
            self.world_broken |= source.kind == FileKind.WORLD
            self.unreadable.add(source.kind)
            return
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
        self, source: SourceFile, placed: _Placed[Any] | None, raw_id: str | None
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
        zone = self.zones.setdefault(zone_id, _Zone(placed))
        if zone.placed is None:
            zone.placed = placed
        if zone_id not in self.zone_order:
            self.zone_order.append(zone_id)
        return zone_id

    def entry(
        self, source: SourceFile, section: Section, index: int, raw: Mapping[str, Any], zone: str
    ) -> _Placed[Any] | None:
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
                    self.zones.setdefault(zone, _Zone(None)).broken_subzones.add(raw_id)
                else:
                    self.broken.setdefault(section.label, set()).add(raw_id)
            self.world_broken |= section.label == "world"
            return None
        placed: _Placed[Any] = _Placed(model, source.name, label, zone)
        if isinstance(model, WorldModel):
            self.worlds.append(placed)
        elif isinstance(model, SubzoneModel):
            subzones = self.zones.setdefault(zone, _Zone(None)).subzones
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

    # references between entries

    def missing(
        self, file: str, entry: str, field_: str, kind: str, id_: str, known: Iterable[str]
    ) -> None:
        """Report a reference to an entry that does not exist (unless it exists but is broken)."""
        if not self.may_be_missing(kind, id_):
            return
        what = {"item": "item template", "npc": "NPC template"}.get(kind, kind)
        hint = closest(id_, known)
        self.error(
            file,
            entry,
            field_,
            f"unknown {what} {id_!r}" + (f"; did you mean {hint!r}?" if hint else ""),
        )

    def may_be_missing(self, kind: str, id_: str) -> bool:
        """False when ``id_`` may well exist in a broken entry or an unreadable file: a problem
        already reported, which must not be reported again as every reference to it."""
        if id_ in self.broken.get(kind, ()):
            return False
        return _FILE_OF_KIND.get(kind, FileKind.ZONE) not in self.unreadable

    def map_is_whole(self) -> bool:
        """True when every room and zone file was read: only then can the map be judged."""
        return not self.broken.get("room") and FileKind.ZONE not in self.unreadable

    def stacks(self, at: _Placed[Any], where: str, stacks: Sequence[StackModel]) -> None:
        for i, stack in enumerate(stacks, 1):
            item = self.items.get(stack.template)
            if item is None:
                self.missing(
                    at.file, at.entry, f"{where}#{i}.template", "item", stack.template, self.items
                )
            elif stack.quantity > 1 and not item.model.stackable:
                self.error(
                    at.file,
                    at.entry,
                    f"{where}#{i}.quantity",
                    f"{stack.quantity} of {stack.template!r}, which is not stackable: list it"
                    " once per item, or make its template stackable",
                )

    def key(self, at: _Placed[Any], key: str) -> None:
        if key and key not in self.items:
            self.missing(at.file, at.entry, "key", "item", key, self.items)

    def check_references(self) -> None:
        for room in self.rooms.values():
            self.check_room(room)
        for door in self.doors.values():
            self.key(door, door.model.key)
            if door.model.locked and not door.model.key:
                self.warn(
                    door.file, door.entry, "key", "locked with no key: no one can ever unlock it"
                )
        for item in self.items.values():
            self.key(item, item.model.key)
            if item.model.lock == LockState.LOCKED and not item.model.key:
                self.warn(
                    item.file, item.entry, "key", "locked with no key: no one can ever unlock it"
                )
        for npc in self.npcs.values():
            self.stacks(npc, "carries", npc.model.carries)
        for spawn in self.spawns:
            if spawn.model.npc not in self.npcs:
                self.missing(spawn.file, spawn.entry, "npc", "npc", spawn.model.npc, self.npcs)
            if spawn.model.room not in self.rooms:
                self.missing(spawn.file, spawn.entry, "room", "room", spawn.model.room, self.rooms)

    def check_room(self, room: _Placed[RoomModel]) -> None:
        model = room.model
        zone = self.zones.get(room.zone)
        if (
            model.subzone
            and zone is not None
            and zone.placed is not None
            and model.subzone not in zone.subzones
            and model.subzone not in zone.broken_subzones
        ):
            hint = closest(model.subzone, zone.subzones)
            self.error(
                room.file,
                room.entry,
                "subzone",
                f"subzone {model.subzone!r} is not declared in [[subzones]] of zone"
                f" {room.zone!r}" + (f"; did you mean {hint!r}?" if hint else ""),
            )
        for direction, exit_ in model.exits.items():
            where = f"exits.{direction}"
            if direction not in DIRECTIONS:
                near = parse_direction(direction) or closest(direction, DIRECTIONS)
                hint = f"; did you mean {near!r}?" if near else ""
                self.error(
                    room.file,
                    room.entry,
                    where,
                    f"{direction!r} is not a direction: use one of {' '.join(DIRECTIONS)}{hint}",
                )
            if exit_.to not in self.rooms and self.may_be_missing("room", exit_.to):
                hint = closest(exit_.to, self.rooms)
                self.error(
                    room.file,
                    room.entry,
                    where,
                    f"exit leads to missing room {exit_.to!r}"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
            if exit_.door and exit_.door not in self.doors:
                self.missing(room.file, room.entry, f"{where}.door", "door", exit_.door, self.doors)
        self.stacks(room, "items", model.items)
        seen: set[str] = set()
        for fixture in model.containers:
            where = f"containers.{fixture.id}"
            if fixture.id in seen:
                self.error(
                    room.file,
                    room.entry,
                    f"{where}.id",
                    f"two containers are called {fixture.id!r}",
                )
            seen.add(fixture.id)
            template = self.items.get(fixture.template)
            if template is None:
                self.missing(
                    room.file, room.entry, f"{where}.template", "item", fixture.template, self.items
                )
            self.stacks(room, f"{where}.contents", fixture.contents)
            if template is None:
                continue
            t = template.model
            if t.kind != ItemKind.CONTAINER:
                self.error(
                    room.file,
                    room.entry,
                    f"{where}.template",
                    f"item template {t.id!r} is not a container (its kind is {str(t.kind)!r})",
                )
                continue
            if len(fixture.contents) > t.capacity:
                self.error(
                    room.file,
                    room.entry,
                    f"{where}.contents",
                    f"{len(fixture.contents)} stacks in a container that holds {t.capacity}",
                )
            lock = t.lock if fixture.lock is None else fixture.lock
            closed = t.closed if fixture.closed is None else fixture.closed
            if lock != LockState.UNLOCKED and not closed:
                self.error(
                    room.file, room.entry, f"{where}.closed", f"a {lock} container must be closed"
                )
            if lock == LockState.LOCKED and not t.key:
                self.warn(
                    room.file,
                    room.entry,
                    f"{where}.lock",
                    f"locked, but template {t.id!r} has no key: no one can ever unlock it",
                )

    # the map as a whole

    def check_world(self) -> str:
        """Check the world files; return the start room (empty if unusable)."""
        start, name = "", ""
        setters: dict[str, _Placed[WorldModel]] = {}
        for world in self.worlds:
            for key, value in (("start_room", world.model.start_room), ("name", world.model.name)):
                if not value:
                    continue
                if key in setters:
                    self.error(
                        world.file, world.entry, key, f"{key} is already set in {setters[key].file}"
                    )
                    continue
                setters[key] = world
                if key == "start_room":
                    start = value
                else:
                    name = value
        self.world_name = name
        if "start_room" not in setters:
            if not self.world_broken:
                file = self.worlds[0].file if self.worlds else WORLD_FILE
                self.error(
                    file,
                    "world",
                    "start_room",
                    'missing: set [world] start_room = "<room id>" in world.toml: where new'
                    " characters wake and the dead return",
                )
            return ""
        world = setters["start_room"]
        if start not in self.rooms:
            if self.may_be_missing("room", start):
                hint = closest(start, self.rooms)
                self.error(
                    world.file,
                    world.entry,
                    "start_room",
                    f"start room {start!r} does not exist"
                    + (f"; did you mean {hint!r}?" if hint else ""),
                )
            return ""
        return start

    def check_map(self, start: str) -> None:
        rooms = self.rooms
        for room in rooms.values():
            for direction, exit_ in room.model.exits.items():
                target = rooms.get(exit_.to)
                if target is None or exit_.one_way:
                    continue
                if not any(back.to == room.model.id for back in target.model.exits.values()):
                    self.warn(
                        room.file,
                        room.entry,
                        f"exits.{direction}",
                        f"no way back: {exit_.to!r} has no exit leading to {room.model.id!r}"
                        " (add one, or mark this exit one_way = true)",
                    )
        if not self.map_is_whole():
            return  # a broken room may be the missing link: judge the map once it is fixed
        self.check_doors()
        if not start:
            return
        reached = {start}
        queue = deque([start])
        while queue:
            for exit_ in rooms[queue.popleft()].model.exits.values():
                if exit_.to in rooms and exit_.to not in reached:
                    reached.add(exit_.to)
                    queue.append(exit_.to)
        by_zone: dict[str, list[_Placed[RoomModel]]] = {}
        for room in rooms.values():
            by_zone.setdefault(room.zone, []).append(room)
        for zone_id, members in by_zone.items():
            lost = [room for room in members if room.model.id not in reached]
            if lost and len(lost) == len(members) and len(members) > 1:
                zone = self.zones.get(zone_id)
                placed = zone.placed if zone is not None else None
                self.warn(
                    placed.file if placed else lost[0].file,
                    placed.entry if placed else f"zone {zone_id}",
                    "",
                    f"none of its {len(members)} rooms can be reached from the start room"
                    f" {start!r}",
                )
                continue
            for room in lost:
                self.warn(
                    room.file,
                    room.entry,
                    "",
                    f"unreachable: no way leads here from the start room {start!r}",
                )

    def check_doors(self) -> None:
        uses: dict[str, list[tuple[_Placed[RoomModel], str]]] = {door: [] for door in self.doors}
        for room in self.rooms.values():
            for direction, exit_ in room.model.exits.items():
                if exit_.door in uses:
                    uses[exit_.door].append((room, direction))
        for door_id, used in uses.items():
            door = self.doors[door_id]
            if not used:
                self.warn(door.file, door.entry, "", "no exit goes through this door")
                continue
            pairs = {frozenset((r.model.id, r.model.exits[d].to)) for r, d in used}
            if len(pairs) > 1:
                joined = "; ".join(f"{r.model.id} {d} -> {r.model.exits[d].to}" for r, d in used)
                self.warn(
                    door.file,
                    door.entry,
                    "",
                    f"a door joins one pair of rooms, but exits through it join several: {joined}",
                )
                continue
            for room, direction in used:
                exit_ = room.model.exits[direction]
                target = self.rooms.get(exit_.to)
                if target is None or exit_.to == room.model.id:
                    continue
                backs = [(d, e) for d, e in target.model.exits.items() if e.to == room.model.id]
                if backs and not any(e.door == door_id for _, e in backs):
                    d, e = backs[0]
                    through = f"door {e.door!r}" if e.door else "no door"
                    self.warn(
                        room.file,
                        room.entry,
                        f"exits.{direction}.door",
                        f"door {door_id!r} is not on the way back: {exit_.to!r} exits.{d}"
                        f" leads here through {through}",
                    )

    # conversion

    def content(self, start: str) -> Content:
        zones = []
        for zone_id in self.zone_order:
            zone = self.zones[zone_id]
            if zone.placed is None:
                continue
            z = zone.placed.model
            subzones = tuple((s.model.id, s.model.name) for s in zone.subzones.values())
            zones.append(ZoneDef(z.id, z.name, z.description, subzones))
        return Content(
            zones=tuple(zones),
            rooms=tuple(_room(r.model, r.zone) for r in self.rooms.values()),
            doors=tuple(
                DoorDef(m.id, m.name, m.closed, m.locked, m.key)
                for m in (d.model for d in self.doors.values())
            ),
            items=tuple(_item(i.model) for i in self.items.values()),
            npcs=tuple(_npc(n.model) for n in self.npcs.values()),
            spawns=tuple(
                SpawnRule(m.npc, m.room, m.max, m.respawn_s) for m in (s.model for s in self.spawns)
            ),
            start_room=start,
        )


def check_files(files: Sequence[SourceFile], *, problems: Sequence[Problem] = ()) -> ContentCheck:
    """Check parsed data files as one world and convert them to :class:`Content`.

    Pure: the same files always give the same report. ``problems`` (found while reading) are
    included in the report. The content is given only when there is no error.
    """
    checker = _Checker()
    checker.problems.extend(problems)
    for source in files:
        checker.read(source)
    checker.check_references()
    start = checker.check_world()
    checker.check_map(start)
    report = Report(tuple(checker.problems), len(files))
    content = checker.content(start) if report.ok else None
    return ContentCheck(report, content, checker.world_name)


def _stacks(stacks: Sequence[StackModel]) -> tuple[ItemStack, ...]:
    return tuple(ItemStack(s.template, s.quantity) for s in stacks)


def _room(m: RoomModel, zone: str) -> RoomDef:
    order = {d: i for i, d in enumerate(DIRECTIONS)}
    exits = sorted(m.exits.items(), key=lambda kv: order.get(kv[0], len(order)))
    return RoomDef(
        id=m.id,
        zone=zone,
        name=m.name,
        description=m.description,
        subzone=m.subzone,
        environment=m.environment,
        flags=frozenset(m.flags),
        exits=tuple(ExitDef(d, e.to, e.door, e.one_way) for d, e in exits),
        containers=tuple(
            RoomContainerDef(c.id, c.template, _stacks(c.contents), c.closed, c.lock)
            for c in m.containers
        ),
        items=_stacks(m.items),
    )


def _item(m: ItemModel) -> ItemTemplate:
    return ItemTemplate(
        id=m.id,
        name=m.name,
        keywords=tuple(m.keywords),
        description=m.description,
        kind=m.kind,
        stackable=m.stackable,
        portable=m.portable,
        slot=m.slot,
        weight=m.weight,
        capacity=m.capacity,
        closed=m.closed,
        lock=m.lock,
        key=m.key,
        stats=tuple(m.stats.items()),
        plural=m.plural,
    )


def _npc(m: NpcModel) -> NpcTemplate:
    return NpcTemplate(
        id=m.id,
        name=m.name,
        keywords=tuple(m.keywords),
        description=m.description,
        behaviour=m.behaviour,
        category=m.category,
        dp=m.dp,
        stats=tuple(m.stats.items()),
        carries=_stacks(m.carries),
    )


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
