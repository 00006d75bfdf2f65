"""The journal: every input the tick consumed, appended to a file by a thread of its own, so that a
run can be replayed tick by tick (``kadath replay``) and checked against what was saved.

A *run* (one server start) is a folder of numbered segment files, JSON lines each. The first
segment opens with a header and the **base**: the saved state the run started from (an export of
the database as restored, accounts left out), so a run replays without the database it came from.
Each tick that consumed an input or changed persistent state adds one record: its inputs (with
stable ids, never process-local entity ids) and, per changed entity, a short digest of its new
persistent state, which lets a replay name the first tick and entity where it went another way.
A segment past ``segment_bytes`` is closed at a tick boundary and the next one continues it.

On the tick thread only :meth:`JournalWriter.submit` runs: it encodes the tick's inputs (a few
hundred nanoseconds each) and queues them with the tick's immutable change values; encoding,
hashing, writing and syncing happen on the journal thread. A journal write that fails is logged
and counted, and journaling stops: the game never waits for, or dies of, its journal.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any, Final

import orjson

from engine.commands import Command
from engine.component import component_info
from engine.inputs import (
    Arrival,
    DropConnection,
    EnterWorld,
    LeaveWorld,
    PresenceInput,
    ReloadPlugin,
    Relocate,
)
from engine.stats import Metric, counter, gauge
from engine.world import Changes, World
from persist.handoff import decode_entities, encode_entities

__all__ = [
    "JOURNAL_FORMAT",
    "JOURNAL_METRICS",
    "JOURNAL_VERSION",
    "JournalError",
    "JournalRun",
    "JournalStats",
    "JournalWriter",
    "TickRecord",
    "change_digests",
    "content_digest",
    "decode_input",
    "encode_input",
    "read_run",
    "read_since",
]

log = logging.getLogger("kadath.journal")

JOURNAL_FORMAT: Final = "kadath-journal"
JOURNAL_VERSION: Final = 1
#: Segment files of a run are named ``segment-NNNN.jsonl``, numbered from 0.
SEGMENT_PATTERN: Final = "segment-{:04d}.jsonl"
#: The line that closes the base in the first segment.
BASE_END: Final = "base_end"

Input = Command | PresenceInput | ReloadPlugin | Arrival
EncodedInput = list[Any]


class JournalError(ValueError):
    """A journal that cannot be read or replayed here; the message says why and what to do."""


# ------------------------------------------------------------------------------------- encoding


def encode_input(world: World, item: Input) -> EncodedInput | None:
    """The journal form of one input, naming characters by stable id; None for a command from an
    entity without one (a test's transient actor), which no replay could name."""
    if isinstance(item, Command):
        sid = world.stable_id(item.actor)
        if sid is None:  # a command of one that crossed to another shard in this tick
            sid = world.evicted_stable_id(item.actor)
        if sid is None:
            return None
        return ["cmd", sid, item.role, item.verb, item.args, item.received_tick]
    if isinstance(item, EnterWorld):
        return ["enter", item.account, item.character]
    if isinstance(item, DropConnection):
        return ["drop", item.character, item.grace_s]
    if isinstance(item, ReloadPlugin):  # which plugin, who asked, any refusal: never the code
        return ["reload", item.plugin, item.by, item.refused]
    if isinstance(item, Arrival):  # from another shard: everything it brought, as saved rows
        return ["arrive", item.handoff_id, encode_entities(item.entities)]
    if isinstance(item, Relocate):
        return ["relocate", item.character, item.room, item.vanish, item.appear]
    return ["leave", item.character, item.reason]


def decode_input(world: World, encoded: Sequence[Any]) -> Input:
    """The input a journal line recorded, with the replaying world's entity for a command's actor.

    Raises :class:`JournalError` for a record this version cannot read."""
    try:
        kind = encoded[0]
        if kind == "cmd":
            _, sid, role, verb, args, received = encoded
            actor = world.entity_of(sid)
            if actor is None:
                raise JournalError(f"a command from entity {sid}, which the replay does not have")
            return Command(actor, verb, args, received, role=role)
        if kind == "enter":
            _, account, character = encoded
            return EnterWorld(account, character)
        if kind == "drop":
            _, character, grace = encoded
            return DropConnection(character, float(grace))
        if kind == "leave":
            _, character, reason = encoded
            return LeaveWorld(character, reason)
        if kind == "arrive":
            _, handoff_id, entities = encoded
            return Arrival(handoff_id, decode_entities(entities))
        if kind == "relocate":
            _, character, room, vanish, appear = encoded
            return Relocate(character, room, vanish, appear)
        if kind == "reload":
            _, plugin, by, refused = encoded
            return ReloadPlugin(plugin, by, refused=refused)
    except (ValueError, TypeError, IndexError) as exc:
        raise JournalError(f"an input this version cannot read: {encoded!r} ({exc})") from None
    raise JournalError(f"an input of unknown kind: {encoded!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value, key=repr)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot digest a {type(value).__name__}")


def change_digests(changes: Changes) -> list[tuple[int, int]]:
    """``[[stable id, digest], ...]`` (sorted by id) of every entity whose persistent state the
    tick changed: a 48-bit hash of its changed components' names and new values (None for a
    removed one), the same in every process. Exact enough to find where a replay diverged."""
    by_sid: dict[int, list[tuple[str, Any]]] = {}
    for (sid, ctype), values in changes.values.items():
        by_sid.setdefault(sid, []).append((_name(ctype), values))
    for sid, ctype in changes.deleted:
        by_sid.setdefault(sid, []).append((_name(ctype), None))
    for sid in changes.destroyed:
        by_sid.setdefault(sid, []).append(("", None))
    digests: list[tuple[int, int]] = []
    for sid in sorted(by_sid):
        parts = sorted(by_sid[sid], key=lambda part: part[0])
        raw = orjson.dumps(parts, default=_plain)
        digests.append((sid, int.from_bytes(hashlib.blake2b(raw, digest_size=6).digest(), "big")))
    return digests


def _name(ctype: type) -> str:
    info = component_info(ctype)
    return info.name if info is not None else ctype.__qualname__


def content_digest(folders: Iterable[Path]) -> str:
    """A digest of every content file (``*.toml``) under ``folders``, by relative path and bytes:
    a replay on other content would be a replay of another world."""
    digest = hashlib.blake2b(digest_size=16)
    for index, folder in enumerate(folders):
        for path in sorted(folder.rglob("*.toml")):
            relative = path.relative_to(folder).as_posix()
            if any(part.startswith(".") for part in path.relative_to(folder).parts):
                continue
            digest.update(f"{index}:{relative}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


# --------------------------------------------------------------------------------------- writer


@dataclass(frozen=True, slots=True)
class JournalStats:
    """The journal's figures for the statistics table, the admin ``stats`` command and /metrics."""

    folder: str
    segment: int
    records: int
    bytes_written: int
    queued_ticks: int
    unjournaled_inputs: int
    failed: bool
    last_error: str

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


JOURNAL_METRICS: tuple[Metric[JournalStats], ...] = (
    counter(
        "kadath_journal_records_total",
        "Ticks recorded in the journal since start-up.",
        lambda stats: stats.records,
    ),
    counter(
        "kadath_journal_bytes_total",
        "Bytes written to the journal since start-up.",
        lambda stats: stats.bytes_written,
    ),
    gauge(
        "kadath_journal_queued_ticks",
        "Ticks handed to the journal thread and not yet written.",
        lambda stats: stats.queued_ticks,
    ),
    gauge(
        "kadath_journal_failed",
        "1 once a journal write failed (journaling then stops; play goes on), else 0.",
        lambda stats: int(stats.failed),
    ),
)
"""What /metrics shows of the journal."""


_STOP: Final = object()


class JournalWriter:
    """Appends a run's records from a thread of its own; see the module docstring.

    ``header`` is the run's identity (world, content, configuration, plugins), written at the top
    of every segment; ``base`` the export lines of the state the run starts from, written into the
    first segment before anything else. Nothing is written until :meth:`start`.
    """

    metrics = JOURNAL_METRICS

    def __init__(
        self,
        folder: Path,
        header: Mapping[str, Any],
        base: Iterable[bytes],
        *,
        segment_bytes: int,
        sync_interval_s: float,
    ) -> None:
        self.folder = folder
        self.header = dict(header)
        self._base = base
        self.segment_bytes = segment_bytes
        self.sync_interval_s = sync_interval_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="kadath-journal", daemon=True)
        self._segment = 0
        self._file: IO[bytes] | None = None
        self._size = 0
        self._records = 0
        self._written = 0
        self._queued = 0
        self._unjournaled = 0
        self._failed = False
        self._last_error = ""
        self._last_tick = int(header.get("start_tick", 0))
        self._ended = False

    # -------------------------------------------------------------- tick thread

    def submit(self, world: World, tick: int, inputs: Sequence[Input], changes: Changes) -> None:
        """Queue one tick (its inputs encoded now, while their entities are known). Never blocks."""
        if self._failed or (not inputs and not len(changes) and not changes.destroyed):
            return
        encoded = []
        for item in inputs:
            record = encode_input(world, item)
            if record is None:
                self._unjournaled += 1
            else:
                encoded.append(record)
        self._queued += 1
        self._queue.put((tick, encoded, changes))

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=False)
        self._thread.start()

    def stop(self, timeout_s: float = 30.0, *, end_tick: int | None = None) -> bool:
        """Write what is queued, close the run with an end record, and stop; False if the thread
        did not finish in time (what was queued may then be lost)."""
        self._queue.put((_STOP, end_tick))
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def stats(self) -> JournalStats:
        return JournalStats(
            folder=str(self.folder),
            segment=self._segment,
            records=self._records,
            bytes_written=self._written,
            queued_ticks=self._queued,
            unjournaled_inputs=self._unjournaled,
            failed=self._failed,
            last_error=self._last_error,
        )

    # ----------------------------------------------------------- journal thread

    def _run(self) -> None:
        last_sync = time.monotonic()
        try:
            self._open_segment(base=self._base)
            self._base = ()
            while True:
                item = self._queue.get()
                batch = [item]
                with contextlib.suppress(queue.Empty):
                    while len(batch) < 1000:
                        batch.append(self._queue.get_nowait())
                stop = False
                for entry in batch:
                    if entry[0] is _STOP:
                        stop = True
                        end_tick = entry[1]
                        continue
                    self._queued -= 1
                    self._write_tick(*entry)
                assert self._file is not None
                self._file.flush()
                if time.monotonic() - last_sync >= self.sync_interval_s:
                    os.fsync(self._file.fileno())
                    last_sync = time.monotonic()
                if stop:
                    self._write({"end": end_tick if end_tick is not None else self._last_tick})
                    self._close()
                    return
        except Exception as exc:
            self._failed = True
            self._last_error = f"{type(exc).__name__}: {exc}"
            log.exception("the journal failed and stops; play goes on unjournaled")
            with contextlib.suppress(Exception):
                self._close()

    def _write_tick(self, tick: int, inputs: list[EncodedInput], changes: Changes) -> None:
        if self._size >= self.segment_bytes:
            self._close()
            self._segment += 1
            self._open_segment(base=None, start_tick=tick)
        record: dict[str, Any] = {"t": tick}
        if inputs:
            record["in"] = inputs
        digests = change_digests(changes)
        if digests:
            record["c"] = digests
        self._write(record)
        self._records += 1
        self._last_tick = tick

    def _open_segment(self, *, base: Iterable[bytes] | None, start_tick: int | None = None) -> None:
        path = self.folder / SEGMENT_PATTERN.format(self._segment)
        self._file = open(path, "xb")  # noqa: SIM115 - closed by _close
        self._size = 0
        header = {**self.header, "segment": self._segment}
        if start_tick is not None:
            header["continues_at"] = start_tick
        self._write(header)
        if base is not None:
            rows = -1
            for rows, line in enumerate(base):  # noqa: B007 - the first line is the export header
                self._write_raw(line)
            self._write({BASE_END: max(rows, 0)})

    def _write(self, record: Mapping[str, Any]) -> None:
        self._write_raw(orjson.dumps(record))

    def _write_raw(self, line: bytes) -> None:
        assert self._file is not None
        self._file.write(line + b"\n")
        self._size += len(line) + 1
        self._written += len(line) + 1

    def _close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def new_run_folder(journal_dir: Path, start_tick: int, now: datetime | None = None) -> Path:
    """A run's folder: named by start time and tick, so runs sort in the order they started."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return journal_dir / f"run-{stamp}-t{start_tick:010d}"


# --------------------------------------------------------------------------------------- reader


@dataclass(frozen=True, slots=True)
class TickRecord:
    """One tick of a journal: its inputs as recorded, and the digest of each changed entity."""

    tick: int
    inputs: tuple[EncodedInput, ...]
    digests: tuple[tuple[int, int], ...]


@dataclass(slots=True)
class JournalRun:
    """A run read back: its header, its base (export lines), its tick records in order, and how it
    ended (``end_tick`` set by a clean stop; ``cut_off`` says where a crash cut a record)."""

    folder: Path
    header: dict[str, Any]
    base: list[bytes] = field(default_factory=list)
    records: list[TickRecord] = field(default_factory=list)
    end_tick: int | None = None
    cut_off: str = ""
    segments: int = 0

    @property
    def start_tick(self) -> int:
        return int(self.header["start_tick"])

    @property
    def last_tick(self) -> int:
        """The last tick the run covers: its end record, else its last whole record."""
        if self.end_tick is not None:
            return self.end_tick
        return self.records[-1].tick if self.records else self.start_tick


def _run_folder(path: Path) -> tuple[Path, int | None]:
    """(the run folder, the last segment to read or None for all) for a folder or segment path."""
    if path.is_dir():
        return path, None
    if path.is_file() and path.name.startswith("segment-") and path.suffix == ".jsonl":
        try:
            return path.parent, int(path.stem.removeprefix("segment-"))
        except ValueError:
            pass
    if path.exists():
        raise JournalError(f"{path} is not a journal run folder or segment-NNNN.jsonl file")
    raise JournalError(f"{path} does not exist")


def read_run(
    path: Path, check_header: Callable[[Mapping[str, Any]], None] | None = None
) -> JournalRun:
    """Read a run (its folder, or one segment file: the run up to that segment).

    A record cut off mid-line (a crash) ends the run there, and ``cut_off`` says so; anything else
    malformed raises :class:`JournalError` naming the file and line.
    """
    folder, last = _run_folder(path)
    segments = sorted(folder.glob("segment-*.jsonl"))
    if not segments:
        raise JournalError(f"{folder} holds no journal segment (segment-0000.jsonl)")
    run: JournalRun | None = None
    for number, segment in enumerate(segments):
        if segment.name != SEGMENT_PATTERN.format(number):
            raise JournalError(f"{folder}: segment {SEGMENT_PATTERN.format(number)} is missing")
        if last is not None and number > last:
            break
        run = _read_segment(segment, number, run, check_header)
        run.segments = number + 1
        if run.cut_off or run.end_tick is not None:
            break
    assert run is not None
    return run


def read_since(folder: Path, tick: int) -> JournalRun:
    """The run in ``folder`` as far as a roll-forward past ``tick`` needs it: its segments read
    from the last one back to the one that continues the run at or before ``tick + 1``, so a run
    of weeks costs its tail, not its length. Its ``records`` are those of the segments read (the
    caller takes the ones after ``tick``); the base only if the first segment was read."""
    segments = sorted(folder.glob("segment-*.jsonl"))
    if not segments:
        raise JournalError(f"{folder} holds no journal segment (segment-0000.jsonl)")
    tail: list[JournalRun] = []
    for number in range(len(segments) - 1, -1, -1):
        segment = folder / SEGMENT_PATTERN.format(number)
        if not segment.is_file():
            raise JournalError(f"{folder}: segment {SEGMENT_PATTERN.format(number)} is missing")
        part = _read_segment(segment, number, None, None)
        tail.append(part)
        if number == 0 or int(part.header.get("continues_at", 0)) <= tick + 1:
            break
    run, last = tail[-1], tail[0]
    for part in reversed(tail[:-1]):
        run.records.extend(part.records)
    run.end_tick, run.cut_off, run.segments = last.end_tick, last.cut_off, len(segments)
    return run


def _read_segment(
    path: Path,
    number: int,
    run: JournalRun | None,
    check_header: Callable[[Mapping[str, Any]], None] | None,
) -> JournalRun:
    data = path.read_bytes()
    lines = data.split(b"\n")
    whole, partial = lines[:-1], lines[-1]  # a last line without its newline was cut off
    if not whole:
        raise JournalError(f"{path}: no header line (an empty or cut-off segment)")
    header = _load(path, 1, whole[0])
    if not isinstance(header, dict) or header.get("format") != JOURNAL_FORMAT:
        raise JournalError(f"{path}: not a Kadath journal (no {JOURNAL_FORMAT} header)")
    if header.get("version") != JOURNAL_VERSION:
        raise JournalError(
            f"{path}: journal format version {header.get('version')!r}; this Kadath reads"
            f" version {JOURNAL_VERSION}"
        )
    if header.get("segment") != number:
        raise JournalError(f"{path}: its header says segment {header.get('segment')!r}")
    if check_header is not None:
        check_header(header)
    if run is None:
        run = JournalRun(path.parent, header)
    elif header.get("run") != run.header.get("run"):
        raise JournalError(f"{path}: belongs to another run ({header.get('run')!r})")
    index = 1
    if number == 0:
        while True:
            if index >= len(whole):
                raise JournalError(f"{path}: the base is cut off before {BASE_END}")
            line = whole[index]
            index += 1
            if line.startswith(b'{"' + BASE_END.encode()):
                break
            run.base.append(line)
    for line_number in range(index, len(whole)):
        record = _load(path, line_number + 1, whole[line_number])
        if "end" in record:
            run.end_tick = int(record["end"])
            return run
        run.records.append(
            TickRecord(
                int(record["t"]),
                tuple(record.get("in", ())),
                tuple((int(s), int(h)) for s, h in record.get("c", ())),
            )
        )
    if partial:
        run.cut_off = (
            f"{path.name} ends in the middle of a record (line {len(whole) + 1},"
            f" {len(partial)} bytes): the server stopped without closing it, a crash"
        )
    return run


def _load(path: Path, line: int, raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JournalError(f"{path}: line {line} is not JSON ({exc})") from None


def iter_base(run: JournalRun) -> Iterator[bytes]:
    """The base export lines, for :func:`persist.cli.import_lines`."""
    yield from run.base
