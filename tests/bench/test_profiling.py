"""``kadath profile``: it runs a world headless, prints the cost table of the measured ticks and
writes the profile (HTML, speedscope JSON, pstats); a database keeps the world for the next run;
arguments it cannot run are one line on stderr and exit status 2, with nothing written."""

from __future__ import annotations

import json
import os
import pstats
from pathlib import Path

import pytest

from bench.profiling import SORTS, format_table
from engine.cli import main
from engine.config import Config, PersistConfig
from engine.core import CostRow, Engine, EngineStats
from engine.stats import TimingStats
from persist.service import PersistenceService
from systems import plugin as core

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
MS = 1_000_000


def profile(tmp_path: Path, *args: str) -> int:
    """``kadath profile`` in this process, in ``tmp_path``, writing its files there."""
    return main(["profile", "--html", str(tmp_path / "run.html"), *args])


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./kadath.toml, and nothing left behind
    for name in [k for k in os.environ if k.startswith("KADATH_")]:
        monkeypatch.delenv(name)


def test_a_small_world_is_profiled_its_table_printed_and_its_files_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The profile is sampled (a stack a millisecond): 100 players over 30 ticks keep it ~80 ms
    # long, ~30 ms of it in the commands, so the frames asserted below are each sampled many
    # times over; 20 players over 10 ticks (3 ms) sometimes left ``dispatch`` unsampled.
    status = profile(tmp_path, "--world", str(DATA_DIR), "--players", "100", "--ticks", "30")
    out = capsys.readouterr().out
    assert status == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"the world in {DATA_DIR}: ") and "100 active players" in lines[0]
    assert "start-up" in lines[0] and "(built and populated)" in lines[0]
    assert lines[1].startswith("30 ticks at 10 Hz in ")
    assert ": 300 commands typed, " in lines[1]  # 100 players, a command a second, for 3 s
    assert lines[2].startswith("tick: p50 ") and lines[2].endswith("over 30 ticks")
    heading = ["name", "kind", "phase", "calls", "p50", "ms", "p99", "ms", "max", "ms", "share"]
    assert lines[3].split() == heading
    rows = {line.split()[0]: line.split() for line in lines[4:] if line.split()[-1].endswith("%")}
    parts = {"commands", "systems", "hand-off", "fight_rounds", "wander", "decay_floor_items"}
    assert parts <= set(rows)
    assert rows["commands"][3] == "30" and rows["spawn_npcs"][3] == "3"  # calls: every 1 s
    shares = [float(rows[phase][-1].rstrip("%")) for phase in ("commands", "systems", "hand-off")]
    # the three phases are (nearly) the whole tick; shares are rounded to 0.1, so their sum may
    # pass 100 by a rounding step and by float error
    assert 90 <= sum(shares) <= 100.1 + 1e-9
    html = (tmp_path / "run.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and "pyinstrument" in html
    speedscope = json.loads((tmp_path / "run.speedscope.json").read_text())
    names = {frame["name"] for frame in speedscope["shared"]["frames"]}
    assert {"tick", "run_due", "dispatch"} <= names  # down to the systems and commands
    stats = pstats.Stats(str(tmp_path / "run.prof"))
    assert any(function == "run_due" for _, _, function in stats.stats)  # type: ignore[attr-defined]
    assert "profile of the 30 ticks after" in lines[-1] and str(tmp_path / "run.html") in lines[-1]


def test_a_reference_world_is_profiled_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert profile(tmp_path, "--world", "town-10k", "--ticks", "2", "--sort", "name") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("town-10k: 10,0") and "500 active players" in lines[0]
    names = [line.split()[0] for line in lines[4:-1]]
    assert names == sorted(names)


def test_a_database_keeps_the_world_for_the_next_run_and_no_other_world_may_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'profile.db'}"
    world = ("--world", str(DATA_DIR), "--players", "10", "--ticks", "3", "--db", db)
    assert profile(tmp_path, *world) == 0
    assert "(built and populated, then saved)" in capsys.readouterr().out
    assert profile(tmp_path, *world) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "(restored from the database)" in first and "10 active players" in first
    assert profile(tmp_path, "--world", "town-10k", "--ticks", "1", "--db", db) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"kadath profile: the database {db} holds the world {str(DATA_DIR)!r}: give another"
        " --db to profile town-10k"
    )


