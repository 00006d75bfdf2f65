"""``kadath replay``: a server's journal replays, through the real tick, to exactly the world it
saved; a journal cut off by a crash replays up to its last whole record and says so; a journal of
another world or version is refused; a run that went another way is caught at its first tick."""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

import orjson
import pytest

from engine.cli import main
from engine.config import load_config
from persist.journal import read_run
from systems import SETTINGS
from tests.net.harness import DATA_DIR, Client, LiveServer, async_test, live_server

#: Link-dead characters leave after this much game time, so a test sees some expire.
GRACE_S = 0.5
#: Players here type faster than people: the per-connection rate limit is not what is tested.
FAST = "net.commands_per_s=1000"
BURST = "net.command_burst=1000"
WORDS = ("ia", "cthulhu", "fhtagn", "shoggoth", "tekeli-li", "yog-sothoth")
DIRECTIONS = ("n", "s", "e", "w", "u", "d", "ne", "nw", "se", "sw")


def the_run(tmp_path: Path) -> Path:
    (run,) = (tmp_path / "world-journal").iterdir()
    return run


def replay(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(["replay", *args])
    out, err = capsys.readouterr()
    return status, out, err


async def wander(client: Client, rng: random.Random, steps: int) -> None:
    """A player doing what players do, in random order: walk, look, talk, take and drop things."""
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.3:
            await client.cmd(rng.choice(DIRECTIONS))
        elif roll < 0.45:
            await client.cmd("look")
        elif roll < 0.6:
            await client.cmd(f"say {rng.choice(WORDS)} {rng.choice(WORDS)}")
        elif roll < 0.75:
            await client.cmd("get all")
        elif roll < 0.85:
            await client.cmd("drop all")
        else:
            await client.cmd(rng.choice(("sit", "stand", "rest", "inventory", "score")))
    await client.sync()


async def play(server: LiveServer, rng: random.Random) -> None:
    """Several players logging in, wandering, quitting and coming back, dropping, link-dead and
    expiring, resuming, and an admin moving and kicking them."""
    admin = await server.player("Nyarla")  # the first account is an admin
    carter = await server.player("Carter")
    wilbur = await server.player("Wilbur")
    lavinia = await server.player("Lavinia")
    for client in (carter, wilbur, lavinia):
        await wander(client, rng, 12)
    # Carter quits and comes back.
    await carter.cmd("quit")
    assert await carter.closed() == 1000
    carter = await server.connect("Carter again")
    await carter.login("Carter", "correct-horse")
    await wander(carter, rng, 8)
    # Wilbur's connection drops; his character is link-dead, then leaves when the grace is over.
    await wilbur.ws.close()
    await server.wait_ticks(int(server.config.engine.tick_rate_hz * GRACE_S * 3))
    # Lavinia drops and resumes within her grace.
    token = lavinia.token
    assert token is not None
    await lavinia.ws.close()
    lavinia = await server.connect("Lavinia resumed")
    resumed = await lavinia.resume(token)
    assert resumed.data["resumed"] is True
    await wander(lavinia, rng, 6)
    # The admin moves people about, and kicks one.
    await admin.cmd("goto sanitarium.hall")
    await admin.cmd("summon Carter")
    await admin.cmd("teleport Lavinia arkham.square")
    await admin.sync()
    await wander(carter, rng, 6)
    await admin.cmd("kick Lavinia")
    assert await lavinia.closed() == 1000
    wilbur = await server.connect("Wilbur again")
    await wilbur.login("Wilbur", "correct-horse")
    await wander(wilbur, rng, 10)
    await wander(admin, rng, 6)


@async_test
async def test_random_play_through_the_real_server_replays_to_the_saved_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_server(tmp_path, FAST, BURST, f"net.linkdead_grace_s={GRACE_S}") as server:
        await play(server, random.Random(1926))
    db = f"sqlite:///{tmp_path / 'world.db'}"
    run = the_run(tmp_path)
    status, out, err = await asyncio.to_thread(
        replay, str(run), "--check", "--db", db, "--data", str(DATA_DIR), capsys=capsys
    )
    assert status == 0, out + err
    assert "every tick checked changed what the journal recorded" in out
    assert "the replayed world equals the saved state at tick" in out
    journal = read_run(run)
    kinds = {encoded[0] for record in journal.records for encoded in record.inputs}
    assert kinds == {"cmd", "enter", "drop", "leave"}
    assert journal.end_tick is not None and not journal.cut_off


@async_test
async def test_a_cut_off_journal_replays_to_its_last_whole_record_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_server(tmp_path, FAST, BURST) as server:
        client = await server.player("Armitage")
        await wander(client, random.Random(7), 20)
    segment = the_run(tmp_path) / "segment-0000.jsonl"
    lines = segment.read_bytes().split(b"\n")
    # A crash: the end record is gone and the last tick record is half written.
    last_whole = orjson.loads(lines[-4])["t"]
    segment.write_bytes(b"\n".join(lines[:-3]) + b"\n" + lines[-3][: len(lines[-3]) // 2])
    status, out, err = replay(str(segment), "--data", str(DATA_DIR), capsys=capsys)
    assert status == 0, out + err
    assert "segment-0000.jsonl ends in the middle of a record" in out
    assert f"replaying up to its last whole record (tick {last_whole})" in out
    assert f"to tick {last_whole}:" in out


@async_test
async def test_a_journal_of_other_content_or_another_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_server(tmp_path, FAST, BURST) as server:
        await server.player("Armitage")
    run = the_run(tmp_path)
    other = tmp_path / "other-world"
    shutil.copytree(DATA_DIR, other)
    world_file = other / "world.toml"
    world_file.write_text(world_file.read_text().replace("Miskatonic", "Dunwich"))
    status, _, err = replay(str(run), "--data", str(other), capsys=capsys)
    assert status == 2
    assert "the journal was recorded on other content than" in err
    assert err.count("\n") == 1

    segment = run / "segment-0000.jsonl"
    lines = segment.read_bytes().split(b"\n")
    header = orjson.loads(lines[0])
    header["version"] = 99
    segment.write_bytes(b"\n".join([orjson.dumps(header), *lines[1:]]))
    status, _, err = replay(str(run), "--data", str(DATA_DIR), capsys=capsys)
    assert status == 2
    assert "journal format version 99; this Kadath reads version 1" in err

    (tmp_path / "notes.txt").write_text("not a journal")
    status, _, err = replay(str(tmp_path / "notes.txt"), capsys=capsys)
    assert status == 2 and "is not a journal run folder or segment" in err


@async_test
async def test_a_run_that_went_another_way_is_caught_at_its_first_tick_and_entity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_server(tmp_path, FAST, BURST) as server:
        client = await server.player("Armitage")
        await client.cmd("get all")
        await client.cmd("drop all")
        await client.sync()
    segment = the_run(tmp_path) / "segment-0000.jsonl"
    lines = segment.read_bytes().split(b"\n")
    index, record = next(
        (i, orjson.loads(line))
        for i, line in enumerate(lines)
        if line.startswith(b'{"t"') and b'"c"' in line
    )
    sid, digest = record["c"][0]
    record["c"][0] = [sid, digest ^ 1]  # as if the recorded run had changed it otherwise
    lines[index] = orjson.dumps(record)
    segment.write_bytes(b"\n".join(lines))
    status, out, _ = replay(str(segment), "--data", str(DATA_DIR), capsys=capsys)
    assert status == 1
    assert (
        f"the replay went another way: first at tick {record['t']}, entity {sid}:"
        " both changed it, to different states"
    ) in out


@async_test
async def test_until_shows_what_each_input_of_a_tick_changed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with live_server(tmp_path, FAST, BURST) as server:
        client = await server.player("Armitage")
        await client.cmd("sit")
        await client.cmd("stand")
        await client.sync()
    journal = read_run(the_run(tmp_path))
    tick = next(
        r.tick for r in journal.records if any(i[0] == "cmd" and i[3] == "sit" for i in r.inputs)
    )
    status, out, _ = replay(
        str(the_run(tmp_path)), "--until", str(tick), "--data", str(DATA_DIR), capsys=capsys
    )
    assert status == 0
    assert f"tick {tick}:" in out
    assert "command 'sit' from entity" in out and "(admin):" in out
    assert "posture: state=<PostureState.SITTING: 'sitting'>, resting=False" in out
    assert "the systems:" in out
    status, _, err = replay(
        str(the_run(tmp_path)), "--until", "999999", "--data", str(DATA_DIR), capsys=capsys
    )
    assert status == 2 and "outside the journal's ticks" in err


#: A world hard on minds: a mundane sight costs 70 the first time (100 -> 30: fractured) and 5
#: after (deranged soon); troubled minds see things often. Misfires, phantoms that come, fight and
#: fade, hallucinations on entering a room: every roll of the rules of the mind, in the tick.
TROUBLED = (
    "encounters.first_mundane=70",
    "encounters.later_mundane=5",
    "hallucinations.entering_chance=0.5",
    "hallucinations.fractured_every_s=2",
    "hallucinations.fractured_chance=0.5",
    "hallucinations.deranged_every_s=2",
    "hallucinations.deranged_chance=0.5",
    "hallucinations.phantom_lasts_s=3",
)


@async_test
async def test_troubled_minds_replay_to_the_saved_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = load_config(env={}, overrides=TROUBLED, rules=SETTINGS).rules
    async with live_server(tmp_path, FAST, BURST, rules=rules) as server:
        rng = random.Random(1890)
        carter = await server.player("Carter")
        wilbur = await server.player("Wilbur")
        for client in (carter, wilbur):
            await client.cmd("east")  # the orderly in the corridor: 100 -> 30
        for _ in range(3):
            for client in (carter, wilbur):
                await wander(client, rng, 10)
            await server.wait_ticks(int(server.config.engine.tick_rate_hz * 2))
        await carter.cmd("pray")
        await carter.sync()
        received = [m for client in (carter, wilbur) for m in client.received]
    # The minds were troubled, and did what troubled minds do.
    assert any(m.type == "msg" and m.data.get("event") == "tier" for m in received)
    assert any(m.type == "error" and m.data.get("code") == "misfire" for m in received)
    assert any(m.type == "whisper" or m.data.get("event") == "whisper" for m in received)
    db = f"sqlite:///{tmp_path / 'world.db'}"
    sets = [arg for setting in TROUBLED for arg in ("--set", setting)]
    status, out, err = await asyncio.to_thread(
        replay,
        str(the_run(tmp_path)),
        "--check",
        "--db",
        db,
        "--data",
        str(DATA_DIR),
        *sets,
        capsys=capsys,
    )
    assert status == 0, out + err
    assert "the replayed world equals the saved state at tick" in out
    journal = read_run(the_run(tmp_path))
    assert any(i[0] == "cmd" and i[3] == "pray" for r in journal.records for i in r.inputs)
