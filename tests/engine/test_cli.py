"""The command line: serving stops cleanly on a signal, bad set-up is refused with a clear error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import EXIT_BAD_SETUP, main

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
