"""Load and check world content: folders of TOML files in, ``Content`` or every problem out, never
a partly built world. Runs each step's module in turn (reading, entries, reference and map checks,
conversion), at start-up or from ``kadath check-world``: never on the tick."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from systems.content.convert import to_content
from systems.content.entries import Entries
from systems.content.map_checks import check_map, check_world
from systems.content.reading import WORLD_FILE, ContentSource, SourceFile, read_source
from systems.content.reference_checks import check_references
from systems.content.report import ContentCheck, ContentError, Problem, Report, Severity

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


def check_files(files: Sequence[SourceFile], *, problems: Sequence[Problem] = ()) -> ContentCheck:
    """Check parsed data files as one world and convert them to :class:`Content`.

    Pure: the same files always give the same report. ``problems`` (found while reading) are
    included in the report. The content is given only when there is no error.
    """
    entries = Entries()
    entries.problems.extend(problems)
    for source in files:
        entries.read(source)
    check_references(entries)
    start, world_name = check_world(entries)
    check_map(entries, start)
    report = Report(tuple(entries.problems), len(files))
    content = to_content(entries, start) if report.ok else None
    return ContentCheck(report, content, world_name)
