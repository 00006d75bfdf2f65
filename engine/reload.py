"""Hot reload: an admin's ``reload <plugin>`` re-imports a plugin's code and swaps its systems,
commands, gates, renderers and look contributors between two ticks, keeping the world and every
connection.

Three steps, so that nothing on the tick path reads a file: the admin's command only asks
(:meth:`Reloader.request`); the reload service, off the tick, re-imports the plugin's package
into fresh module objects and runs its new ``setup`` into a scratch registry
(:meth:`Reloader.prepare`: the running code is never touched, so a failed import changes
nothing); the result comes back through the inbox as a :class:`engine.inputs.ReloadPlugin`
input, which the next tick applies first, before any other input (:meth:`Reloader.apply`).

The world keeps its data, so a reload keeps the types its data is made of: each component type,
content table model and settings type of the plugin (and the enums and dataclasses their fields
hold) stays the running class, and the new modules are rebound to it. A reload that would change
one of them (a persistent component's schema above all), add or drop a persistent component, or
that fails to import or set up, is refused with the reason, and the old code keeps running. So
is a reload of ``core``, whose presence rules and content loader the server is built around.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import importlib
import logging
import sys
import tempfile
import typing
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from engine.commands import Refused
from engine.component import component_info
from engine.config import Config
from engine.events import Scope
from engine.hooks import LookHooks
from engine.inputs import ReloadPlugin
from engine.plugins import (
    Plugin,
    PluginError,
    PluginKit,
    Registry,
    exception_line,
    failure_site,
)
from engine.scheduler import ScheduleError, order_systems
from engine.state import WorldStates

if TYPE_CHECKING:
    from engine.core import Engine

__all__ = [
    "RELOAD_EVENT",
    "RELOAD_REFUSED",
    "PreparedReload",
    "ReloadRequest",
    "ReloadService",
    "Reloader",
    "service",
]

log = logging.getLogger("kadath.reload")

T = TypeVar("T")

RELOAD_EVENT = "reload"
"""The event telling the admin who asked that a plugin was reloaded, and what was swapped."""
RELOAD_REFUSED = "reload_refused"
"""The ``code`` of the error telling the admin a reload was refused, and why."""

#: Kadath's own top-level packages: a plugin defined in one of them has no package of its own to
#: re-import (the core plugin lives in ``systems``; test plugins in ``tests``).
KADATH_PACKAGES = frozenset(
    {"engine", "components", "systems", "net", "persist", "tests", "bench", "kadath_world"}
)


@dataclass(frozen=True, slots=True)
class ReloadRequest:
    """An admin asked for a plugin's code to be reloaded; ``by`` is the admin's stable id."""

    plugin: str
    by: int | None


@dataclass(frozen=True)
class PreparedReload:
    """A plugin's re-imported code, ready to swap in: the new plugin, what its setup registered
    (into a registry of its own), and its modules (installed in ``sys.modules`` by the swap)."""

    plugin: Plugin
    registry: Registry
    modules: Mapping[str, ModuleType]
    package: str
    kept: tuple[str, ...]
    """The running types the new code was bound to (its components, tables and settings)."""


class _Refusal(Exception):
    """Why a reload cannot be done: one sentence for the admin."""


# --------------------------------------------------------------------------------------------------
# The reloader: the engine's side


class Reloader:
    """Reloads plugins for one engine: takes the admins' requests, prepares the code off the tick,
    and swaps it in, between two ticks, from the input the preparation made.

    The engine makes one and publishes it as a world resource (the admin ``reload`` command finds
    it there). Preparing needs the reload service (:class:`ReloadService`), which ``kadath serve``
    runs; without it (a bare engine, a replay) a request is refused, saying so.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._waiting: deque[ReloadRequest] = deque()
        self._pending: set[str] = set()
        self._wake: Callable[[], None] | None = None

    # ------------------------------------------------------------------ asking

    def attach(self, wake: Callable[[], None]) -> None:
        """Make reloads available: ``wake()`` is called (on the tick) when a request arrives."""
        self._wake = wake

    def detach(self) -> None:
        self._wake = None

    @property
    def available(self) -> bool:
        """Whether a reload service prepares the requests."""
        return self._wake is not None

    def check(self, name: str) -> None:
        """Raise :class:`Refused` if ``name`` cannot be reloaded now, saying why."""
        engine = self._engine
        if name not in engine.plugins:
            loaded = ", ".join(engine.plugins) or "none"
            raise Refused("no_such_plugin", f"There is no plugin '{name}' (loaded: {loaded}).")
        if name in self._pending:
            raise Refused("reload_pending", f"Plugin '{name}' is being reloaded already.")
        plugin = engine.plugin_objects[name]
        if plugin.name == "core" or engine.registry.owners.get(engine.registry.presence) == name:
            raise Refused(
                "not_reloadable",
                f"Plugin '{name}' cannot be reloaded: it holds the server's own rules (presence,"
                " the content loader). Restart the server to change it.",
            )
        package = _package_of(plugin)
        if package in KADATH_PACKAGES or package == "__main__":
            raise Refused(
                "not_reloadable",
                f"Plugin '{name}' lives in {package!r}, not a package of its own, so its code"
                " cannot be reloaded alone.",
            )
        sharing = [
            other
            for other, obj in engine.plugin_objects.items()
            if other != name and other in engine.plugins and _package_of(obj) == package
        ]
        if sharing:
            raise Refused(
                "not_reloadable",
                f"Plugin '{name}' shares its package {package!r} with {', '.join(sharing)}:"
                " reloading it would reload them too. Restart the server instead.",
            )
        if not self.available:
            raise Refused(
                "reload_unavailable",
                "Hot reload is not available here: no reload service is running.",
            )

    def request(self, name: str, by: int | None) -> None:
        """Ask for ``name`` to be reloaded (on the tick: no I/O, it only queues); ``by`` is the
        admin's stable id. Raises :class:`Refused` when it cannot be (see :meth:`check`)."""
        self.check(name)
        self._pending.add(name)
        self._waiting.append(ReloadRequest(name, by))
        assert self._wake is not None  # check() refuses otherwise
        self._wake()

    def take(self) -> list[ReloadRequest]:
        """The requests not yet prepared, oldest first (the reload service's call)."""
        taken = list(self._waiting)
        self._waiting.clear()
        return taken

    # ------------------------------------------------------------------ preparing (off the tick)

    def prepare(self, request: ReloadRequest) -> ReloadPlugin:
        """Re-import the plugin's code and set it up, off the tick (it reads files); never raises.

        Returns the input to submit: the prepared code, or the reason it was refused. The running
        code, ``sys.modules`` included, is as it was when this returns."""
        try:
            prepared = self._prepare(request.plugin)
        except _Refusal as refusal:
            return ReloadPlugin(request.plugin, request.by, refused=str(refusal))
        except Exception as exc:  # a bug of ours: refuse, keep the old code, say what happened
            log.exception("preparing the reload of plugin %r failed", request.plugin)
            return ReloadPlugin(request.plugin, request.by, refused=f"it failed: {exc!r}")
        return ReloadPlugin(request.plugin, request.by, prepared=prepared)

    def prepare_pending(self) -> list[ReloadPlugin]:
        """Prepare every waiting request now, in this thread: what the reload service does, for
        tests that drive an engine tick by tick. Submit what it returns."""
        return [self.prepare(request) for request in self.take()]

    def _prepare(self, name: str) -> PreparedReload:
        engine = self._engine
        old_plugin = engine.plugin_objects[name]
        package = _package_of(old_plugin)
        old_modules = _modules_of(package)
        home = old_plugin.setup.__module__
        kept = _kept_types(engine.registry, old_plugin, package)
        new_modules = _import_fresh(package, home, old_modules)
        bindings = _bind_kept_types(kept, new_modules)
        new_plugin = _find_plugin(name, new_modules, home)
        registry = Registry(config=engine.registry.config)
        try:
            new_plugin.setup(PluginKit(registry, name))
        except PluginError as exc:
            raise _Refusal(f"its new setup fails: {'; '.join(exc.problems.values())}") from None
        except Exception as exc:
            where = failure_site(exc, _folders(old_modules))
            at = f" at {where}" if where else ""
            raise _Refusal(f"its new setup fails{at}: {exception_line(exc)}") from None
        _check_persistent_types(engine.registry, registry, name)
        _check_world_state(engine.registry, registry, name)
        _check_content_tables(engine.registry, registry, name)
        missing = [r for r in new_plugin.requires if r not in engine.plugins]
        if missing:
            raise _Refusal(f"it now requires {', '.join(map(repr, missing))}, not loaded here")
        if registry.presence is not None:
            raise _Refusal("it now provides presence rules, which only a start can take")
        return PreparedReload(new_plugin, registry, new_modules, package, tuple(bindings))

    # ------------------------------------------------------------------ swapping (on the tick)

    def apply(self, item: ReloadPlugin) -> None:
        """Swap the prepared code in (the tick's first input), or tell the admin why not.

        Everything is checked against the running engine before anything changes: a clash (a
        verb another plugin took meanwhile, a schedule that no longer orders) refuses the reload
        and leaves the old code running."""
        self._pending.discard(item.plugin)
        world = self._engine.world
        admin = world.entity_of(item.by) if item.by is not None else None
        if item.refused:
            self._refuse(admin, item.plugin, item.refused)
            return
        if not isinstance(item.prepared, PreparedReload):  # a replayed journal: no code in it
            log.warning(
                "the reload of plugin %r at tick %d is not replayed: the replay runs the code"
                " installed now",
                item.plugin,
                world.clock.tick,
            )
            return
        try:
            done = self._swap(item.prepared)
        except _Refusal as refusal:
            self._refuse(admin, item.plugin, str(refusal))
            return
        log.info("plugin %r reloaded: %s", item.plugin, done)
        if admin is not None:
            text = f"Plugin '{item.plugin}' reloaded: {done}."
            world.emit(RELOAD_EVENT, Scope.entity(admin), text, {"plugin": item.plugin})

    def _refuse(self, admin: int | None, plugin: str, why: str) -> None:
        text = f"Reload of plugin '{plugin}' refused: {why}. The old code keeps running."
        log.warning("%s", text)
        if admin is not None:
            data = {"code": RELOAD_REFUSED, "message": text, "plugin": plugin}
            self._engine.world.emit("error", Scope.entity(admin), text, data)

    def _swap(self, prepared: PreparedReload) -> str:
        engine = self._engine
        registry = engine.registry
        new = prepared.registry
        name = prepared.plugin.name
        world = engine.world
        owners = registry.owners

        def mine(thing: object) -> bool:
            return owners.get(thing) == name

        # -- checks, against the engine as it runs now: nothing has changed yet
        commands = _spliced(registry.commands, lambda c: c.plugin == name, new.commands)
        systems = _spliced(registry.systems, lambda s: s.plugin == name, new.systems)
        gates = _spliced(registry.command_gates, mine, new.command_gates)
        try:
            order_systems(systems)
        except ScheduleError as exc:
            raise _Refusal(f"its systems cannot be ordered with the others: {exc}") from None
        if _prefixes_of(new, name) != _prefixes_of(registry, name):
            raise _Refusal("it changes its prefix shortcuts, which only a start can take")
        renderers = {event: r for event, r in registry.renderers.items() if not mine(r)}
        taken = sorted(set(renderers) & set(new.renderers))
        if taken:
            raise _Refusal(f"another plugin renders the event type(s) {', '.join(taken)}")
        try:  # checks the whole new set of commands before it changes anything
            engine.commands.replace_all(commands, gates)
        except ValueError as exc:
            raise _Refusal(f"its commands do not fit: {exc}") from None
        # -- the swap: nothing below refuses
        fixed = [s.name for s in new.systems]
        revived = engine.scheduler.replace(systems, world.clock.seconds, fixed=fixed)
        registry.systems[:] = systems
        registry.commands[:] = commands
        registry.command_gates[:] = gates
        registry.renderers.clear()
        registry.renderers.update({**renderers, **new.renderers})
        registry.look_contributors[:] = _spliced(
            registry.look_contributors, lambda pair: pair[0] == name, new.look_contributors
        )
        contributors = [fn for _plugin, fn in new.look_contributors]
        hooks = world.try_resource(LookHooks)
        if hooks is not None:
            hooks.swap_plugin(name, contributors, engine.plugins)
        registry.world_states[:] = _spliced(
            registry.world_states, lambda spec: spec.plugin == name, new.world_states
        )
        world.insert_resource(WorldStates(registry.world_states))
        for component_type in new.component_types:
            if component_type not in registry.component_types:
                registry.component_types.append(component_type)
        registry.content_dirs[:] = _spliced(
            registry.content_dirs, lambda pair: pair[0] == name, new.content_dirs
        )
        registry.world_builders[:] = _spliced(
            registry.world_builders, lambda pair: pair[0] == name, new.world_builders
        )
        for thing, owner in new.owners.items():
            if owner == name or thing not in owners:
                owners[thing] = owner
        engine.plugin_objects[name] = prepared.plugin
        for module in _modules_of(prepared.package):
            del sys.modules[module]
        sys.modules.update(prepared.modules)
        done = (
            f"{_count(len(new.systems), 'system')}, {_count(len(new.commands), 'command')}, "
            f"{_count(len(contributors), 'look contributor')} swapped"
        )
        if revived:
            done += f"; switched on again: {', '.join(revived)}"
        return done


