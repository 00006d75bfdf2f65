"""``kadath new-plugin``: a new plugin package to start from, that installs and passes its own test
as made: a persistent component, a system, a command, a content table, a test and a README.

The package it writes imports only the public API (``engine.api``; its test also
``engine.testing``), follows the layout of ``examples/candles`` (code under ``src/``, the entry
point in ``pyproject.toml``) and refuses, before writing anything, a name or a folder it could not
make a working plugin of. Writing files is all it does; it runs only from the command line.
"""

from __future__ import annotations

import contextlib
import importlib.util
import keyword
import re
from importlib.metadata import entry_points
from pathlib import Path
from string import Template

from engine.config import Config
from engine.plugins import ENTRY_POINT_GROUP, PluginError, Registry, discover_plugins, load_plugins

__all__ = ["PLUGIN_NAME", "ScaffoldError", "make_plugin", "plugin_files"]

PLUGIN_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""What a new plugin may be called: a lower-case Python identifier of at most 40 characters. It
names the entry point, the package (``kadath_NAME``), the command, and prefixes the plugin's
table names (``NAME_tally``), which is why it is this strict."""

_RESERVED_PREFIX = "kadath"  # kadath_* tables and packages are Kadath's own


class ScaffoldError(ValueError):
    """The plugin cannot be made as asked; the message says why and what to do, on one line."""


def make_plugin(name: str, parent: Path) -> Path:
    """Write the plugin ``name`` into the folder ``parent/name`` (made if needed; it must be empty
    if it exists) and return that folder. Raises :class:`ScaffoldError`, having written nothing,
    for a name that is not a lower-case identifier, that an installed plugin, package or command
    already has, or a folder that is not empty."""
    _check_name(name)
    folder = (parent / name).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a folder that is not empty" if folder.is_dir() else "a file"
        raise ScaffoldError(f"{folder} is {what}: choose another --dir, or move it away")
    files = plugin_files(name)
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def _check_name(name: str) -> None:
    if not PLUGIN_NAME.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} cannot name a plugin: use a lower-case Python identifier of letters,"
            " digits and '_', starting with a letter, at most 40 characters (e.g. weather)"
        )
    if name.startswith(_RESERVED_PREFIX):
        raise ScaffoldError(
            f"{name!r} cannot name a plugin: names starting with 'kadath' are Kadath's own"
        )
    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    if name in installed:
        raise ScaffoldError(
            f"a plugin called {name!r} is installed already (kadath plugins lists them):"
            " choose another name"
        )
    package = f"kadath_{name}"
    if importlib.util.find_spec(package) is not None:
        raise ScaffoldError(f"a package {package!r} is installed already: choose another name")
    owner = _installed_verbs().get(name)
    if owner is not None:
        raise ScaffoldError(
            f"{name!r} is already a command of plugin {owner!r}, and the new plugin's command"
            " is called after it: choose another name"
        )


def _installed_verbs() -> dict[str, str]:
    """Every verb and alias of the installed plugins' commands, with its plugin (of those that
    load: ``kadath plugins`` reports the others)."""
    plugins, problems = discover_plugins()
    registry = Registry(config=Config())
    with contextlib.suppress(PluginError):  # what the plugins that did load registered stays
        load_plugins(plugins, registry, problems=problems)
    return {
        verb: spec.plugin or "?"
        for spec in registry.commands
        for verb in (spec.verb, *spec.aliases)
    }


def plugin_files(name: str) -> dict[str, str]:
    """The files of the plugin ``name``, by path relative to its folder."""
    values = {
        "name": name,
        "package": f"kadath_{name}",
        "distribution": "kadath-" + name.replace("_", "-"),
        "title": name.replace("_", " ").capitalize(),
    }
    return {
        Template(path).substitute(values): Template(text).substitute(values)
        for path, text in _FILES.items()
    }


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "A Kadath plugin: $title."
readme = "README.md"
requires-python = ">=3.11"
# The Kadath server itself. It is not on a package index: install it first (or in the same pip
# command) from its checkout, e.g. `pip install -e path/to/kadath -e .`.
dependencies = ["kadath>=0.1"]

# The line that makes this package a Kadath plugin: the server finds `plugin` in the
# `kadath.plugins` entry-point group. The entry point's name must equal the plugin's name.
[project.entry-points."kadath.plugins"]
$name = "$package:plugin"

[tool.setuptools]
packages = ["$package"]
package-dir = { "" = "src" }

[tool.setuptools.package-data]
$package = ["py.typed", "content/*/*.toml"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100
src = ["src", "tests"]
"""

