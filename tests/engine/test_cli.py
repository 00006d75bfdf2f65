"""The command line: serving stops cleanly on a signal, bad set-up is refused with a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import EXIT_BAD_SETUP, main
from engine.config import bundled_world_dir
from tests.engine.installed import install_hoo

ROOT = Path(__file__).resolve().parents[2]
#: Generous bound for a child process to start or stop; never an assertion on speed.
PROCESS_TIMEOUT_S = 60


def _kadath(*args: str, db: Path) -> subprocess.Popen[str]:
    """``kadath`` in a child process, on the bundled world and a database of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            *args,
            "--db",
            f"sqlite:///{db / 'world.db'}",
            "--port",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_stops_cleanly_on_a_signal_and_reports_its_statistics(
    sig: signal.Signals, tmp_path: Path
) -> None:
    proc = _kadath("serve", "--tick-rate", "50", db=tmp_path)
    assert proc.stdout is not None
    seen: list[str] = []
    for line in proc.stdout:
        seen.append(line)
        if "serving world" in line:
            break
    else:
        proc.kill()
        pytest.fail("server never reported that it was serving:\n" + "".join(seen))
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    assert proc.returncode == 0, out
    assert f"received {sig.name}" in out
    assert "stopped at tick" in out
    assert "hand-off" in out  # the cost table was printed


def test_serve_with_max_ticks_runs_exactly_that_many_ticks(tmp_path: Path) -> None:
    proc = _kadath("serve", "--tick-rate", "100", "--max-ticks", "25", db=tmp_path)
    out, _ = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    assert proc.returncode == 0, out
    assert "stopped at tick 25" in out


def test_a_bad_setting_is_refused_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--set", "engine.tick_rate_hz=fast"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert "engine.tick_rate_hz" in err and "fast" in err


def test_schedule_lists_the_registered_systems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule"]) == 0
    out = capsys.readouterr().out
    assert "system" in out and "phase" in out


def test_config_prints_the_effective_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--tick-rate", "20"]) == 0
    assert "tick_rate_hz = 20.0" in capsys.readouterr().out


def test_a_restarted_server_carries_on_from_the_tick_it_saved_at_shutdown(tmp_path: Path) -> None:
    for expected in (25, 50):
        proc = _kadath("serve", "--tick-rate", "100", "--max-ticks", "25", db=tmp_path)
        out, _ = proc.communicate(timeout=PROCESS_TIMEOUT_S)
        assert proc.returncode == 0, out
        assert f"final flush saved the world up to tick {expected}" in out
        assert f"stopped at tick {expected}" in out


def test_serve_refuses_to_start_on_an_invalid_world_with_the_check_report(tmp_path: Path) -> None:
    zones = tmp_path / "broken" / "zones"
    zones.mkdir(parents=True)
    (zones / "void.toml").write_text(
        '[zone]\nid = "void"\nname = "Void"\n\n[[rooms]]\nid = "void.a"\nname = "A"\n'
        'description = "Nothing."\nenvironment = "void"\n[rooms.exits]\nn = "void.nowhere"\n'
    )
    proc = _kadath("serve", "--data", str(tmp_path / "broken"), db=tmp_path)
    out, _ = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    assert proc.returncode == EXIT_BAD_SETUP, out
    assert "void.nowhere" in out and "cannot start" in out


def test_json_logging_writes_one_object_per_line(tmp_path: Path) -> None:
    import orjson

    proc = _kadath(
        "serve", "--max-ticks", "3", "--tick-rate", "100", "--set", "log.json=true", db=tmp_path
    )
    out, _ = proc.communicate(timeout=PROCESS_TIMEOUT_S)
    assert proc.returncode == 0, out
    records = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert any(r["logger"] == "kadath.server" and "serving world" in r["message"] for r in records)


def _kadath_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``kadath`` run in ``folder``, as an operator would, without any KADATH_ variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
    )