def _spliced(old: list[T], is_replaced: Callable[[T], bool], new: list[T]) -> list[T]:
    """``old`` with the items ``is_replaced`` picks out replaced by ``new``, where the first of
    them was (so the plugin keeps its place among the others), or at the end if there was none."""
    result: list[T] = []
    placed = False
    for item in old:
        if not is_replaced(item):
            result.append(item)
        elif not placed:
            result.extend(new)
            placed = True
    if not placed:
        result.extend(new)
    return result


def _prefixes_of(registry: Registry, plugin: str) -> dict[str, str]:
    """The one-character prefix shortcuts ``plugin`` bound in ``registry``."""
    owner = f"plugin {plugin!r}"
    return {
        prefix: verb
        for prefix, verb in registry.prefix_aliases.items()
        if registry.owners.get(("prefix", prefix)) == owner
    }


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# --------------------------------------------------------------------------------------------------
# Modules


def _package_of(plugin: Plugin) -> str:
    """The top-level package a plugin's code lives in (what a reload re-imports)."""
    return plugin.setup.__module__.split(".")[0]


def _modules_of(package: str) -> dict[str, ModuleType]:
    """The loaded modules of ``package``, by name."""
    prefix = package + "."
    return {
        name: module
        for name, module in list(sys.modules.items())
        if (name == package or name.startswith(prefix)) and module is not None
    }