_README = """\
# $title: a Kadath plugin

Made by `kadath new-plugin $name`, as a starting point to rewrite. It installs and passes its own
test as it is:

```sh
pip install -e .          # into the environment Kadath is installed in
pytest                    # the plugin's tests (tests/)
kadath plugins $name      # the server sees it: what it registered
kadath serve              # and loads it, after `core`
```

What it holds, each piece a pattern to copy:

- `pyproject.toml`: the `kadath.plugins` entry point that makes the package a plugin;
- `src/$package/__init__.py`: the `Plugin` and its `setup`, which registers everything;
- `src/$package/components.py`: `Tally`, a persistent component (the engine saves every
  change);
- `src/$package/rules.py`: `count_time`, a system run every few seconds of game time; the
  `$name` command; `Line`, the model of the content table's entries;
- `src/$package/content/${name}_lines/`: the `${name}_lines` content table, text that builders
  edit and `kadath check-world` checks;
- `tests/test_$name.py`: the rules tested tick by tick in a world written in the test
  (`engine.testing`).

Import from `engine.api` only (and `engine.testing` in tests): everything else in Kadath may change.
Kadath's `docs/modding.md` is the guide: the rules every plugin keeps (no I/O on the tick, seconds
never ticks, randomness from `world.rng`), world state, look contributors, and the tools
(`kadath plugins`, the admin `reload $name` that swaps changed code into a running server).
"""

_INIT = '''\
"""$title: a Kadath plugin (made by ``kadath new-plugin``; rewrite this line to say what it adds).

It registers a persistent component, a system, a command and a content table. It imports only
from ``engine.api``, the public API for plugins. The server finds ``plugin`` through the
``kadath.plugins`` entry point in ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from engine.api import Plugin, PluginKit

from $package import rules
from $package.components import Tally

__all__ = ["CONTENT_DIR", "plugin"]

CONTENT_DIR = Path(__file__).parent / "content"
"""The plugin's content folder: the files of its content table (``${name}_lines/*.toml``)."""


def setup(kit: PluginKit) -> None:
    """Register everything the plugin adds; called once per start, after the plugins it
    requires. It only registers: no I/O, no changes to the world."""
    kit.component(Tally)
    rules.register(kit)
    kit.content(CONTENT_DIR)


plugin = Plugin(
    name="$name",
    setup=setup,
    requires=("core",),
    description="$title: a new plugin, as made by kadath new-plugin.",
    version="0.1.0",
)
'''

_COMPONENTS = '''\
"""The plugin's data: plain components, no rules.

A persistent component is saved by the engine on every change to one of its fields; nobody calls
a save function. Its values must be immutable (numbers, strings, tuples, frozensets).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import Component, persistent

__all__ = ["Tally"]


@persistent("${name}_tally", version=1)
@dataclass(slots=True)
class Tally(Component):
    """What the plugin keeps on a character: how often they used ``$name``, and the seconds of
    game time counted since they first did.

    ``${name}_tally`` is the stable name the database knows this type by: never change it once a
    world has been saved. Raise ``version`` (with a migration) when the fields change.
    """

    uses: int = 0
    counted_s: float = 0.0
'''

