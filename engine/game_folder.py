"""``kadath init DIR``: make a game folder an operator owns, like ``evennia --init``.

The folder holds ``kadath.toml`` (every setting, the installed plugins' rule settings included,
commented out at its default, except the world folder and the database file), ``world/`` (a copy
of the bundled world to edit) and a short README. This module writes only inside that folder, and
never overwrites a file that is already there: someone may have edited it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from engine.config import LOCAL_CONFIG_FILE, Config, WorldConfig, bundled_world_dir
from engine.plugins import discover_plugins, rule_sections

__all__ = ["WORLD_FOLDER", "GameFolderError", "InitReport", "make_game_folder"]

WORLD_FOLDER: Final = "world"
"""The game folder's own world, which its ``kadath.toml`` points at."""

README_FILE: Final = "README.md"

_README: Final = """\
# {name}

A Kadath game folder, made by `kadath init`.

| file | what it is |
|---|---|
| `kadath.toml` | the server's settings: every one is listed, commented out at its default |
| `world/` | this game's world: zones, rooms, item and NPC templates (TOML files to edit) |
| `kadath.db` | the saved world (SQLite), made by the first `kadath serve` |

Everything below runs in this folder: `kadath` reads `./kadath.toml` by itself.

- **Serve** the world: `kadath serve`, then play at http://127.0.0.1:4000/ (the first account
  made is an admin). Stop it with Ctrl-C: it saves the world and exits.
- **Check** the world after an edit: `kadath check-world` lists every problem, with file, entry
  and field. The server refuses to start a world with errors, with the same report.
- **The database** is the file `kadath.db` here (`[persist] database_url` in `kadath.toml`);
  `kadath db export FILE` backs it up. For PostgreSQL, install `kadath[postgres]` and set
  `database_url = "postgresql+psycopg://USER:PASSWORD@HOST/DB"`.
- **Add a plugin**: `pip install` its package into the same environment as Kadath; it is found by
  its `kadath.plugins` entry point at the next start (`kadath schedule` lists its systems).
  To turn one off, list it in `[world] plugins_disabled`.
"""


class GameFolderError(ValueError):
    """The folder cannot be made a game folder; the message says what to do instead."""


@dataclass(slots=True)
class InitReport:
    """What ``make_game_folder`` did, file by file, for the command to print."""

    folder: Path
    made: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def make_game_folder(folder: Path, *, force: bool = False) -> InitReport:
    """Make ``folder`` a game folder.

    A folder with anything in it is refused unless ``force``; even then nothing that exists is
    overwritten (an existing ``world/`` is kept whole, edited or not): only what is missing is
    added, and the report says what was kept.
    """
    folder = folder.absolute()
    if folder.exists() and not folder.is_dir():
        raise GameFolderError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise GameFolderError(
            f"{folder} is not empty: choose a new folder, or add --force to add what is"
            " missing there (nothing that exists is overwritten)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    report = InitReport(folder)
    installed, _ = discover_plugins()
    rules, _ = rule_sections(installed)
    config = Config(
        world=WorldConfig(data_dir=WORLD_FOLDER),
        rules={section: settings_type() for section, settings_type in rules.items()},
    )
    header = (
        f"# {LOCAL_CONFIG_FILE}: this game's settings, read by every kadath command run in this"
        " folder.\n# Uncomment a setting to change it; relative paths are relative to this"
        " folder.\n"
    )
    # The database is named even at its default, so that it is found relative to this file
    # whichever folder the server is started from.
    text = config.to_toml(
        comment_defaults=True, always_set=("world.data_dir", "persist.database_url")
    )
    _write(report, LOCAL_CONFIG_FILE, header + text)
    _write(report, README_FILE, _README.format(name=folder.name))
    world = folder / WORLD_FOLDER
    if world.exists():
        report.kept.append(WORLD_FOLDER + "/")
    else:
        shutil.copytree(
            bundled_world_dir(),
            world,
            ignore=shutil.ignore_patterns("__init__.py", "__pycache__", "*.pyc"),
        )
        report.made.append(WORLD_FOLDER + "/")
    return report


def _write(report: InitReport, name: str, text: str) -> None:
    path = report.folder / name
    if path.exists():
        report.kept.append(name)
        return
    path.write_text(text, encoding="utf-8")
    report.made.append(name)
