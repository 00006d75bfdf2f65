"""Plugins: the one way components, systems, commands, renderers and content enter the engine.

Built-in systems are a plugin exactly like a modder's. Plugins are found through the entry-point
group ``kadath.plugins``, declare what they require, load in dependency order, and register
through a :class:`PluginKit` that stamps every registration with the plugin's name, so any
conflict or failure names its owner. Loading never touches the network or the database.
"""

from __future__ import annotations

import dataclasses
import graphlib
import importlib
import importlib.metadata
import importlib.util
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from engine.commands import DEFAULT_PREFIX_ALIASES, CommandGate, CommandSpec
from engine.component import component_info
from engine.events import Event, Scope
from engine.hooks import LookContributor
from engine.ids import plugin_stable_id
from engine.scheduler import System
from engine.state import StateSpec

if TYPE_CHECKING:
    from engine.world import World

__all__ = [
    "ENTRY_POINT_GROUP",
    "Plugin",
    "PluginError",
    "PluginKit",
    "PluginSource",
    "PresenceRules",
    "Registry",
    "SetupError",
    "discover_plugins",
    "discover_sources",
    "exception_line",
    "failure_site",
    "load_plugins",
]

log = logging.getLogger("kadath.plugins")

ENTRY_POINT_GROUP = "kadath.plugins"

#: Turns an event into the text a plain client shows, when the emitter left ``text`` empty.
Renderer = Callable[[Event], str]
#: Fills a new world at start-up (from content files, say): ``builder(world, registry)``. It may
#: read files; it runs once, before the first tick, never on the tick path.
WorldBuilder = Callable[["World", "Registry"], None]

#: What a content table may be called: a lower-case word (``weather``), which is also the name of
#: the folder of a content folder that holds its files and of the ``[[table]]`` in them.
TABLE_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Plugin:
    """A unit of game content and rules. ``setup`` registers everything through the kit.

    ``requires`` names plugins that must load first (``core`` for anything using built-in
    components). Expose an instance (or a function returning one) as an entry point::

        [project.entry-points."kadath.plugins"]
        candles = "kadath_candles:plugin"
    """

    name: str
    setup: Callable[[PluginKit], None]
    requires: tuple[str, ...] = ()
    description: str = ""
    version: str = "0"
    settings: Mapping[str, type] = field(default_factory=dict)
    """The plugin's rule settings: a configuration section name (``combat``) for each frozen
    dataclass of settings declared with :func:`engine.config.setting_field` (``CombatSettings``).
    Declared here, not in ``setup``, so the configuration can be checked before any plugin runs.
    The engine puts each, as configured, in the world as a resource: rules read
    ``world.resource(CombatSettings)``."""


class PresenceRules(Protocol):
    """How player characters come and go, and who hears what: game rules the engine and the
    network shell need but may not import.

    A plugin (``core``) provides one through :meth:`PluginKit.presence`. The world-changing methods
    are called by the engine inside the tick, from the inputs of :mod:`engine.inputs`; the shell
    only reads (``audience``, ``status``, ``in_world``). Every method is pure: no I/O.
    """

    def character_for(self, world: World, account: str, character: int | None) -> int:
        """The entity of ``account``'s character (stable id ``character``), made out of the
        world when the account has none yet or its entity is gone."""
        ...

    def enter_world(self, world: World, character: int) -> None:
        """Bring the character into the world (where it left) and show it where it is; one
        already in the world (link-dead, or played from another connection) just stays."""
        ...

    def drop(self, world: World, character: int, grace_s: float) -> None:
        """Its connection is gone: link-dead for ``grace_s`` seconds, then out (0: out now)."""
        ...

    def leave_world(self, world: World, character: int, reason: str) -> None:
        """Take the character out of the world, saved; ``reason`` is quit, linkdead, kicked...
        Emits :data:`engine.inputs.LEFT_EVENT` to it, so the shell forgets its session."""
        ...

    def relocate(self, world: World, character: int, room: str, vanish: str, appear: str) -> None:
        """Move the character to the room with key ``room`` by staff power (a
        :class:`engine.inputs.Relocate` from another shard), both rooms told."""
        ...

    def in_world(self, world: World) -> list[int]:
        """Every player character in the world (at start-up: the ones a crash left there)."""
        ...

    def audience(self, world: World, scope: Scope) -> Iterable[int]:
        """The entities that may hear an event of this scope (a room's or a zone's occupants);
        the shell keeps those it has a connection for. Must not scan every player in the world."""
        ...

    def status(self, world: World, character: int) -> Mapping[str, object]:
        """The vitals a client shows in its status bar (dp, max_dp, lucidity, tier, posture)."""
        ...

    def status_components(self) -> tuple[type, ...]:
        """Component types whose change means the status must be sent again."""
        ...


