"""Load and check world content: folders of TOML files in, ``Content`` or every problem out, never
a partly built world. Runs each step's module in turn (reading, entries, reference and map checks,
conversion), at start-up or from ``kadath check-world``: never on the tick."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from systems.content.convert import to_content
from systems.content.entries import Entries
from systems.content.map_checks import check_map, check_world
from systems.content.reading import FOLDERS, WORLD_FILE, ContentSource, SourceFile, read_source
from systems.content.reference_checks import check_references
from systems.content.report import ContentCheck, ContentError, Problem, Report, Severity
from systems.content.schema import FILE_SECTIONS, Entry

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
    "read_sources",
]


#: Names a plugin's content table may not take: the world's own folders and kinds of entry.
RESERVED_TABLE_NAMES = frozenset(
    {*FOLDERS, WORLD_FILE.removesuffix(".toml")}
    | {section.key for sections in FILE_SECTIONS.values() for section in sections}
    | {section.label for sections in FILE_SECTIONS.values() for section in sections}
)


def check_content(
    sources: Iterable[ContentSource | str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    tables: Mapping[str, type[Any]] | None = None,
) -> ContentCheck:
    """Read and check content folders as one world; the first is the world's own folder, the
    others (plugins' folders) add to it, and ids must be unique across all of them. ``tables``
    are the content tables the plugins declare (name: model), read from every folder."""
    if isinstance(sources, str | os.PathLike):
        sources = [sources]  # one folder given as such, not as the characters of its name
    files, problems = read_sources(sources, tables or {})
    return check_files(files, problems=problems, tables=tables)


def read_sources(
    sources: Iterable[ContentSource | str | os.PathLike[str]], tables: Collection[str] = ()
) -> tuple[list[SourceFile], list[Problem]]:
    """Every data file of the folders, in order (see :func:`read_source`), and the problems
    met reading them; ``tables`` names the content tables to read."""
    files: list[SourceFile] = []
    problems: list[Problem] = []
    for source in sources:
        if not isinstance(source, ContentSource):
            source = ContentSource(Path(source))
        read, found = read_source(source, tables)
        files += read
        problems += found
    return files, problems


def check_files(
    files: Sequence[SourceFile],
    *,
    problems: Sequence[Problem] = (),
    tables: Mapping[str, type[Any]] | None = None,
) -> ContentCheck:
    """Check parsed data files as one world and convert them to :class:`Content`.

    Pure: the same files always give the same report. ``problems`` (found while reading) are
    included in the report. The content is given only when there is no error.
    """
    declared: dict[str, type[Entry]] = {}
    refused: list[Problem] = []
    for name, model in (tables or {}).items():
        if name in RESERVED_TABLE_NAMES:
            refused.append(
                Problem(
                    Severity.ERROR,
                    f"{name}/",
                    "",
                    "",
                    f"a plugin declares content table {name!r}, a name the world's own files use:"
                    " the plugin must give its table another name",
                )
            )
        elif not (isinstance(model, type) and issubclass(model, Entry)):
            refused.append(
                Problem(
                    Severity.ERROR,
                    f"{name}/",
                    "",
                    "",
                    f"the model of content table {name!r} must subclass ContentModel"
                    " (engine.api): strict, no unknown keys, frozen",
                )
            )
        else:
            declared[name] = model
    entries = Entries(declared)
    entries.problems.extend(refused)
    entries.problems.extend(problems)
    for source in files:
        entries.read(source)
    check_references(entries)
    start, world_name = check_world(entries)
    check_map(entries, start)
    report = Report(tuple(entries.problems), len(files))
    content = to_content(entries, start) if report.ok else None
    return ContentCheck(report, content, world_name)
