"""Reading content folders: every data file found, parsed from TOML, in a fixed order. The only
I/O of the content checks, run at start-up or from ``kadath check-world``, never on the tick; what
a file means is judged elsewhere."""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systems.content.report import Problem, Severity
from systems.content.schema import FileKind

__all__ = ["FOLDERS", "WORLD_FILE", "ContentSource", "SourceFile", "read_source"]

#: The file of a content folder that names the world and its start room.
WORLD_FILE = "world.toml"
#: The sub-folders a content folder may have, and what each holds.
FOLDERS: dict[str, FileKind] = {
    "zones": FileKind.ZONE,
    "items": FileKind.ITEMS,
    "npcs": FileKind.NPCS,
}


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
    table: str = ""  # for a file of a plugin's content table: the table's name


def read_source(
    source: ContentSource, tables: Collection[str] = ()
) -> tuple[list[SourceFile], list[Problem]]:
    """Read and parse every data file of one folder, in a fixed order (world file, zones, items,
    NPCs, then the files of each content table in ``tables``, by table name; by name within
    each). Unreadable files and TOML syntax errors become problems; files where no data file
    belongs are warned about, never silently ignored."""
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
    found: list[tuple[int, str, str, FileKind]] = []
    table_names = sorted(set(tables) - set(FOLDERS))
    for path in sorted(root.rglob("*.toml")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        parts = relative.parts
        if parts == (WORLD_FILE,):
            found.append((0, "", relative.as_posix(), FileKind.WORLD))
        elif len(parts) == 2 and parts[0] in FOLDERS:
            kind = FOLDERS[parts[0]]
            found.append((1 + list(FOLDERS).index(parts[0]), "", relative.as_posix(), kind))
        elif len(parts) == 2 and parts[0] in table_names:
            order = 1 + len(FOLDERS) + table_names.index(parts[0])
            found.append((order, parts[0], relative.as_posix(), FileKind.TABLE))
        else:
            where = f"{WORLD_FILE}, zones/*.toml, items/*.toml, npcs/*.toml" + "".join(
                f", {name}/*.toml" for name in table_names
            )
            problems.append(
                Problem(
                    Severity.WARNING,
                    source.label(relative.as_posix()),
                    "",
                    "",
                    f"not read: data files are {where} (a plugin's content table is read only"
                    " while the plugin is installed)",
                )
            )
    for _, table, relative_name, kind in sorted(found):
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
        files.append(SourceFile(name, kind, data, table))
    return files, problems
