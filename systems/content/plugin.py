"""The core plugin's world builder: read the content folders and build the world from them.

Runs once, when the server builds its world before the first tick: the only time content files
are read. A world whose content has any error is refused with the full report (a ``SetupError``,
the same text ``kadath check-world`` prints); it is never built in part.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from engine.config import Config
from engine.plugins import PluginKit, Registry, SetupError
from engine.world import World
from systems.content.build import build_world
from systems.content.loader import ContentCheck, ContentSource, check_files, read_sources
from systems.content.reading import SourceFile
from systems.content.report import Problem

__all__ = [
    "MissingWorldFolder",
    "build_from_content",
    "build_from_files",
    "content_sources",
    "register",
    "require_world_folder",
]

log = logging.getLogger("kadath.content")


def content_sources(
    config: Config, content_dirs: Sequence[tuple[str, Path]]
) -> list[ContentSource]:
    """The world's data folder (``world.data_dir``), then each plugin's content folder."""
    return [
        ContentSource(config.world.data_path),
        *(ContentSource(Path(path), plugin) for plugin, path in content_dirs),
    ]


def build_from_content(world: World, registry: Registry) -> None:
    """Load the content of the world and of every plugin, as one world, and build it.

    Warnings are logged; errors raise :class:`systems.content.loader.ContentError` (a
    ``SetupError``) carrying the whole report.
    """
    config = registry.config if isinstance(registry.config, Config) else Config()
    require_world_folder(config)
    sources = content_sources(config, registry.content_dirs)
    build_from_files(world, registry, *read_sources(sources, registry.content_tables))


def build_from_files(
    world: World,
    registry: Registry,
    files: Sequence[SourceFile],
    problems: Sequence[Problem] = (),
) -> ContentCheck:
    """Check parsed data files (the world's, then the plugins') as one world and build it, or
    raise :class:`systems.content.loader.ContentError` with the whole report. ``problems`` were
    found while reading them. Warnings are logged."""
    check = check_files(files, problems=problems, tables=registry.content_tables)
    for problem in check.report.warnings:
        log.warning("%s", problem)
    content = check.require()
    build_world(world, content)
    log.info(
        "built world %s: %d zones, %d rooms, %d item and %d NPC templates (%s)",
        repr(check.world_name) if check.world_name else "(unnamed)",
        len(content.zones),
        len(content.rooms),
        len(content.items),
        len(content.npcs),
        check.report.summary(),
    )
    return check


class MissingWorldFolder(SetupError):
    """The configured world folder is not there: a one-line error, not a content report."""


def require_world_folder(config: Config) -> Path:
    """The world's folder, or :class:`MissingWorldFolder` saying which setting named it."""
    folder = config.world.data_path
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise MissingWorldFolder(
            f"the world's data folder {folder} {what} (world.data_dir, or --data; leave it"
            " empty for the bundled world)"
        )
    return folder


def register(kit: PluginKit) -> None:
    """Register the world builder that loads content files."""
    kit.world_builder(build_from_content)
