"""World state: persistent singletons that plugins own, found by their type (and a key).

A plugin declares one with :meth:`engine.plugins.PluginKit.world_state`; rules read it with
:func:`world_state`. Each lives on an entity of its own whose stable id derives from the plugin's
name and the key (:func:`engine.ids.plugin_stable_id`), so a saved value finds its entity after a
restart whatever zones or plugins were added meanwhile. Plain look-ups and, the first time, one
spawn: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from engine.world import World

__all__ = ["StateSpec", "UnknownState", "WorldStates", "world_state"]

C = TypeVar("C")


class UnknownState(KeyError):
    """No plugin declared world state of this type (and key): declare it in ``setup``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such world state"


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One declared piece of world state: whose it is, its key, and how to make its first value."""

    plugin: str
    key: str
    type: type
    default: Callable[[], Any]
    stable_id: int


class WorldStates:
    """The world resource that knows every declared piece of world state (the engine inserts it)."""

    def __init__(self, specs: Iterable[StateSpec] = ()) -> None:
        self._specs: dict[tuple[type, str], StateSpec] = {}
        self._keys: dict[type, list[str]] = {}
        for spec in specs:
            self._specs[(spec.type, spec.key)] = spec
            self._keys.setdefault(spec.type, []).append(spec.key)

    def specs(self) -> list[StateSpec]:
        """Every declaration, in the order the plugins made them."""
        return list(self._specs.values())

    def spec(self, state_type: type, key: str | None = None) -> StateSpec:
        """The declaration of ``state_type`` under ``key`` (or its only one, when ``key`` is
        None), or :class:`UnknownState` saying what is declared."""
        keys = self._keys.get(state_type, [])
        if key is None and len(keys) == 1:
            key = keys[0]
        found = self._specs.get((state_type, key)) if key is not None else None
        if found is None:
            name = state_type.__qualname__
            if not keys:
                raise UnknownState(
                    f"no plugin declared world state of type {name}: call "
                    f"kit.world_state({name}) in the plugin's setup"
                )
            listed = ", ".join(map(repr, keys))
            raise UnknownState(
                f"world state {name} has the keys {listed}; name one (key={keys[0]!r})"
                if key is None
                else f"world state {name} has no key {key!r}; its keys: {listed}"
            )
        return found


def world_state(world: World, state_type: type[C], key: str | None = None) -> C:
    """The world's one ``state_type`` component (under ``key``, if the plugin declared several).

    The first call in a new world makes it from the declared default, on its own persistent
    entity; after a restart the restored one is found. It is an ordinary persistent component:
    assign its fields and the engine saves them. Raises :class:`UnknownState` for a type no
    plugin declared.
    """
    spec = world.resource(WorldStates).spec(state_type, key)
    entity = world.entity_of(spec.stable_id)
    if entity is None:
        entity = world.spawn(stable_id=spec.stable_id)
    found: C | None = world.try_get(entity, state_type)
    if found is None:
        found = spec.default()
        world.add(entity, found)
    return found