def test_a_database_the_profile_did_not_make_is_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_file = tmp_path / "game.db"
    config = Config(persist=PersistConfig(database_url=f"sqlite:///{db_file}", journal=False))
    game = Engine(config, plugins=[core])
    game.build_world()
    saving = PersistenceService(config)
    saving.start(game)  # a game's database, saved as a server saves it
    game.run_ticks(3)
    saving.stop(game)
    before = db_file.read_bytes()
    status = profile(tmp_path, "--ticks", "1", "--db", f"sqlite:///{db_file}")
    assert status == 2
    assert "holds a world that kadath profile did not make" in capsys.readouterr().err
    assert db_file.read_bytes() == before


A_FOLDER = "give a world's data folder"
WORLDS = f"name a reference world (town-10k, city-100k) or {A_FOLDER}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--world", "atlantis"), f"unknown world 'atlantis': {WORLDS}"),
        (("--world", "./atlantis"), "no world folder at {tmp}/atlantis: " + A_FOLDER),
        (("--world", "deep/one"), "no world folder at {tmp}/deep/one: " + A_FOLDER),
        (("--ticks", "0"), "--ticks must be at least 1, not 0"),
        (("--players", "20"), "--players is for a world folder; town-10k has its own 500"),
        (("--world", str(DATA_DIR), "--players", "0"), "--players must be at least 1, not 0"),
        (("--html", "/nowhere/run.html"), "cannot write /nowhere/run.html: no folder /nowhere"),
    ],
)
def test_arguments_it_cannot_run_are_one_line_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    status = main(["profile", *args])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.splitlines() == [f"kadath profile: {message.format(tmp=tmp_path)}"]
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []  # nothing built, nothing written


def _row(name: str, runs: int, p50: int, p99: int, top: int, total: int) -> CostRow:
    cost = TimingStats(runs, total * MS, total * MS / runs, p50 * MS, p99 * MS, top * MS)
    return CostRow(name, "system", "rules", 0.0, True, runs, 0, "", cost)


def test_the_table_sorts_by_share_or_by_any_column_and_shows_each_share_of_the_tick() -> None:
    rows = (
        _row("combat", 10, 2, 9, 9, 30),
        _row("decay", 5, 4, 5, 6, 20),
        _row("wander", 10, 1, 1, 2, 10),
    )
    tick = TimingStats(10, 100 * MS, 10 * MS, 9 * MS, 20 * MS, 20 * MS)
    stats = EngineStats(10, 10.0, 1_000, tick, rows)

    def order(sort: str) -> list[str]:
        return [line.split()[0] for line in format_table(stats, sort).splitlines()[2:]]

    assert order("share") == ["combat", "decay", "wander"]
    assert order("p50") == ["decay", "combat", "wander"]
    assert order("p99") == ["combat", "decay", "wander"]
    assert order("max") == ["combat", "decay", "wander"]
    assert order("calls") == ["combat", "wander", "decay"]  # ties by name
    assert order("name") == ["combat", "decay", "wander"]
    assert set(SORTS) == {"share", "p50", "p99", "max", "calls", "name"}
    lines = format_table(stats).splitlines()
    assert lines[0] == "tick: p50 9.000 ms, p99 20.000 ms, max 20.000 ms over 10 ticks"
    combat = ["combat", "system", "rules", "10", "2.000", "9.000", "9.000", "30.0%"]
    assert lines[2].split() == combat


def test_a_database_it_cannot_reach_is_one_line_without_its_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql+psycopg://kadath:hunter2@127.0.0.1:9/kadath"  # nobody listens on port 9
    assert main(["profile", "--ticks", "1", "--db", url]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("kadath profile: cannot open the database")
    assert "kadath:***@127.0.0.1:9/kadath" in line and "hunter2" not in line