class SetupError(RuntimeError):
    """A problem an operator must fix before the world can start (a broken content file).

    World builders raise it with a complete, printable report; the server prints it and exits.
    """


class PluginError(RuntimeError):
    """One or more plugins could not be loaded. ``problems`` maps each plugin name to its reason;
    ``loaded`` names those whose setup ran, in load order (what a report can still show)."""

    def __init__(self, problems: Mapping[str, str], loaded: Sequence[str] = ()) -> None:
        self.problems = dict(problems)
        self.loaded = list(loaded)
        lines = [f"  - plugin {name!r}: {why}" for name, why in self.problems.items()]
        super().__init__(f"{len(lines)} plugin problem(s):\n" + "\n".join(lines))


@dataclass(slots=True)
class Registry:
    """Everything the loaded plugins registered, from which the engine is assembled."""

    config: Any = None
    persistent_types: dict[str, type] = field(default_factory=dict)
    component_types: list[type] = field(default_factory=list)
    systems: list[System] = field(default_factory=list)
    commands: list[CommandSpec[Any]] = field(default_factory=list)
    command_gates: list[CommandGate] = field(default_factory=list)
    prefix_aliases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PREFIX_ALIASES))
    renderers: dict[str, Renderer] = field(default_factory=dict)
    content_dirs: list[tuple[str, Path]] = field(default_factory=list)
    content_tables: dict[str, type] = field(default_factory=dict)
    """Each plugin-declared content table's name and the (pydantic) model of its entries."""
    world_builders: list[tuple[str, WorldBuilder]] = field(default_factory=list)
    look_contributors: list[tuple[str, LookContributor]] = field(default_factory=list)
    world_states: list[StateSpec] = field(default_factory=list)
    presence: PresenceRules | None = None
    owners: dict[object, str] = field(default_factory=dict)
    loaded: list[str] = field(default_factory=list)

    def owner(self, thing: object) -> str:
        return self.owners.get(thing, "?")

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered, by kind, each thing by name, in registration order: what
        ``kadath plugins`` shows, and what a reload of the plugin swaps. Kinds with nothing are
        left out."""
        owners = self.owners
        kinds: dict[str, list[str]] = {
            "components": [
                _component_label(t) for t in self.component_types if owners.get(t) == plugin
            ],
            "systems": [s.name for s in self.systems if s.plugin == plugin],
            "commands": [c.verb for c in self.commands if c.plugin == plugin],
            "command gates": [
                getattr(g, "__qualname__", repr(g))
                for g in self.command_gates
                if owners.get(g) == plugin
            ],
            "prefixes": [
                f"{prefix} = {verb}"
                for prefix, verb in self.prefix_aliases.items()
                if owners.get(("prefix", prefix)) == f"plugin {plugin!r}"
            ],
            "events": [e for e, render in self.renderers.items() if owners.get(render) == plugin],
            "content tables": [
                name for name, model in self.content_tables.items() if owners.get(model) == plugin
            ],
            "look contributors": [
                getattr(fn, "__qualname__", repr(fn))
                for owner, fn in self.look_contributors
                if owner == plugin
            ],
            "world state": [
                f"{spec.type.__qualname__} ({spec.key})"
                for spec in self.world_states
                if spec.plugin == plugin
            ],
            "content": [str(path) for owner, path in self.content_dirs if owner == plugin],
            "world builders": [
                getattr(b, "__qualname__", repr(b))
                for owner, b in self.world_builders
                if owner == plugin
            ],
            "presence": (
                [type(self.presence).__qualname__]
                if self.presence is not None and owners.get(self.presence) == plugin
                else []
            ),
        }
        return {kind: names for kind, names in kinds.items() if names}


def _component_label(component_type: type) -> str:
    """A component type as a report names it: its class, and its table when it is persistent."""
    info = component_info(component_type)
    name = component_type.__qualname__
    return f"{name} ({info.name})" if info is not None else name


class PluginKit:
    """What a plugin's ``setup`` receives: registration methods bound to that plugin's name."""

    def __init__(self, registry: Registry, plugin: str) -> None:
        self._registry = registry
        self.plugin = plugin

    @property
    def config(self) -> Any:
        """The server's configuration (read-only), for plugins whose rules are configurable."""
        return self._registry.config

    def component(self, component_type: type) -> type:
        """Register a component type. Persistent types must have a stable name no one else uses."""
        reg = self._registry
        info = component_info(component_type)
        if info is not None:
            other = reg.persistent_types.get(info.name)
            if other is not None and other is not component_type:
                raise PluginError(
                    {
                        self.plugin: f"persistent component name {info.name!r} of "
                        f"{component_type.__qualname__} is already used by {other.__qualname__} "
                        f"from plugin {reg.owner(other)!r}"
                    }
                )
            reg.persistent_types[info.name] = component_type
        if component_type not in reg.component_types:
            reg.component_types.append(component_type)
            reg.owners[component_type] = self.plugin
        return component_type

    def system(self, system: System) -> System:
        """Register a system (see :func:`engine.scheduler.system`)."""
        stamped = dataclasses.replace(system, plugin=self.plugin)
        self._registry.systems.append(stamped)
        return stamped

    def command(self, spec: CommandSpec[Any]) -> CommandSpec[Any]:
        """Register a command; its verb and aliases must not clash with another plugin's."""
        stamped = dataclasses.replace(spec, plugin=self.plugin)
        self._registry.commands.append(stamped)
        return stamped

    def command_gate(self, gate: CommandGate) -> None:
        """Ask ``gate(world, cmd, spec)`` before every command's handler, once its arguments fit:
        a rule that may stop any command (see :data:`engine.commands.CommandGate`)."""
        self._registry.command_gates.append(gate)
        self._registry.owners[gate] = self.plugin

    def prefix_alias(self, prefix: str, verb: str) -> None:
        """Make a one-character prefix mean a verb (``'hello`` = ``say hello``)."""
        reg = self._registry
        current = reg.prefix_aliases.get(prefix)
        if current is not None and current != verb:
            owner = reg.owners.get(("prefix", prefix), "the engine's defaults")
            raise PluginError(
                {
                    self.plugin: f"prefix {prefix!r} already means {current!r} "
                    f"(from {owner}); choose another prefix"
                }
            )
        reg.prefix_aliases[prefix] = verb
        reg.owners[("prefix", prefix)] = f"plugin {self.plugin!r}"

    def renderer(self, event_type: str, render: Renderer) -> None:
        """Give plain clients text for events of ``event_type`` that were emitted without text."""
        reg = self._registry
        if event_type in reg.renderers:
            raise PluginError(
                {
                    self.plugin: f"event type {event_type!r} already has a renderer from "
                    f"plugin {reg.owner(reg.renderers[event_type])!r}"
                }
            )
        reg.renderers[event_type] = render
        reg.owners[render] = self.plugin

    def presence(self, rules: PresenceRules) -> None:
        """Provide the rules of player characters coming and going (one plugin only)."""
        reg = self._registry
        if reg.presence is not None:
            raise PluginError(
                {
                    self.plugin: "presence rules are already provided by plugin "
                    f"{reg.owner(reg.presence)!r}"
                }
            )
        reg.presence = rules
        reg.owners[rules] = self.plugin

    def world_builder(self, builder: WorldBuilder) -> None:
        """Run ``builder(world, registry)`` when the server builds its world, in plugin order.

        It runs once per start, before the saved state is restored over the world it builds, and
        may read files (it is not on the tick path). Every persistent entity it makes must have a
        stable id of its own (:meth:`stable_id`), or each start would add another copy.
        """
        self._registry.world_builders.append((self.plugin, builder))

    def stable_id(self, key: str) -> int:
        """The stable id of the entity this plugin calls ``key``: the same on every start,
        whatever else is installed (see :func:`engine.ids.plugin_stable_id`)."""
        return plugin_stable_id(self.plugin, key)

    def look_contributor(self, contributor: LookContributor) -> None:
        """Add lines to what players see when they look at a room, a person or a thing (see
        :data:`engine.hooks.LookContributor`); asked in plugin load order, then in the order
        registered."""
        self._registry.look_contributors.append((self.plugin, contributor))
        self._registry.owners[contributor] = self.plugin

    def content_table(self, name: str, model: type) -> None:
        """Declare a content table: files ``<name>/*.toml`` of any content folder hold its
        entries as ``[[name]]`` tables, each checked against ``model`` (a pydantic model, see
        ``ContentModel`` in :mod:`engine.api`) by the world loader and ``kadath check-world``."""
        reg = self._registry
        if not TABLE_NAME.fullmatch(name):
            raise PluginError(
                {
                    self.plugin: f"content table name {name!r} is not a lower-case word"
                    " (letters, digits and '_', starting with a letter)"
                }
            )
        if not callable(getattr(model, "model_validate", None)):
            raise PluginError(
                {
                    self.plugin: f"the model of content table {name!r} must be a pydantic model"
                    f" (subclass engine.api.ContentModel), not {model!r}"
                }
            )
        other = reg.content_tables.get(name)
        if other is not None:
            raise PluginError(
                {
                    self.plugin: f"content table {name!r} is already declared by plugin "
                    f"{reg.owner(other)!r}"
                }
            )
        reg.content_tables[name] = model
        reg.owners[model] = self.plugin

    def world_state(
        self,
        state_type: type,
        *,
        key: str | None = None,
        default: Callable[[], Any] | None = None,
    ) -> None:
        """Declare a persistent singleton this plugin owns: one ``state_type`` component in the
        world (per ``key``), read and changed through :func:`engine.state.world_state`.

        ``state_type`` must be persistent; it is registered as a component too. ``key`` defaults
        to its stable name; ``default`` makes its first value (by default ``state_type()``). It
        lives on an entity of its own, with the stable id of this plugin and the key.
        """
        info = component_info(state_type)
        if info is None:
            raise PluginError(
                {
                    self.plugin: f"world state {state_type.__qualname__} must be a persistent "
                    "component (@persistent): transient world-wide values are resources"
                }
            )
        self.component(state_type)
        chosen = key or info.name
        reg = self._registry
        clash = [s for s in reg.world_states if s.type is state_type and s.key == chosen]
        if clash:
            raise PluginError(
                {
                    self.plugin: f"world state {state_type.__qualname__} under key {chosen!r} "
                    f"is already declared by plugin {clash[0].plugin!r}"
                }
            )
        make = default or state_type
        reg.world_states.append(
            StateSpec(self.plugin, chosen, state_type, make, self.stable_id(chosen))
        )

    def content(self, path: str | Path) -> None:
        """Add a folder of content files (zones, templates) that the world loader reads."""
        folder = Path(path)
        if not folder.is_dir():
            raise PluginError({self.plugin: f"content folder {str(folder)!r} does not exist"})
        self._registry.content_dirs.append((self.plugin, folder))