def _folders(modules: Mapping[str, ModuleType]) -> list[Path]:
    """The folders the modules' files are in."""
    files = [getattr(module, "__file__", None) for module in modules.values()]
    return sorted({Path(file).resolve().parent for file in files if file})


def _import_fresh(package: str, home: str, old: Mapping[str, ModuleType]) -> dict[str, ModuleType]:
    """Import ``home`` (and every module of ``package`` loaded before) anew, from the files as
    they are now, into fresh module objects, which are returned; ``sys.modules`` is given back
    the running ones afterwards, whatever happens. Compiled from source (bytecode caches go to a
    scratch folder), so a file changed within the second of its cache is still read anew."""
    for name in old:
        del sys.modules[name]
    cache_prefix = sys.pycache_prefix
    try:
        with tempfile.TemporaryDirectory(prefix="kadath-reload-") as scratch:
            sys.pycache_prefix = scratch
            importlib.invalidate_caches()
            try:
                importlib.import_module(home)
                for name in sorted(old):  # what functions may import later, made fresh too
                    if name not in sys.modules:
                        try:
                            importlib.import_module(name)
                        except ModuleNotFoundError as exc:
                            if exc.name != name:
                                raise
            except Exception as exc:
                where = failure_site(exc, _folders(old))
                at = f" at {where}" if where else ""
                raise _Refusal(f"its code does not import{at}: {exception_line(exc)}") from None
            return _modules_of(package)
    finally:
        sys.pycache_prefix = cache_prefix
        for name in _modules_of(package):
            del sys.modules[name]
        sys.modules.update(old)


