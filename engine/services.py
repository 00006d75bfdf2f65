"""Services: the long-lived parts of the shell (database writer, network server) around a world.

The engine may not import ``persist/`` or ``net/``, so they plug in here: each installed package
advertises a service factory in the ``kadath.services`` entry-point group. ``kadath serve`` starts
services in ascending ``priority`` before the first tick and stops them in reverse after the last,
so the network stops taking commands before the database takes its final snapshot.
"""

from __future__ import annotations

from collections.abc import Awaitable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from engine.config import Config
    from engine.core import Engine

__all__ = ["SERVICE_ENTRY_POINT_GROUP", "Service", "discover_services"]

SERVICE_ENTRY_POINT_GROUP = "kadath.services"


@runtime_checkable
class Service(Protocol):
    """A part of the server with a life cycle. ``start`` and ``stop`` may block (restore, final
    flush): they run before the first tick and after the last. ``run`` is awaited alongside the
    tick loop (a network server's accept loop) and must return soon after ``stop`` begins."""

    name: str
    priority: int

    def start(self, engine: Engine) -> None: ...

    def run(self, engine: Engine) -> Awaitable[None]: ...

    def stop(self, engine: Engine) -> None: ...


def discover_services(config: Config) -> list[Service]:
    """Every installed service, built from its factory ``factory(config)``, in start order."""
    services: list[Service] = []
    for ep in sorted(entry_points(group=SERVICE_ENTRY_POINT_GROUP), key=lambda e: e.name):
        factory = ep.load()
        service = factory(config)
        if not isinstance(service, Service):
            raise TypeError(f"service entry point {ep.name!r} ({ep.value}) built {service!r}")
        services.append(service)
    services.sort(key=lambda s: (s.priority, s.name))
    return services