@dataclass(frozen=True, slots=True)
class PluginSource:
    """An installed plugin as discovery found it: its entry point, the distribution (package)
    that declares it, and the plugin it names or why it could not be had.

    ``problem`` is one line for an operator (the entry point, the exception, and the file and line
    in the plugin's code where it was raised); ``traceback`` is the whole story, logged at DEBUG.
    """

    name: str
    entry_point: str
    distribution: str | None = None
    version: str | None = None
    requirements: tuple[str, ...] = ()
    """The distribution's own requirements (``Requires-Dist``), as its metadata declares them."""
    plugin: Plugin | None = None
    problem: str | None = None
    traceback: str = ""


def discover_sources(group: str = ENTRY_POINT_GROUP) -> list[PluginSource]:
    """Every plugin advertised by an installed package, in entry-point name order, each with the
    plugin or the reason it could not be loaded. Importing a plugin is the only I/O."""
    sources: list[PluginSource] = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        about: dict[str, Any] = {}
        if dist is not None:
            about = {
                "distribution": dist.metadata["Name"] or dist.name,
                "version": dist.version,
                "requirements": tuple(dist.requires or ()),
            }
        try:
            loaded = ep.load()
        except Exception as exc:
            where = failure_site(exc, _package_dirs(ep.module))
            text = "".join(traceback.format_exception(exc))
            log.debug("plugin %r: entry point %r failed to import:\n%s", ep.name, ep.value, text)
            problem = f"failed to load entry point {ep.value!r}: {exception_line(exc)}"
            if where:
                problem += f" (at {where}; run with -v for the traceback)"
            sources.append(
                PluginSource(ep.name, ep.value, problem=problem, traceback=text, **about)
            )
            continue
        try:
            plugin = _plugin_from(ep, loaded)
        except Exception as exc:
            problem = f"failed to load entry point {ep.value!r}: {exception_line(exc)}"
            sources.append(PluginSource(ep.name, ep.value, problem=problem, **about))
            continue
        sources.append(PluginSource(ep.name, ep.value, plugin=plugin, **about))
    return sources