def _find_plugin(name: str, modules: Mapping[str, ModuleType], home: str) -> Plugin:
    """The plugin called ``name`` in the re-imported code: a ``Plugin`` in its home module (the
    module of its setup), or in its package, or the one a function there returns."""
    ordered = [modules[m] for m in (home, home.split(".")[0]) if m in modules]
    ordered += [module for module_name, module in sorted(modules.items()) if module not in ordered]
    for module in ordered:
        for value in vars(module).values():
            if isinstance(value, Plugin) and value.name == name:
                return value
    raise _Refusal(f"its new code defines no Plugin called {name!r} (in {home} or its package)")


# --------------------------------------------------------------------------------------------------
# The types the world's data is made of


def _kept_types(registry: Registry, plugin: Plugin, package: str) -> list[type]:
    """The running types a reload keeps: the plugin's component types, content table models
    and settings types, and the types of its package their fields hold."""
    roots: list[type] = [
        t for t in registry.component_types if registry.owners.get(t) == plugin.name
    ]
    roots += [m for m in registry.content_tables.values() if registry.owners.get(m) == plugin.name]
    roots += list(plugin.settings.values())
    found: list[type] = []
    stack = [t for t in roots if t.__module__.split(".")[0] == package]
    while stack:
        cls = stack.pop()
        if cls in found:
            continue
        found.append(cls)
        for hint in _field_hints(cls).values():
            stack.extend(
                t
                for t in _classes_in(hint)
                if t.__module__.split(".")[0] == package and t not in found
            )
    return found