def test_serve_from_a_folder_without_data_serves_the_bundled_world(tmp_path: Path) -> None:
    proc = _kadath_in(tmp_path, "serve", "--max-ticks", "3", "--port", "0")
    assert proc.returncode == 0, proc.stderr
    first = proc.stderr.splitlines()[:2]
    assert first[0].endswith(f"the bundled world: {bundled_world_dir()}")
    assert first[1].endswith(f"database: SQLite file {tmp_path / 'kadath.db'}")
    assert "built world 'The Miskatonic Country'" in proc.stderr
    assert (tmp_path / "kadath.db").is_file()
    check = _kadath_in(tmp_path, "check-world")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("0 errors, 0 warnings")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("serve", "--db", "mysql://kadath@db/kadath"),
            "kadath: invalid configuration: --db: persist.database_url = "
            "\"mysql://kadath@db/kadath\": unknown database URL scheme 'mysql'",
        ),
        (
            ("serve", "--db", "sqlite:///no/such/folder/k.db"),
            "kadath: cannot start: the SQLite database {tmp}/no/such/folder/k.db cannot be"
            " made: its folder {tmp}/no/such/folder does not exist",
        ),
        (
            ("db", "init", "--db", "sqlite:///no/such/folder/k.db"),
            "kadath: the SQLite database {tmp}/no/such/folder/k.db cannot be made",
        ),
        (
            ("serve", "--data", "nowhere"),
            "kadath: cannot start: the world's data folder {tmp}/nowhere does not exist",
        ),
        (
            ("check-world", "--data", "nowhere"),
            "kadath: the world's data folder {tmp}/nowhere does not exist",
        ),
    ],
)
def test_each_missing_part_is_one_line_and_exit_status_2(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    proc = _kadath_in(tmp_path, *args, "--max-ticks", "1") if args[0] == "serve" else None
    if proc is None:
        proc = _kadath_in(tmp_path, *args)
    assert proc.returncode == EXIT_BAD_SETUP == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if not line[:4].isdigit()]
    assert len(errors) == 1, proc.stderr  # one line beside the log, no traceback
    assert errors[0].startswith(message.format(tmp=tmp_path)), errors[0]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "kadath.db").exists()


def test_the_schedule_prints_each_description_as_plain_wrapped_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schedule"]) == 0
    out = capsys.readouterr().out
    assert "`" not in out
    (wake,) = [line for line in out.splitlines() if "wake_the_dead" in line]
    assert "Dead players whose respawn_s" in wake


def test_commands_that_start_no_server_say_which_command_failed_not_cannot_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install_hoo(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["schedule"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert err.startswith("kadath schedule: 1 plugin problem(s):\n  - plugin 'hoo': ")
    assert "cannot start" not in err and "KeyError: 'hoo'" in err
    assert main(["plugins", "--brief"]) == EXIT_BAD_SETUP
    assert "cannot start" not in capsys.readouterr().err
    db = f"sqlite:///{tmp_path / 'world.db'}"
    assert main(["serve", "--db", db, "--port", "0", "--max-ticks", "1"]) == EXIT_BAD_SETUP
    assert capsys.readouterr().err.startswith("kadath: cannot start: 1 plugin problem(s):")


def test_verbose_shows_the_traceback_of_a_plugin_that_fails_to_import(tmp_path: Path) -> None:
    rules = install_hoo(tmp_path / "site")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    env["PYTHONPATH"] = str(tmp_path / "site")

    def schedule(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "engine.cli", "schedule", *flags],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT_S,
        )

    quiet = schedule()
    assert quiet.returncode == EXIT_BAD_SETUP
    (line,) = [line for line in quiet.stderr.splitlines() if "plugin 'hoo'" in line]
    assert f"KeyError: 'hoo' (at {rules}, line 2; run with -v for the traceback)" in line
    assert "Traceback" not in quiet.stderr
    verbose = schedule("-v")
    assert verbose.returncode == EXIT_BAD_SETUP
    assert "Traceback (most recent call last)" in verbose.stderr
    assert "HOOT = OMENS['hoo']" in verbose.stderr and "DEBUG kadath.plugins" in verbose.stderr