def discover_plugins(group: str = ENTRY_POINT_GROUP) -> tuple[list[Plugin], dict[str, str]]:
    """Plugins advertised by installed packages, and the problems of those that would not import."""
    plugins: list[Plugin] = []
    problems: dict[str, str] = {}
    for source in discover_sources(group):
        if source.plugin is not None:
            plugins.append(source.plugin)
        else:
            problems[source.name] = source.problem or "could not be loaded"
    return plugins, problems


def failure_site(exc: BaseException, roots: Sequence[Path] = ()) -> str | None:
    """Where in a plugin's code ``exc`` was raised, as ``FILE, line N``: the line of a syntax
    error, else the deepest frame of the traceback inside ``roots`` (the plugin's package), else
    the deepest frame outside Python's import machinery; None when there is none (a module that
    does not exist)."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}, line {exc.lineno}"
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<") and Path(frame.filename) not in _MACHINERY
    ]
    inside = [f for f in frames if any(Path(f.filename).is_relative_to(r) for r in roots)]
    chosen = inside or frames
    if not chosen:
        return None
    return f"{chosen[-1].filename}, line {chosen[-1].lineno}"


#: Files whose frames are never where a plugin went wrong: the machinery that imported it.
_MACHINERY = frozenset(
    Path(module.__file__).resolve() if module.__file__ else Path()
    for module in (importlib, importlib.metadata, importlib.util, sys.modules[__name__])
)


def _package_dirs(module: str) -> list[Path]:
    """The folders of the top-level package holding ``module`` (without importing it)."""
    try:
        spec = importlib.util.find_spec(module.split(".")[0])
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p).resolve() for p in spec.submodule_search_locations]
    return [Path(spec.origin).resolve().parent] if spec.origin else []


def exception_line(exc: BaseException) -> str:
    """``Type: message`` on one line, as a summary of a failure."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def rule_sections(plugins: Sequence[Plugin]) -> tuple[dict[str, type], dict[str, str]]:
    """The rule settings sections the plugins declare (``combat``: its settings type), and the
    problems: a section two plugins declare. Read from the declarations, before any plugin runs,
    so that the configuration can be checked first."""
    sections: dict[str, type] = {}
    owners: dict[str, str] = {}
    problems: dict[str, str] = {}
    for plugin in plugins:
        for section, settings_type in plugin.settings.items():
            if section in sections and sections[section] is not settings_type:
                problems[plugin.name] = (
                    f"rules section [{section}] is already declared by plugin {owners[section]!r}"
                )
                continue
            sections[section] = settings_type
            owners[section] = plugin.name
    return sections, problems


