"""Events: what happened in a tick, addressed to whoever should hear of it.

Events are plain data (type, scope, JSON-able data, text) so that they can be rendered by the
network shell, logged, or one day cross a process boundary unchanged. Emitting one never does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class ScopeKind(StrEnum):
    """Who an event is for: one entity, everyone in a room, everyone in a zone, everyone, or one
    player character wherever it is (in a sharded world, maybe on another shard)."""

    ENTITY = "entity"
    ROOM = "room"
    ZONE = "zone"
    ALL = "all"
    PLAYER = "player"


@dataclass(frozen=True, slots=True)
class Scope:
    """An event's audience. ``target`` is an entity id for ENTITY and ROOM, a zone id for ZONE,
    a stable id for PLAYER."""

    kind: ScopeKind
    target: int | str | None = None

    @staticmethod
    def entity(entity: int) -> Scope:
        return Scope(ScopeKind.ENTITY, entity)

    @staticmethod
    def room(room: int) -> Scope:
        return Scope(ScopeKind.ROOM, room)

    @staticmethod
    def zone(zone: str) -> Scope:
        return Scope(ScopeKind.ZONE, zone)

    @staticmethod
    def everyone() -> Scope:
        return Scope(ScopeKind.ALL)

    @staticmethod
    def player(stable_id: int) -> Scope:
        """The player character with this stable id, here or on another shard of the world
        (a ``tell``): the shell finds it."""
        return Scope(ScopeKind.PLAYER, stable_id)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened. ``text`` is what a plain client shows; ``data`` is for rich clients.

    ``exclude`` names entities in the scope that must not receive it (the speaker of a ``say`` gets
    their own wording, the rest of the room another).
    """

    type: str
    scope: Scope
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    tick: int = 0
    exclude: frozenset[int] = frozenset()
