"""``kadath check-world``: check the world's content files and list every problem at once.

A thin shell over :func:`systems.content.loader.check_content`, the same check the server runs
when it starts, so a world that passes here starts there. It only reads files and prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from engine.cli import EXIT_BAD_SETUP
from engine.config import Config, WorldConfig, add_config_arguments
from engine.plugins import PluginError, Registry, discover_plugins, load_plugins
from systems.content.loader import ContentSource, check_content
from systems.content.plugin import MissingWorldFolder, require_world_folder

__all__ = ["EXIT_CONTENT_ERRORS", "plugin_content", "plugin_content_dirs", "register", "run"]

#: Exit status when the content has at least one error (warnings alone exit with 0).
EXIT_CONTENT_ERRORS = 1


def register(subparsers: Any) -> None:
    """Add the ``check-world`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check-world",
        help="check the world's content files and list every problem",
        description=(
            "Check a world's content files (the world's data folder plus the content folders of"
            " installed plugins, as the server loads them) and list every error and warning."
            " Exit status: 0 if there is no error (warnings allowed), 1 if there is any error,"
            f" {EXIT_BAD_SETUP} if the configuration or a plugin is broken."
        ),
    )
    parser.add_argument(
        "path",
        nargs="?",
        default=None,
        metavar="PATH",
        help="the world's data folder (default: world.data_dir from the configuration)",
    )
    parser.add_argument(
        "--no-plugins",
        action="store_true",
        help="check PATH alone, without the content folders of installed plugins",
    )
    add_config_arguments(parser)
    parser.set_defaults(run=run)


def plugin_content(config: Config) -> Registry:
    """What the installed, enabled plugins register, as the server sees it: their content
    folders (``content_dirs``) and content tables (``content_tables``).

    Raises ``PluginError`` when a plugin cannot be loaded (the server would not start either).
    """
    registry = Registry(config=config)
    plugins, problems = discover_plugins()
    load_plugins(plugins, registry, disabled=config.world.plugins_disabled, problems=problems)
    return registry


def plugin_content_dirs(config: Config) -> list[tuple[str, Path]]:
    """The content folders that the installed, enabled plugins register (see
    :func:`plugin_content`)."""
    return list(plugin_content(config).content_dirs)


def run(ns: argparse.Namespace, config: Config) -> int:
    if ns.path is not None:
        config = dataclasses.replace(
            config, world=WorldConfig(ns.path, config.world.plugins_disabled)
        )
    try:
        data = require_world_folder(config)
    except MissingWorldFolder as exc:
        print(f"kadath: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    # Which world is checked goes to stderr: stdout is the report alone, for scripts.
    which = "the bundled world" if config.world.bundled else "the world"
    print(f"kadath: checking {which} in {data}", file=sys.stderr)
    sources = [ContentSource(data)]
    tables: dict[str, type] = {}
    if not ns.no_plugins:
        try:
            registry = plugin_content(config)
        except PluginError as exc:
            print(f"kadath: cannot load plugins: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        sources += [ContentSource(path, name) for name, path in registry.content_dirs]
        tables = registry.content_tables
    report = check_content(sources, tables=tables).report
    print(report.format())
    return 0 if report.ok else EXIT_CONTENT_ERRORS