def _plugin_from(ep: EntryPoint, obj: object) -> Plugin:
    """The plugin an entry point's object is, or gives when called."""
    if not isinstance(obj, Plugin) and callable(obj):
        obj = obj()
    if not isinstance(obj, Plugin):
        raise TypeError(f"{ep.value} is {type(obj).__name__}, not an engine.plugins.Plugin")
    if obj.name != ep.name:
        raise ValueError(
            f"entry point is named {ep.name!r} but the plugin calls itself {obj.name!r}"
        )
    return obj


def load_plugins(
    plugins: Sequence[Plugin],
    registry: Registry,
    *,
    disabled: Iterable[str] = (),
    problems: Mapping[str, str] | None = None,
) -> list[str]:
    """Run each plugin's setup in dependency order; return the names loaded, in order.

    Every problem is collected before raising one :class:`PluginError` that names each plugin at
    fault, so an operator fixes them all in one go. A plugin whose requirement failed is reported.
    """
    off = set(disabled)
    # A disabled plugin's import failure does not matter: disabling it is the operator's fix.
    found: dict[str, str] = {k: v for k, v in (problems or {}).items() if k not in off}
    by_name: dict[str, Plugin] = {}
    for plugin in plugins:
        if plugin.name in off:
            continue
        if plugin.name in by_name:
            found[plugin.name] = "two plugins have this name"
            continue
        by_name[plugin.name] = plugin
    graph: dict[str, set[str]] = {}
    for plugin in by_name.values():
        missing = [r for r in plugin.requires if r not in by_name and r not in found]
        disabled_reqs = [r for r in plugin.requires if r in off]
        if disabled_reqs:
            found[plugin.name] = (
                f"requires {', '.join(map(repr, disabled_reqs))}, which is disabled"
            )
        elif missing:
            found[plugin.name] = f"requires {', '.join(map(repr, missing))}, which is not installed"
        graph[plugin.name] = set(plugin.requires) & set(by_name)
    # Report every cycle (and go on to find the other problems) by taking each cycle found out of
    # the graph and sorting again; plugins requiring a cycle's members fail as dependents below.
    while True:
        sorter = graphlib.TopologicalSorter(graph)
        try:
            sorter.prepare()
            break
        except graphlib.CycleError as exc:
            members = list(dict.fromkeys(exc.args[1]))
            cycle = " -> ".join(exc.args[1])
            for name in members:
                found[name] = f"circular requirements: {cycle}"
                graph.pop(name, None)
            for deps in graph.values():
                deps.difference_update(members)
    loaded: list[str] = []
    while sorter.is_active():
        for name in sorted(sorter.get_ready()):
            sorter.done(name)
            plugin = by_name[name]
            failed_reqs = [r for r in plugin.requires if r in found]
            if name in found:
                continue
            if failed_reqs:
                found[name] = f"requires {', '.join(map(repr, failed_reqs))}, which failed to load"
                continue
            try:
                plugin.setup(PluginKit(registry, name))
            except PluginError as exc:
                found.update(exc.problems)
            except Exception as exc:
                log.exception("plugin %r failed during setup", name)
                where = failure_site(exc, _package_dirs(plugin.setup.__module__))
                found[name] = f"setup failed: {exception_line(exc)}" + (
                    f" (at {where})" if where else ""
                )
            else:
                loaded.append(name)
    if found:
        raise PluginError(found, loaded)
    registry.loaded.extend(loaded)
    return loaded
