"""Rolling forward: what a run journaled after its last flush is played again at the next start,
so a crash (or a final flush the database refused) loses no journaled command; a journal of
another world, of another database or ending at the saved tick is left alone, saying why; an
input naming what is not here is left out and counted."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect

from components.body import Identity, Player, Posture, PostureState
from components.content import Directory
from components.items import Item
from components.place import Location
from engine.cli import main
from engine.commands import Command
from engine.config import Config, PersistConfig
from engine.core import Engine
from engine.inputs import HANDED_OFF_EVENT, Departure
from engine.territory import Territory
from engine.world import Changes, World
from persist.journal import JournalRun, JournalWriter, TickRecord, read_run, read_since
from persist.rollforward import Unfinished, find_unfinished, roll_forward
from persist.service import PersistenceService
from systems.characters import create_character
from systems.whereabouts import contents
from tests.net.harness import TIMEOUT_S, Client, async_test, wait_until
from tests.systems.world_fixture import make_engine

#: No flush but those a test asks for: what the database holds is what the test saved.
NEVER_S = 3600.0


def _start(url: str, tmp_path: Path, *, roll: bool = True) -> tuple[Engine, PersistenceService]:
    config = Config(
        persist=PersistConfig(
            url,
            flush_interval_s=NEVER_S,
            journal_dir=str(tmp_path / "journal"),
            roll_forward=roll,
        )
    )
    engine = make_engine(config)
    service = PersistenceService(config)
    service.start(engine)
    return engine, service


def _crash_after_a_flush(service: PersistenceService, monkeypatch: pytest.MonkeyPatch) -> int:
    """Save the world as it is now, then let the database hear of nothing more (its writes
    refused to the end, or the process killed): the journal goes on. The tick saved."""
    writer = service.writer
    assert writer is not None and writer.flush_now()
    monkeypatch.setattr(writer, "submit", lambda batch: None)
    return writer.stats().last_saved_tick


def _names(engine: Engine, holder: int) -> set[str]:
    """The templates of the items ``holder`` carries."""
    world = engine.world
    return {world.get(e, Item).template for e in contents(world, holder) if world.has(e, Item)}


def _room(engine: Engine, entity: int) -> int | None:
    return engine.world.entity_of(engine.world.get(entity, Location).holder)


def _armitage(engine: Engine) -> int:
    (found,) = [e for e, player in engine.world.query(Player) if player.account == "Armitage"]
    return found


def _play_after_the_flush(engine: Engine) -> None:
    """Armitage, in the hall, takes the knife and the key, walks west to the ward, sits."""
    armitage = _armitage(engine)
    for line in ("get knife", "get key", "w", "sit"):
        engine.submit_line(armitage, line)
        engine.tick()
    engine.run_ticks(3)  # ticks with nothing in them end the run


def _a_run_crashed_after_a_flush(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """(the tick saved, the run's last tick)."""
    engine, service = _start(url, tmp_path)
    create_character(engine.world, "Armitage", room="hall")
    engine.run_ticks(5)
    saved = _crash_after_a_flush(service, monkeypatch)
    _play_after_the_flush(engine)
    last = engine.world.clock.tick
    service.stop(engine)
    monkeypatch.undo()
    return saved, last


def test_what_was_journaled_after_the_last_flush_is_played_again_at_the_next_start(
    database: tuple[sa.Engine, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = database
    saved, last = _a_run_crashed_after_a_flush(url, tmp_path, monkeypatch)
    engine, service = _start(url, tmp_path)  # restores the flush, then rolls forward
    try:
        report = service.rolled
        assert report is not None
        assert (report.first_tick, report.last_tick, report.inputs, report.left_out) == (
            saved + 1,
            last,
            4,
            0,
        )
        # Nothing here depends on what a save leaves out: each tick came out as recorded.
        assert report.as_recorded == report.ticks == last - saved
        assert engine.world.clock.tick == last
        armitage, rooms = _armitage(engine), engine.world.resource(Directory).rooms
        assert _room(engine, armitage) == rooms["ward"]
        assert {"rusty_knife", "brass_key"} <= _names(engine, armitage)
        assert engine.world.get(armitage, Posture).state is PostureState.SITTING
    finally:
        service.stop(engine)
    # The rolled ticks were ticks of the new run like any other: journaled, then saved.
    assert service.journal is not None
    rolled = read_run(service.journal.folder)
    verbs = [i[3] for r in rolled.records for i in r.inputs if i[0] == "cmd"]
    assert verbs == ["get", "get", "w", "sit"]
    again, again_service = _start(url, tmp_path)
    try:
        assert again.world.clock.tick == last
        assert again_service.rolled is None  # the last run stopped cleanly, all of it saved
        assert {"rusty_knife", "brass_key"} <= _names(again, _armitage(again))
    finally:
        again_service.stop(again)


def test_with_roll_forward_off_the_world_starts_from_its_last_flush(
    database: tuple[sa.Engine, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = database
    saved, _ = _a_run_crashed_after_a_flush(url, tmp_path, monkeypatch)
    engine, service = _start(url, tmp_path, roll=False)
    try:
        assert service.rolled is None
        armitage, rooms = _armitage(engine), engine.world.resource(Directory).rooms
        assert engine.world.clock.tick == saved
        assert _room(engine, armitage) == rooms["hall"]
        assert not {"rusty_knife", "brass_key"} & _names(engine, armitage)
    finally:
        service.stop(engine)


def test_inputs_naming_what_is_not_here_are_left_out_and_counted(tmp_path: Path) -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    randolph = create_character(world, "Randolph", room="hall")
    engine.run_ticks(2)
    sid, crossed = world.stable_id(armitage), world.stable_id(randolph)
    assert sid is not None and crossed is not None
    inputs = (
        ["cmd", sid, "player", "sit", "", 2],
        ["cmd", 987654321, "player", "sit", "", 2],  # not in this world
        ["cmd", crossed, "player", "sit", "", 2],  # restored, but it changed hands since
        ["drop", 987654321, 30.0],
        ["arrive", "b.run.1", []],  # a hand-off: restored from the database, or redelivered
        ["reload", "candles", "Nyarla", ""],  # the plugins are as loaded now
        ["enter", "Lavinia", None],  # an account's first character: made again
    )
    header = {"start_tick": 0}
    records = [TickRecord(3, inputs, ()), TickRecord(6, (), ())]
    unfinished = Unfinished(JournalRun(tmp_path, header, records=records), 2)
    asked: list[set[int]] = []

    def changed_hands(sids: set[int]) -> set[int]:
        asked.append(sids)
        return sids & {crossed}

    report = roll_forward(engine, unfinished, changed_hands)
    assert asked == [{sid, 987654321, crossed}]  # one question, about the characters named
    assert (report.first_tick, report.last_tick, report.inputs, report.left_out) == (3, 6, 2, 5)
    assert world.clock.tick == 6
    assert world.get(armitage, Posture).state is PostureState.SITTING
    assert world.get(randolph, Posture).state is PostureState.STANDING
    assert [p.account for _, p in world.query(Player)].count("Lavinia") == 1
    assert "2 input(s) applied again, 5 left out" in str(report)


def _crossings(settle: bool, tmp_path: Path) -> tuple[list[Departure], bool]:
    """A shard's world (the asylum here, the town another shard's) restored with Armitage at
    the gate, and a tail whose first tick walks him north into the town: what the
    roll-forward hands on, and whether Armitage is still here."""
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="gate")
    sid = world.stable_id(armitage)
    assert sid is not None
    world.insert_resource(Territory("a", frozenset({"asylum"}), frozenset({"town"})))
    handed: list[Departure] = []
    engine.on_tick_end(
        lambda result: handed.extend(
            e.data["departure"] for e in result.events if e.type == HANDED_OFF_EVENT
        )
    )
    records = [TickRecord(1, (["cmd", sid, "player", "n", "", 0],), ())]
    roll_forward(engine, Unfinished(JournalRun(tmp_path, {}, records=records), 0), settle=settle)
    return handed, world.entity_of(sid) is not None


def test_a_shard_settles_before_it_plays_a_step_over_the_border_so_the_step_hands_on(
    tmp_path: Path,
) -> None:
    handed, here = _crossings(True, tmp_path)
    assert [(d.zone, len(d.entities)) for d in handed] == [("town", 1)] and not here
    # Played in the first tick, before the shard let go of other shards' things, the step
    # would have been let go of with them: gone from here, handed to nobody.
    assert _crossings(False, tmp_path) == ([], False)


HEADER = {
    "format": "kadath-journal",
    "version": 1,
    "content": "c1",
    "components": {"vitals": 1},
    "plugins": ["core"],
    "plugins_disabled": [],
    "engine": {"tick_rate_hz": 10.0, "seed": 1, "node_id": 0},
    "calendar": {},
    "database": "sqlite:///world.db",
}


def _journal(
    folder: Path, start: int, ticks: range, *, end: bool, segment_bytes: int = 1 << 20
) -> Path:
    """A run under ``folder`` from tick ``start``, a command in each of ``ticks``; stopped
    cleanly (``end``), or as a crash leaves it, without its end record."""
    run = folder / f"run-20261207T1200{start:08d}Z-t{start:010d}"
    world = World(seed=1)
    someone = world.spawn(Identity("Armitage"), Player("Armitage"), persistent=True)
    writer = JournalWriter(
        run,
        {**HEADER, "start_tick": start, "run": run.name},
        [b'{"format":"kadath-export","version":1,"components":{}}'],
        segment_bytes=segment_bytes,
        sync_interval_s=0,
    )
    writer.start()
    for tick in ticks:
        nothing = Changes(tick, {}, {}, frozenset(), frozenset(), frozenset())
        writer.submit(world, tick, [Command(someone, "say", "ia " * 60, tick)], nothing)
    assert writer.stop(end_tick=ticks[-1] if ticks else start)
    if not end:
        last = sorted(run.glob("segment-*.jsonl"))[-1]
        text = last.read_bytes()
        last.write_bytes(text[: text.rindex(b'{"end"')])
    return run


def test_the_last_run_is_rolled_forward_only_past_the_saved_tick_and_only_on_this_world(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journals = tmp_path / "journal"
    assert find_unfinished(journals, HEADER, 0) is None  # no journal yet
    _journal(journals, 0, range(1, 11), end=True)
    _journal(journals, 10, range(11, 31), end=False)
    found = find_unfinished(journals, HEADER, 25)
    assert found is not None and found.saved_tick == 25 and found.last_tick == 30
    assert [r.tick for r in found.run.records if r.tick > 25] == [26, 27, 28, 29, 30]
    assert find_unfinished(journals, HEADER, 30) is None  # saved to its end
    _journal(journals, 25, range(0), end=True)  # a start from tick 25 that did nothing
    found = find_unfinished(journals, HEADER, 25)  # the run before it is still found
    assert found is not None and found.run.start_tick == 10 and found.last_tick == 30
    caplog.set_level(logging.WARNING, "kadath.persist.rollforward")
    for key, other in (("database", "postgresql://elsewhere/w"), ("content", "c2")):
        assert find_unfinished(journals, {**HEADER, key: other}, 25) is None
        assert f"recorded with another {key}: not rolled forward" in caplog.text
    assert find_unfinished(journals, HEADER, 5) is None  # a database older than the run
    assert "after the saved tick 5 (a database older than the journal)" in caplog.text
    (journals / "run-20261207T130000000000Z-t0000000030").mkdir()  # no segment: unreadable
    assert find_unfinished(journals, HEADER, 25) is None
    assert "cannot be read, so it is not rolled forward" in caplog.text


def test_a_long_run_is_read_from_its_tail(tmp_path: Path) -> None:
    run = _journal(tmp_path, 0, range(1, 201), end=False, segment_bytes=4096)
    whole = read_run(run)
    assert whole.segments > 4
    tail = read_since(run, 190)
    assert [r.tick for r in tail.records if r.tick > 190] == list(range(191, 201))
    assert tail.records[0].tick > 1 and not tail.base  # the first segments were not read
    assert (tail.last_tick, tail.cut_off) == (whole.last_tick, whole.cut_off)
    everything = read_since(run, 0)
    assert everything.records == whole.records and everything.base == whole.base


# ------------------------------------------------------------------- a real server, killed


def _serve(folder: Path) -> tuple[subprocess.Popen[str], str, str]:
    """``kadath serve`` run from ``folder`` on its own SQLite file, saving only when it stops;
    the process, its websocket URL and what it logged until it listened."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "engine.cli", "serve", "--port", "0"),
            *("--db", "sqlite:///w.db", "--set", f"persist.flush_interval_s={NEVER_S}"),
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        found = re.search(r"listening on (ws://[\d.]+:\d+/)", line)
        if found:
            return proc, found.group(1), "".join(seen)
    proc.kill()
    raise AssertionError("the server never listened:\n" + "".join(seen))


async def _player(url: str) -> Client:
    client = Client(await connect(url, proxy=None, open_timeout=TIMEOUT_S), "Carter")
    assert (await client.recv()).type == "welcome"
    return client


def _journaled(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.glob("w-journal/run-*/segment-*.jsonl"))


async def _carried(client: Client) -> list[str]:
    """The templates of what ``client``'s character carries, as ``inventory`` answers."""
    await client.cmd("inventory")
    (answer,) = [m.data for m in await client.sync() if m.data.get("action") == "inventory"]
    return [item["template"] for item in answer["items"]]


@async_test
async def test_a_killed_server_gives_back_at_its_next_start_what_its_players_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc, url, _ = await asyncio.to_thread(_serve, tmp_path)
    try:
        carter = await _player(url)
        await carter.register("Carter", "correct-horse")
        await carter.cmd("get candle")
        assert await _carried(carter) == ["candle_stub"]
        # The journal's thread writes a moment after the tick: kill once it holds the command.
        await wait_until(lambda: b'"get","candle"' in _journaled(tmp_path), "journaled")
    finally:
        proc.kill()  # SIGKILL: no final flush; the database never saw Carter
        await asyncio.to_thread(proc.wait, TIMEOUT_S)
    proc, url, started = await asyncio.to_thread(_serve, tmp_path)
    assert "rolled forward ticks" in started and " 0 left out" in started, started
    try:
        carter = await _player(url)
        await carter.login("Carter", "correct-horse")
        assert await _carried(carter) == ["candle_stub"]
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.communicate, None, TIMEOUT_S)
    # The run that rolled forward journaled those ticks like any others: it replays exactly.
    rolled = sorted((tmp_path / "w-journal").glob("run-*"))[-1]
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["replay", str(rolled), "--check", "--db", db]) == 0
    assert "the replayed world equals the saved state" in capsys.readouterr().out
