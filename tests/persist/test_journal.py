"""The journal file: what a tick's record holds, how a run's segments rotate and end, how a
reader finds a crash's cut, and that a failing journal never stops the game."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from components.body import Identity, Player
from engine.commands import Command
from engine.inputs import DropConnection, EnterWorld, LeaveWorld, ReloadPlugin, Relocate
from engine.world import Changes, World
from persist.journal import (
    JournalError,
    JournalWriter,
    change_digests,
    content_digest,
    decode_input,
    encode_input,
    new_run_folder,
    read_run,
)

#: Generous bound for the journal thread to write; never an assertion on speed.
WAIT_S = 30.0
HEADER = {"format": "kadath-journal", "version": 1, "start_tick": 10, "run": "run-x"}
BASE = [b'{"format":"kadath-export","version":1,"components":{}}', b'{"table":"t","row":{}}']


def _world_with_player() -> tuple[World, int]:
    world = World(seed=1)
    player = world.spawn(Identity("Armitage"), Player("Armitage"), persistent=True)
    return world, player


def _changes(tick: int, *keys: tuple[int, type, tuple[object, ...]]) -> Changes:
    """A tick's changes: each key changed to the values given."""
    values = {(sid, ctype): vals for sid, ctype, vals in keys}
    changed = {key: ctype(*vals) for key, vals in values.items() for ctype in (key[1],)}
    return Changes(tick, {}, changed, frozenset(), frozenset(), frozenset(), values)


def _writer(folder: Path) -> JournalWriter:
    return JournalWriter(folder, HEADER, BASE, segment_bytes=1 << 20, sync_interval_s=0)


def _wait_written(writer: JournalWriter) -> None:
    deadline = time.monotonic() + WAIT_S
    while writer.stats().queued_ticks and time.monotonic() < deadline:
        time.sleep(0.01)


def test_inputs_are_recorded_by_stable_id_and_read_back_as_the_same_inputs() -> None:
    world, player = _world_with_player()
    sid = world.stable_id(player)
    items: list[Command | EnterWorld | DropConnection | LeaveWorld | ReloadPlugin | Relocate] = [
        Command(player, "say", "ia ia", 4, role="admin"),
        EnterWorld("Armitage", sid),
        EnterWorld("Carter", None),
        DropConnection(sid or 0, 60.0),
        LeaveWorld(sid or 0, "shutdown"),
        ReloadPlugin("candles", sid, refused="its code does not import"),
        Relocate(sid or 0, "arkham.square", "vanishes", "appears out of thin air"),
    ]
    encoded = [encode_input(world, item) for item in items]
    assert encoded[0] == ["cmd", sid, "admin", "say", "ia ia", 4]
    decoded = [decode_input(world, orjson.loads(orjson.dumps(e))) for e in encoded if e]
    assert decoded == items


def test_a_command_from_an_entity_without_a_stable_id_cannot_be_recorded() -> None:
    world = World()
    dummy = world.spawn(Identity("Dummy"))
    assert encode_input(world, Command(dummy, "look", "", 1)) is None


@pytest.mark.parametrize(
    "bad",
    [["cmd", 1], ["fly", 1, 2], ["drop", 1, "soon"], "look", ["cmd", 99, "player", "x", "", 1]],
)
def test_an_input_this_version_cannot_read_is_a_journal_error(bad: object) -> None:
    with pytest.raises(JournalError):
        decode_input(World(), bad)  # type: ignore[arg-type]


def test_a_ticks_digests_name_each_changed_entity_and_depend_only_on_its_new_state() -> None:
    first = _changes(1, (7, Identity, ("Armitage", (), "")), (5, Player, ("Armitage",)))
    again = _changes(9, (5, Player, ("Armitage",)), (7, Identity, ("Armitage", (), "")))
    other = _changes(1, (7, Identity, ("Carter", (), "")), (5, Player, ("Armitage",)))
    assert [sid for sid, _ in change_digests(first)] == [5, 7]
    assert change_digests(first) == change_digests(again)  # order and tick do not matter
    assert change_digests(first)[0] == change_digests(other)[0]
    assert change_digests(first)[1] != change_digests(other)[1]
    # A stable value, whatever the process (no salted hashing).
    assert change_digests(_changes(1, (5, Player, ("Armitage",)))) == [(5, 180429307185753)]
    removed = Changes(1, {}, {}, frozenset({(7, Identity)}), frozenset(), frozenset())
    assert [sid for sid, _ in change_digests(removed)] == [7]


def test_a_run_has_its_header_and_base_then_a_record_per_tick_then_its_end(tmp_path: Path) -> None:
    world, player = _world_with_player()
    sid = world.stable_id(player)
    assert sid is not None
    writer = JournalWriter(
        tmp_path / "run-x", HEADER, BASE, segment_bytes=1 << 20, sync_interval_s=0
    )
    writer.start()
    writer.submit(world, 11, [Command(player, "look", "", 10)], _changes(11))
    writer.submit(world, 12, [], _changes(12))  # nothing happened: no record
    writer.submit(world, 13, [], _changes(13, (sid, Player, ("Armitage",))))
    assert writer.stop(WAIT_S, end_tick=14)
    run = read_run(tmp_path / "run-x")
    assert run.header["start_tick"] == 10 and run.base == BASE
    assert [(r.tick, r.inputs) for r in run.records] == [
        (11, (["cmd", sid, "player", "look", "", 10],)),
        (13, ()),
    ]
    assert run.records[1].digests == tuple(
        change_digests(_changes(13, (sid, Player, ("Armitage",))))
    )
    assert run.end_tick == 14 and run.last_tick == 14 and not run.cut_off
    assert writer.stats().records == 2 and writer.stats().unjournaled_inputs == 0