def _field_hints(cls: type) -> dict[str, Any]:
    """The annotated fields of a dataclass or pydantic model, resolved where possible."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        hints = dict(getattr(cls, "__annotations__", {}))
    if dataclasses.is_dataclass(cls):
        return {f.name: hints.get(f.name, f.type) for f in dataclasses.fields(cls)}
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, dict):
        return {name: hints.get(name, field.annotation) for name, field in model_fields.items()}
    return {}


def _classes_in(hint: Any) -> list[type]:
    if isinstance(hint, type):
        return [hint]
    found: list[type] = []
    for arg in typing.get_args(hint):
        found += _classes_in(arg)
    return found


def _shape(cls: type) -> tuple[Any, ...]:
    """What a kept type must still be for the world's data to fit the new code: its persistent
    name and version, its fields and their types (and defaults: settings are read at start-up),
    an enum's members."""
    if issubclass(cls, enum.Enum):
        return ("enum", tuple((member.name, repr(member.value)) for member in cls))
    info = component_info(cls)
    persisted = (info.name, info.version) if info is not None else None
    fields = []
    hints = _field_hints(cls)
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else None
            fields.append((f.name, _hint_text(hints[f.name]), repr(default)))
    else:
        model_fields = getattr(cls, "model_fields", {})
        for field_name, hint in hints.items():
            default = getattr(model_fields.get(field_name), "default", None)
            fields.append((field_name, _hint_text(hint), repr(default)))
    return ("type", persisted, tuple(fields))


def _hint_text(hint: Any) -> str:
    if isinstance(hint, type):
        return f"{hint.__module__}.{hint.__qualname__}"
    return repr(hint)


def _difference(before: tuple[Any, ...], after: tuple[Any, ...]) -> str:
    """What changed between two shapes of a type, in words: fields added, dropped, retyped or
    given another default; an enum's members."""
    if before[0] == "enum" or after[0] == "enum":
        names = [", ".join(name for name, _ in shape[1]) for shape in (before, after)]
        return f"its members {names[0]} become {names[1]}"
    if before[1] != after[1] and before[1] is not None and after[1] is not None:
        (old_name, old_version), (new_name, new_version) = before[1], after[1]
        if old_name != new_name:
            return f"renames it from {old_name!r} to {new_name!r}"
        return f"moves its version from {old_version} to {new_version}"
    old = {name: (hint, default) for name, hint, default in before[2]}
    new = {name: (hint, default) for name, hint, default in after[2]}
    words = []
    for name, (hint, default) in new.items():
        if name not in old:
            words.append(f"adds {name}: {_short(hint)}")
        elif old[name][0] != hint:
            words.append(f"retypes {name} from {_short(old[name][0])} to {_short(hint)}")
        elif old[name][1] != default:
            words.append(f"changes the default of {name} from {old[name][1]} to {default}")
    words += [f"drops {name}" for name in old if name not in new]
    if not words and list(old) != list(new):
        words.append(f"reorders its fields to {', '.join(new)}")
    return ", ".join(words) or "changes it"


def _short(hint: str) -> str:
    return hint.rsplit(".", 1)[-1] if hint.count("[") == 0 else hint


