"""Rolling forward: at start-up, what the last run journaled after its last flush is played again,
so a crash (or a database that refused the final flush) loses no command that was journaled.

The database holds the world as of the writer's last flush (at most ``persist.flush_interval_s``
old after a crash); the journal is written through every tick, so it holds the inputs of the
ticks after it. The persistence service finds that tail when it restores (:func:`find_unfinished`)
and rolls it forward (:func:`roll_forward`) as soon as its writer and journal run, before any
other service starts (so before the characters a crash left in the world are dealt with). A
shard's world is not ready for inputs until it knows its zones: there the tail is left in the
world as an :class:`Unfinished` resource, which the shard rolls forward once it does.

Inputs, not outcomes: the journal holds what came in and only digests of what changed, so the
ticks are run again through the rules, each with the inputs it had. That gives back what the
players did (what they took, dropped, said, where they went). It is not an exact replay: the
world restored from a flush lacks what is never saved (a fight in progress, a mind's accrued
part of a lucidity point, a link-dead character's grace), so what depends on those or on chance
may come out otherwise. Each rolled tick's changes are compared with the journal's digests and the
:class:`RollForward` report says how many came out as recorded.

An input is played again only if what it names is here: a command whose actor is in the world, a
login, link-death or move of a character that is (or the login of an account whose character is
yet to be made). The rest is left out and counted: arrivals from other shards (a committed
hand-off's things were restored from the database; one not committed is redelivered by the
broker), plugin reloads (the plugins are loaded as they are now), and in a shard, anything about
a character that changed hands since the flush.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from engine.core import Engine
from engine.world import World
from persist.journal import JournalError, JournalRun, change_digests, decode_input, read_since

__all__ = ["IDENTITY", "RollForward", "Unfinished", "find_unfinished", "roll_forward"]

log = logging.getLogger("kadath.persist.rollforward")

#: The journal header's entries that must be the same in the run rolled forward and this one: the
#: world's content, component versions, plugins, the simulation's settings and the database.
IDENTITY: Final = (
    "content",
    "components",
    "plugins",
    "plugins_disabled",
    "engine",
    "calendar",
    "database",
)
#: Inputs that name the entity they are about at this index (after their kind).
_NAMED: Final = {"cmd": 1, "enter": 2, "drop": 1, "leave": 1, "relocate": 1}


@dataclass(frozen=True, slots=True)
class Unfinished:
    """A previous run's journal tail past the saved tick: its ticks after ``saved_tick``."""

    run: JournalRun
    saved_tick: int

    @property
    def last_tick(self) -> int:
        return self.run.last_tick


@dataclass(frozen=True, slots=True)
class RollForward:
    """What a roll-forward did: the run's ticks it played again, the inputs it applied and left
    out, and how many of the ticks changed what the journal recorded."""

    run: str
    first_tick: int
    last_tick: int
    inputs: int
    left_out: int
    as_recorded: int
    seconds: float = 0.0

    @property
    def ticks(self) -> int:
        return self.last_tick - self.first_tick + 1

    def __str__(self) -> str:
        return (
            f"rolled forward ticks {self.first_tick}..{self.last_tick} of journal {self.run}:"
            f" {self.inputs} input(s) applied again, {self.left_out} left out (what they name is"
            f" not here); {self.as_recorded} of {self.ticks} tick(s) changed what was recorded;"
            f" {self.seconds:.2f} s"
        )


def find_unfinished(
    journals: Path, header: Mapping[str, Any], saved_tick: int
) -> Unfinished | None:
    """The last run under ``journals`` if it went past ``saved_tick`` and was recorded on this
    world (``header``: this run's, see :data:`IDENTITY`); None, saying why in the log, if not."""
    run = _last_run(journals, saved_tick)
    if run is None:
        return None
    folder = run.folder
    if run.last_tick <= saved_tick:
        return None  # a clean stop, or a crash right after a flush: nothing to do
    differ = [key for key in IDENTITY if run.header.get(key) != header.get(key)]
    if differ:
        log.warning(
            "the journal %s goes on to tick %d past the saved tick %d, but it was recorded with"
            " another %s: not rolled forward (those ticks are lost)",
            folder.name,
            run.last_tick,
            saved_tick,
            ", ".join(differ),
        )
        return None
    if run.start_tick > saved_tick:
        log.warning(
            "the journal %s starts at tick %d, after the saved tick %d (a database older than"
            " the journal): not rolled forward",
            folder.name,
            run.start_tick,
            saved_tick,
        )
        return None
    if run.cut_off:
        log.info(
            "journal %s: %s; rolled forward to its last whole record", folder.name, run.cut_off
        )
    return Unfinished(run, saved_tick)