def test_segments_rotate_by_size_at_tick_boundaries_and_read_back_as_one_run(
    tmp_path: Path,
) -> None:
    world, player = _world_with_player()
    writer = JournalWriter(tmp_path / "run-x", HEADER, BASE, segment_bytes=4096, sync_interval_s=1)
    writer.start()
    for tick in range(11, 311):
        writer.submit(world, tick, [Command(player, "say", "x" * 40, tick - 1)], _changes(tick))
    assert writer.stop(WAIT_S, end_tick=310)
    segments = sorted((tmp_path / "run-x").iterdir())
    assert len(segments) > 3
    for number, segment in enumerate(segments):
        header = orjson.loads(segment.read_bytes().split(b"\n")[0])
        assert header["segment"] == number and header["run"] == "run-x"
    run = read_run(tmp_path / "run-x")
    assert [r.tick for r in run.records] == list(range(11, 311))
    assert run.segments == len(segments) and run.end_tick == 310
    # A segment file on its own: the run up to that segment.
    partial = read_run(segments[1])
    assert partial.segments == 2 and partial.end_tick is None
    assert partial.records[-1].tick < 310


def test_a_record_cut_off_by_a_crash_ends_the_run_there_and_is_reported(tmp_path: Path) -> None:
    world, player = _world_with_player()
    writer = JournalWriter(
        tmp_path / "run-x", HEADER, BASE, segment_bytes=1 << 20, sync_interval_s=0
    )
    writer.start()
    for tick in (11, 12, 13):
        writer.submit(world, tick, [Command(player, "look", "", tick - 1)], _changes(tick))
    _wait_written(writer)
    writer.stop(WAIT_S)
    segment = tmp_path / "run-x" / "segment-0000.jsonl"
    data = segment.read_bytes()
    segment.write_bytes(data[: data.rindex(b'{"t":13') + 9])  # tick 13 half written, no end
    run = read_run(tmp_path / "run-x")
    assert [r.tick for r in run.records] == [11, 12]
    assert run.end_tick is None and run.last_tick == 12
    assert "ends in the middle of a record" in run.cut_off


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        (b'{"format":"kadath-export","version":1}', "not a Kadath journal"),
        (b'{"format":"kadath-journal","version":2,"segment":0}', "journal format version 2"),
        (b"not json", "line 1 is not JSON"),
    ],
)
def test_a_file_that_is_not_this_versions_journal_is_refused(
    tmp_path: Path, first_line: bytes, message: str
) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "segment-0000.jsonl").write_bytes(first_line + b"\n")
    with pytest.raises(JournalError, match=message):
        read_run(tmp_path / "run")


def test_a_run_with_a_missing_segment_or_no_segment_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        read_run(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(JournalError, match="holds no journal segment"):
        read_run(tmp_path / "empty")
    (tmp_path / "gap").mkdir()
    (tmp_path / "gap" / "segment-0001.jsonl").write_bytes(b"{}\n")
    with pytest.raises(JournalError, match=r"segment segment-0000\.jsonl is missing"):
        read_run(tmp_path / "gap")


def test_a_journal_that_cannot_write_stops_journaling_and_never_raises_into_the_tick(
    tmp_path: Path,
) -> None:
    world, player = _world_with_player()
    (tmp_path / "taken").write_text("a file where the run's folder should go")
    writer = JournalWriter(
        tmp_path / "taken" / "run", HEADER, BASE, segment_bytes=1 << 20, sync_interval_s=0
    )
    with pytest.raises(OSError):
        writer.start()  # the service reports this at start-up
    writer = _writer(tmp_path / "run")
    writer.start()
    deadline = time.monotonic() + WAIT_S
    while writer.stats().bytes_written == 0 and time.monotonic() < deadline:
        time.sleep(0.01)  # the header and base are written: the file is open
    writer._file.close()  # type: ignore[union-attr]  # the disk goes away under it
    writer.submit(world, 11, [Command(player, "look", "", 10)], _changes(11))
    deadline = time.monotonic() + WAIT_S
    while not writer.stats().failed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer.stats().failed and "ValueError" in writer.stats().last_error
    writer.submit(world, 12, [Command(player, "look", "", 11)], _changes(12))  # ignored, no raise
    assert writer.stop(WAIT_S)


def test_run_folders_sort_in_the_order_their_servers_started(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    early = new_run_folder(tmp_path, 900, datetime(2026, 1, 1, tzinfo=UTC))
    late = new_run_folder(tmp_path, 5, datetime(2026, 1, 2, tzinfo=UTC))
    assert sorted([late.name, early.name]) == [early.name, late.name]
    assert early.name.endswith("-t0000000900")


def test_the_content_digest_changes_with_any_content_file_and_ignores_hidden_ones(
    tmp_path: Path,
) -> None:
    (tmp_path / "zones").mkdir()
    (tmp_path / "world.toml").write_text("[world]\n")
    (tmp_path / "zones" / "a.toml").write_text("x = 1\n")
    before = content_digest([tmp_path])
    (tmp_path / ".hidden.toml").write_text("ignored")
    assert content_digest([tmp_path]) == before
    (tmp_path / "zones" / "a.toml").write_text("x = 2\n")
    assert content_digest([tmp_path]) != before


def test_a_reload_is_recorded_without_its_code() -> None:
    world, player = _world_with_player()
    sid = world.stable_id(player)
    prepared = object()  # the re-imported code, which no journal can hold
    assert encode_input(world, ReloadPlugin("candles", sid, prepared)) == [
        "reload",
        "candles",
        sid,
        "",
    ]