def _bind_kept_types(kept: list[type], modules: Mapping[str, ModuleType]) -> list[str]:
    """Rebind the new modules to the running types the world's data is made of, after checking
    that each is unchanged; returns their names. Raises :class:`_Refusal` naming what changed."""
    pairs: list[tuple[type, type]] = []
    changes: list[str] = []
    for old in kept:
        module = modules.get(old.__module__)
        new = _attribute(module, old.__qualname__) if module is not None else None
        info = component_info(old)
        what = (
            f"persistent component {info.name!r} ({old.__qualname__})"
            if info is not None
            else f"{old.__qualname__}"
        )
        if not isinstance(new, type):
            if info is not None:
                changes.append(f"its new code no longer defines {what}")
            continue
        before, after = _shape(old), _shape(new)
        if before != after:
            if info is not None:
                changes.append(
                    f"it would change the schema of {what}: it {_difference(before, after)};"
                    " a schema change needs a restart (and a migration for a renamed or"
                    " retyped field)"
                )
            else:
                changes.append(
                    f"it changes {what}, which the world's data or the settings read at"
                    f" start-up are made of: it {_difference(before, after)}; restart instead"
                )
            continue
        pairs.append((new, old))
    if changes:
        raise _Refusal("; ".join(changes))
    replace = {id(new): old for new, old in pairs}
    for module in modules.values():
        for attr, value in list(vars(module).items()):
            if isinstance(value, type) and id(value) in replace:
                setattr(module, attr, replace[id(value)])
    return [old.__qualname__ for _new, old in pairs]


def _attribute(module: ModuleType, qualname: str) -> object:
    value: object = module
    for part in qualname.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def _check_persistent_types(old: Registry, new: Registry, plugin: str) -> None:
    before = {n for n, t in old.persistent_types.items() if old.owners.get(t) == plugin}
    after = {n for n, t in new.persistent_types.items() if new.owners.get(t) == plugin}
    if after - before:
        added = ", ".join(sorted(after - before))
        raise _Refusal(
            f"it adds the persistent component(s) {added}, whose tables are made at start-up;"
            " restart instead"
        )
    if before - after:
        dropped = ", ".join(sorted(before - after))
        raise _Refusal(f"it no longer registers the persistent component(s) {dropped}")
    for name in after:
        if old.persistent_types[name] is not new.persistent_types[name]:
            raise _Refusal(f"persistent component {name!r} is not the type the world holds")


def _check_world_state(old: Registry, new: Registry, plugin: str) -> None:
    before = {(s.type, s.key) for s in old.world_states if s.plugin == plugin}
    after = {(s.type, s.key) for s in new.world_states if s.plugin == plugin}
    if before != after:
        raise _Refusal("it changes its world state (types or keys), which is saved; restart")


def _check_content_tables(old: Registry, new: Registry, plugin: str) -> None:
    before = {n: m for n, m in old.content_tables.items() if old.owners.get(m) == plugin}
    after = {n: m for n, m in new.content_tables.items() if new.owners.get(m) == plugin}
    if before.keys() != after.keys() or any(before[n] is not after[n] for n in before):
        raise _Refusal("it changes its content tables, which are read at start-up; restart")


# --------------------------------------------------------------------------------------------------
# The service: preparing off the tick


class ReloadService:
    """Prepares the admins' reload requests off the tick, in a worker thread, and hands each
    result to the engine's inbox, from the event loop (the only thread that touches the inbox).

    A ``kadath.services`` entry point: ``kadath serve`` runs it beside the tick loop."""

    name = "reload"
    priority = 30  # after the database and the network: nothing else depends on it

    def __init__(self, config: Config | None = None) -> None:
        self._config = config
        self._wanted = asyncio.Event()
        self._stopping = False

    def start(self, engine: Engine) -> None:
        engine.reloader.attach(self._wanted.set)

    async def run(self, engine: Engine) -> None:
        reloader = engine.reloader
        while not self._stopping:
            await self._wanted.wait()
            self._wanted.clear()
            for request in reloader.take():
                item = await asyncio.to_thread(reloader.prepare, request)
                engine.submit(item)  # even when stopping: the request is answered

    def stop(self, engine: Engine) -> None:
        self._stopping = True
        engine.reloader.detach()
        self._wanted.set()


def service(config: Config) -> ReloadService:
    """The ``kadath.services`` entry point's factory."""
    return ReloadService(config)
