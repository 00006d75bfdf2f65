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
from engine.plugins import PluginKit, Registry
from engine.world import World
from systems.content.build import build_world
from systems.content.loader import ContentSource, check_content

__all__ = ["build_from_content", "content_sources", "register"]

log = logging.getLogger("kadath.content")


def content_sources(
    config: Config, content_dirs: Sequence[tuple[str, Path]]
) -> list[ContentSource]:
    """The world's data folder (``world.data_dir``), then each plugin's content folder."""
    return [
        ContentSource(Path(config.world.data_dir)),
        *(ContentSource(Path(path), plugin) for plugin, path in content_dirs),
    ]


def build_from_content(world: World, registry: Registry) -> None:
    """Load the content of the world and of every plugin, as one world, and build it.

    Warnings are logged; errors raise :class:`systems.content.loader.ContentError` (a
    ``SetupError``) carrying the whole report.
    """
    config = registry.config if isinstance(registry.config, Config) else Config()
    check = check_content(content_sources(config, registry.content_dirs))
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


def register(kit: PluginKit) -> None:
    """Register the world builder that loads content files."""
    kit.world_builder(build_from_content)
