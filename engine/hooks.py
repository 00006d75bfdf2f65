"""Hooks: plugin functions that the built-in rules call at a given point, contained like systems.

A **look contributor** adds lines to what someone sees of a room, a person or a thing (weather
outdoors, a curse on a face). The core's ``look`` asks every contributor, in the order the plugins
registered them (plugin load order, then registration order: never by chance), through the
:class:`LookHooks` world resource the engine inserts. A contributor that raises is logged with its
traceback and counted, the others still speak, and ``look`` still works; after
``engine.system_failure_limit`` failures in a row it is switched off, as a failing system is.
Contributors are pure functions of the world: no I/O, no changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.world import World

__all__ = ["HookStats", "LookContributor", "LookHooks"]

log = logging.getLogger("kadath.hooks")

LookContributor = Callable[["World", "int | None", int], "Iterable[str] | None"]
"""``contributor(world, viewer, seen)``: lines to add to what ``viewer`` (None: nobody in
particular) sees of ``seen``, a room, a person or a thing; None or nothing for none. It must not
change the world: it runs whenever anyone looks, and moving into a room is looking at it."""


@dataclass(slots=True)
class _Contributor:
    name: str
    plugin: str
    fn: LookContributor
    calls: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    enabled: bool = True
    disabled_reason: str = ""


@dataclass(frozen=True, slots=True)
class HookStats:
    """One contributor's record: how often it was asked, how often it failed, whether it is on."""

    name: str
    plugin: str
    calls: int
    failures: int
    enabled: bool
    disabled_reason: str


class LookHooks:
    """The look contributors of every plugin, asked in a fixed order, each failure contained."""

    def __init__(
        self, contributors: Sequence[tuple[str, LookContributor]] = (), *, failure_limit: int = 10
    ) -> None:
        if failure_limit < 1:
            raise ValueError(f"failure_limit must be >= 1, got {failure_limit}")
        self.failure_limit = failure_limit
        self._contributors = [
            _Contributor(getattr(fn, "__qualname__", repr(fn)), plugin, fn)
            for plugin, fn in contributors
        ]

    def __len__(self) -> int:
        return len(self._contributors)

    def lines(self, world: World, viewer: int | None, seen: int) -> list[str]:
        """Every enabled contributor's lines about ``seen``, in order; a failing one adds none."""
        found: list[str] = []
        for entry in self._contributors:
            if not entry.enabled:
                continue
            entry.calls += 1
            try:
                said = entry.fn(world, viewer, seen)
                lines = [] if said is None else list(said)
                bad = [line for line in lines if not isinstance(line, str)]
                if bad:
                    raise TypeError(f"a look contributor returns strings, not {bad[0]!r}")
            except Exception:
                self._failed(entry, world.clock.tick)
                continue
            entry.consecutive_failures = 0
            found.extend(line for line in lines if line.strip())
        return found

    def _failed(self, entry: _Contributor, tick: int) -> None:
        entry.failures += 1
        entry.consecutive_failures += 1
        log.exception(
            "look contributor %s of plugin %r failed at tick %d", entry.name, entry.plugin, tick
        )
        if entry.consecutive_failures >= self.failure_limit:
            entry.enabled = False
            entry.disabled_reason = (
                f"disabled at tick {tick} after {entry.consecutive_failures} consecutive failures"
            )
            log.error("look contributor %s %s", entry.name, entry.disabled_reason)

    def swap_plugin(
        self, plugin: str, contributors: Sequence[LookContributor], load_order: Sequence[str]
    ) -> None:
        """Put ``contributors`` in place of ``plugin``'s (a hot reload): the others keep their
        records; the order stays plugin load order, then registration order."""
        rank = {name: index for index, name in enumerate(load_order)}
        kept = [entry for entry in self._contributors if entry.plugin != plugin]
        fresh = [
            _Contributor(getattr(fn, "__qualname__", repr(fn)), plugin, fn) for fn in contributors
        ]
        merged = sorted([*kept, *fresh], key=lambda entry: rank.get(entry.plugin, len(rank)))
        self._contributors = merged

    def enable(self, name: str) -> None:
        """Switch a contributor back on (after a fix); its failure streak starts again."""
        for entry in self._contributors:
            if entry.name == name:
                entry.enabled = True
                entry.consecutive_failures = 0
                entry.disabled_reason = ""
                return
        raise KeyError(f"no look contributor named {name!r}")

    def stats(self) -> list[HookStats]:
        """Each contributor's record, in the order they are asked."""
        return [
            HookStats(e.name, e.plugin, e.calls, e.failures, e.enabled, e.disabled_reason)
            for e in self._contributors
        ]