_RULES = '''\
"""The plugin's rules: the ``count_time`` system, the ``$name`` command, and the
``${name}_lines`` content table whose lines the command says.

Pure rules over components: no I/O, no clock of their own (time comes from the system context),
no randomness outside ``world.rng``. Every duration is in seconds of game time, never in ticks.
"""

from __future__ import annotations

from engine.api import (
    Args,
    Command,
    CommandSpec,
    ContentId,
    ContentModel,
    ContentText,
    PluginKit,
    Refused,
    Scope,
    SystemContext,
    World,
    content_table,
    system,
)

from $package.components import Tally

__all__ = ["COUNT_INTERVAL_S", "EVENT", "LINES_TABLE", "Line", "count_time", "register", "say_line"]

COUNT_INTERVAL_S = 5.0
"""Seconds of game time between two counts, at any tick rate."""

LINES_TABLE = "${name}_lines"
"""The content table of the lines ``$name`` says: ``content/${name}_lines/*.toml``."""

EVENT = "$name"
"""The type of the event that carries a line to the player who asked for it."""


class Line(ContentModel):
    """One entry of the ``${name}_lines`` content table, checked when the world is loaded."""

    id: ContentId
    text: ContentText


@system(phase="rules", every_s=COUNT_INTERVAL_S)
def count_time(world: World, ctx: SystemContext) -> None:
    """Every counted character's time goes up by the game time since the last count."""
    for _character, tally in world.query(Tally):
        tally.counted_s += ctx.dt_s  # tracked and saved by the engine


def say_line(world: World, cmd: Command, args: Args) -> None:
    """Tell the actor the next line of the table, in turn, and count the use."""
    lines = content_table(world, Line)
    if not lines:
        raise Refused("no_lines", "There is nothing to say: the table has no lines.")
    tally = world.try_get(cmd.actor, Tally)
    if tally is None:
        tally = Tally()
        world.add(cmd.actor, tally)
    line = lines[tally.uses % len(lines)]
    tally.uses += 1
    world.emit(EVENT, Scope.entity(cmd.actor), line.text, {"line": line.id, "uses": tally.uses})


COMMAND: CommandSpec[World] = CommandSpec(
    verb="$name",
    handler=say_line,
    usage="",
    help="Say the next line of the ${name}_lines table.",
)


def register(kit: PluginKit) -> None:
    """Add this module's system, command and content table to the engine."""
    kit.system(count_time)
    kit.command(COMMAND)
    kit.content_table(LINES_TABLE, Line)
'''

_LINES = """\
# The ${name}_lines content table: one [[${name}_lines]] entry per line. Builders edit this file;
# `kadath check-world` checks every entry against the Line model in rules.py.

[[${name}_lines]]
id = "first"
text = "Something stirs at the edge of the lamplight."

[[${name}_lines]]
id = "second"
text = "The wind carries a name you almost know."
"""

_TEST = '''\
"""The plugin's rules, tick by tick, in a world written in the test (``engine.testing``)."""

from __future__ import annotations

import pytest
from engine.api import content_table
from engine.testing import world_from_toml

from $package import plugin
from $package.components import Tally
from $package.rules import COUNT_INTERVAL_S, EVENT, Line

ROOM = """\\
[zone]
id = "test"
name = "The Test Zone"

[[rooms]]
id = "test.room"
name = "A Bare Room"
description = "Four walls, and nothing to see."
"""


def test_the_command_says_the_lines_of_the_table_in_turn_and_counts_its_uses() -> None:
    stage = world_from_toml(zones=[ROOM], plugins=[plugin])
    player = stage.player("Tester")
    for _ in range(3):
        stage.type(player, "$name")
    first, second = (line.text for line in content_table(stage.world, Line))
    assert [event.text for event in stage.received(player, EVENT)] == [first, second, first]
    assert stage.world.get(player, Tally).uses == 3


def test_counted_time_goes_up_by_the_game_time_that_passed() -> None:
    stage = world_from_toml(zones=[ROOM], plugins=[plugin])
    player = stage.player("Tester")
    stage.type(player, "$name")  # counted from now on
    stage.run_s(COUNT_INTERVAL_S * 3)
    assert stage.world.get(player, Tally).counted_s == pytest.approx(COUNT_INTERVAL_S * 3)
'''

_FILES: dict[str, str] = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    "src/$package/__init__.py": _INIT,
    "src/$package/components.py": _COMPONENTS,
    "src/$package/rules.py": _RULES,
    "src/$package/py.typed": "",
    "src/$package/content/${name}_lines/lines.toml": _LINES,
    "tests/test_$name.py": _TEST,
}
