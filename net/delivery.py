"""What a loud room costs its listeners: the priorities of server messages, the global budget for
queued output, and the plan of one listener's messages for one tick (merged, dropped, kept).

Sans I/O, like the protocol: plain objects and functions over prepared messages, tested without a
network. The hub collects what each listener is owed in a tick, asks :func:`plan` what to send,
and stamps and queues it; the websockets layer keeps :class:`OutputBudget` up to date as frames
are queued and written. Nothing here may touch a socket, a clock or the world.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final

from net.protocol import Prepared, prepare

__all__ = [
    "AMBIENT_FROM",
    "CROWD_WORDS",
    "SPEECH_FROM",
    "OutputBudget",
    "Pending",
    "Plan",
    "Priority",
    "crowd_line",
    "lowest_kept",
    "plan",
]


class Priority(IntEnum):
    """How much a message matters to the one receiving it; the higher, the sooner it is dropped.

    ``OWN``: a player's own answers (everything addressed to them alone, and a room's line about
    themselves): never dropped nor merged. ``SPEECH``: speech, combat and every other line of a
    room, zone or the world. ``AMBIENT``: other people's arrivals, departures, emotes and the like
    (``net.ambient_events``): merged when many, dropped first.
    """

    OWN = 0
    SPEECH = 1
    AMBIENT = 2


AMBIENT_FROM: Final = 0.5
"""Fill of the output budget from which ambient lines are dropped for listeners with a backlog."""
SPEECH_FROM: Final = 1.0
"""Fill of the output budget from which speech and combat are dropped too for such listeners."""

CROWD_WORDS: Final[Mapping[str, str]] = {
    "arrive": "{n} people arrive.",
    "leave": "{n} people leave.",
    "emote": "{n} people gesture and mutter at once.",
    "posture": "{n} people shift about.",
}
"""The words of a merged line, by event kind; other kinds get ``CROWD_DEFAULT``."""
CROWD_DEFAULT: Final = "Around you, {n} more things happen at once."


@dataclass(slots=True)
class Pending:
    """One message owed to one listener this tick. ``kind`` is the engine event's type (empty for
    the shell's own messages); ``about`` the stable ids the line is about (its speaker, its
    mover), so a room's line about the listener counts as the listener's own."""

    prepared: Prepared
    priority: Priority
    kind: str = ""
    about: tuple[int, ...] = ()


@dataclass(slots=True)
class OutputBudget:
    """All the output queued for clients, in bytes, against one budget for the whole server.

    The websockets layer adds a frame's size when it queues it and takes it off when the frame is
    written to the socket; the hub reads ``fill`` once per tick. Per-connection bounds cut off a
    client that stops reading; the budget keeps the sum of every connection's queue bounded by
    configuration however many listeners crowd into one room.
    """

    limit_bytes: int
    queued_bytes: int = 0
    peak_bytes: int = 0
    clients_cut_off: int = 0
    """Clients cut off for not reading (counted by the links)."""

    def add(self, size: int) -> None:
        self.queued_bytes += size
        if self.queued_bytes > self.peak_bytes:
            self.peak_bytes = self.queued_bytes

    def remove(self, size: int) -> None:
        self.queued_bytes -= size

    @property
    def fill(self) -> float:
        """Queued bytes as a share of the budget (1.0: spent)."""
        return self.queued_bytes / self.limit_bytes

    @property
    def spent(self) -> bool:
        return self.queued_bytes >= self.limit_bytes


def lowest_kept(fill: float, backlog: bool) -> Priority:
    """The least important kind of line a listener still receives.

    A listener whose queue was empty when the tick ended (it read everything it was sent) gets
    every line, whatever the budget: it keeps up. For one with a backlog, ambient lines go once
    the budget is ``AMBIENT_FROM`` full, speech and combat once it is ``SPEECH_FROM`` full; its
    own answers always stay.
    """
    if not backlog or fill < AMBIENT_FROM:
        return Priority.AMBIENT
    if fill < SPEECH_FROM:
        return Priority.SPEECH
    return Priority.OWN


@dataclass(slots=True)
class Plan:
    """What one listener is sent this tick, and what was held back."""

    send: list[Prepared] = field(default_factory=list)
    dropped: int = 0
    merged: int = 0
    """Lines folded into crowd lines (a crowd line of 12 counts 12)."""


def crowd_line(kind: str, count: int, tick: int) -> Prepared:
    """The one line that stands for ``count`` ambient lines of ``kind`` in a tick."""
    words = CROWD_WORDS.get(kind, CROWD_DEFAULT)
    return prepare(
        "msg", {"event": kind, "count": count, "crowd": True}, words.format(n=count), tick=tick
    )


def plan(
    pending: Sequence[Pending],
    *,
    listener: int | None,
    keep: Priority,
    crowd_lines: int,
    tick: int,
    crowd_cache: dict[tuple[str, int], Prepared] | None = None,
) -> Plan:
    """What to send one listener (stable id ``listener``) of the messages ``pending`` this tick.

    In order, never reordered: lines below ``keep`` (see :func:`lowest_kept`) are dropped, except
    the listener's own (priority ``OWN``, or ``about`` naming the listener); more than
    ``crowd_lines`` ambient lines of one kind become one crowd line, in the place of the first.
    ``crowd_cache`` shares crowd lines between listeners of one tick (one encode for a room).
    Cost: linear in ``pending``.
    """
    result = Plan()
    counts: dict[str, int] = {}

    def own(item: Pending) -> bool:
        return item.priority is Priority.OWN or (listener is not None and listener in item.about)

    kept: list[Pending] = []
    for item in pending:
        if item.priority > keep and not own(item):
            result.dropped += 1
            continue
        kept.append(item)
        if item.priority is Priority.AMBIENT and not own(item):
            counts[item.kind] = counts.get(item.kind, 0) + 1
    crowded = {kind: n for kind, n in counts.items() if n > crowd_lines}
    placed: set[str] = set()
    for item in kept:
        kind = item.kind
        if kind in crowded and item.priority is Priority.AMBIENT and not own(item):
            if kind not in placed:
                placed.add(kind)
                n = crowded[kind]
                result.merged += n
                cached = crowd_cache.get((kind, n)) if crowd_cache is not None else None
                if cached is None:
                    cached = crowd_line(kind, n, tick)
                    if crowd_cache is not None:
                        crowd_cache[(kind, n)] = cached
                result.send.append(cached)
            continue
        result.send.append(item.prepared)
    return result