def _last_run(journals: Path, saved_tick: int) -> JournalRun | None:
    """The last run under ``journals`` that did something: a start that recorded nothing from
    the saved state on (it failed before its first tick, say) is passed over for the one
    before it, whose tail would be lost otherwise."""
    for folder in sorted((p for p in journals.glob("run-*") if p.is_dir()), reverse=True):
        try:
            run = read_since(folder, saved_tick)
        except (JournalError, OSError) as exc:
            log.warning(
                "the journal %s cannot be read, so it is not rolled forward: %s", folder, exc
            )
            return None
        if run.records or run.start_tick != saved_tick:
            return run
    return None


def roll_forward(
    engine: Engine,
    unfinished: Unfinished,
    leave_alone: Callable[[set[int]], set[int]] | None = None,
    *,
    settle: bool = False,
) -> RollForward:
    """Play ``unfinished`` tick by tick on ``engine``, restored at its saved tick (blocking:
    before the loop starts; listeners see ordinary ticks, so the writer saves them and this
    run's journal records them with the inputs applied).

    A shard passes the other two. ``leave_alone``: which of the characters the tail names must
    not be played again, because they changed hands since the flush (see ``ShardServer``):
    a crossing played again would hand one on a second time. ``settle``: run one tick without
    inputs first, and each of the tail's ticks one tick later. A shard restores every saved
    row and lets go of what stands in other shards' zones in its first tick, after that tick's
    inputs: a step over the border played in that tick would be let go of with the rest, not
    handed on."""
    world = engine.world
    if world.clock.tick != unfinished.saved_tick:
        raise RuntimeError("roll_forward runs before the first tick, on the world as restored")
    records = {r.tick: r for r in unfinished.run.records if r.tick > unfinished.saved_tick}
    named = {sid for r in records.values() for encoded in r.inputs if (sid := _named(encoded))}
    foreign = leave_alone(named) if leave_alone is not None and named else set()
    started = time.perf_counter()
    if settle:
        engine.tick()
    late = 1 if settle else 0  # a tail tick t is played as tick t + late
    applied = left_out = as_recorded = 0
    first = unfinished.saved_tick + 1
    while world.clock.tick - late < unfinished.last_tick:
        record = records.get(world.clock.tick + 1 - late)
        kept, dropped = _playable(world, record.inputs if record is not None else (), foreign)
        for item in kept:
            engine.submit(item)
        applied, left_out = applied + len(kept), left_out + dropped
        result = engine.tick()
        recorded = dict(record.digests) if record is not None else {}
        as_recorded += dict(change_digests(result.changes)) == recorded
    report = RollForward(
        unfinished.run.folder.name,
        first,
        unfinished.last_tick,
        applied,
        left_out,
        as_recorded,
        time.perf_counter() - started,
    )
    log.info("%s", report)
    return report


def _playable(
    world: World, inputs: Sequence[list[Any]], foreign: set[int]
) -> tuple[list[Any], int]:
    """The inputs of a tick this world can take, decoded, and how many it cannot."""
    kept = []
    for encoded in inputs:
        if not _here(world, encoded, foreign):
            continue
        try:
            kept.append(decode_input(world, encoded))
        except JournalError as exc:
            log.warning("journal input %r left out: %s", encoded, exc)
    return kept, len(inputs) - len(kept)


def _named(encoded: Sequence[Any]) -> int | None:
    """The stable id of the entity an input is about (None: none, or a kind that names none)."""
    index = _NAMED.get(str(encoded[0]) if encoded else "")
    if index is None or len(encoded) <= index or not isinstance(encoded[index], int):
        return None
    return int(encoded[index])


def _here(world: World, encoded: Sequence[Any], foreign: set[int]) -> bool:
    """Whether what the input names is this world's (a login of an account that had no
    character yet names none: one is made again, as it was)."""
    if not encoded or encoded[0] not in _NAMED:
        return False  # an arrival or a reload: see the module docstring
    sid = _named(encoded)
    if sid is None:
        return bool(encoded[0] == "enter" and encoded[_NAMED["enter"]] is None)
    return sid not in foreign and world.entity_of(sid) is not None
