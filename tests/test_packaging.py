"""A wheel that works: built from this checkout, installed into a fresh virtual environment outside
the repository, it checks, serves and makes game folders from any folder, with the bundled world
and the web client inside it.

Slow (it builds a wheel and a venv) but never skipped: an installed Kadath that cannot serve is
the first thing a new operator would meet. It installs only the packages the README installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "components", "systems", "net", "persist")
#: Generous bound for building, installing or running one command; never an assertion on speed.
STEP_TIMEOUT_S = 600

pytestmark = pytest.mark.slow

#: What a checkout holds that is not the project: never copied into the build.
LEFT_OUT = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "*.db*")


def _run(*args: str | Path, cwd: Path, timeout: float = STEP_TIMEOUT_S) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KADATH_", "PYTHON"))}
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the wheel, the fresh venv's bin folder with Kadath installed from it)."""
    base = tmp_path_factory.mktemp("wheel")
    # Built from a copy, so the build leaves nothing (build/, *.egg-info) in the checkout.
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    pip_wheel = (sys.executable, "-m", "pip", "wheel", "--no-deps", "-q")
    _run(*pip_wheel, "-w", base / "dist", source, cwd=base)
    (wheel,) = (base / "dist").glob("kadath-*.whl")
    venv.create(base / "venv", with_pip=True)
    bin_dir = base / "venv" / "bin"
    _run(bin_dir / "python", "-m", "pip", "install", "-q", wheel, cwd=base)
    yield wheel, bin_dir


def test_the_wheel_holds_every_module_the_web_client_and_the_bundled_world(
    installed: tuple[Path, Path],
) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        p.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert modules - names == set()
    profiling = {"bench/__init__.py", "bench/grid.py", "bench/reference.py", "bench/profiling.py"}
    assert profiling <= names  # kadath profile and its reference worlds
    assert not {name for name in names if name.startswith("bench/test_")}  # not the suites
    web = {f"net/web/{p.name}" for p in (ROOT / "net" / "web").iterdir() if p.suffix != ".py"}
    assert web and web - names == set()
    world = {
        "kadath_world/" + p.relative_to(ROOT / "data").as_posix()
        for p in (ROOT / "data").rglob("*.toml")
    }
    assert "kadath_world/world.toml" in world
    assert world - names == set()


def test_the_installed_kadath_checks_and_serves_the_bundled_world_from_any_folder(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bin_dir = installed
    kadath = bin_dir / "kadath"
    where = _run(bin_dir / "python", "-c", "import engine; print(engine.__file__)", cwd=tmp_path)
    assert str(ROOT) not in where  # the installed copy, not this checkout
    out = _run(kadath, "check-world", cwd=tmp_path)
    assert "0 errors" in out and "checking the bundled world" in out
    out = _run(kadath, "serve", "--max-ticks", "20", "--port", "0", cwd=tmp_path)
    assert "the bundled world: " in out and "stopped at tick 20" in out
    assert f"database: SQLite file {tmp_path / 'kadath.db'}" in out


def test_the_installed_kadath_makes_a_game_folder_that_serves(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bin_dir = installed
    kadath = bin_dir / "kadath"
    _run(kadath, "init", "mygame", cwd=tmp_path)
    game = tmp_path / "mygame"
    out = _run(kadath, "serve", "--max-ticks", "20", "--port", "0", cwd=game)
    assert f"world: {game / 'world'}" in out and "stopped at tick 20" in out
    assert (game / "kadath.db").is_file()
    out = _run(kadath, "check-world", cwd=game)
    assert f"checking the world in {game / 'world'}" in out


def test_the_installed_kadath_profiles_a_reference_world_from_any_folder(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bin_dir = installed
    out = _run(bin_dir / "kadath", "profile", "--world", "town-10k", "--ticks", "5", cwd=tmp_path)
    assert "town-10k: 10,0" in out and "500 active players" in out
    assert "5 ticks at 10 Hz" in out and "fight_rounds" in out
    for name in ("kadath-profile.html", "kadath-profile.speedscope.json", "kadath-profile.prof"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert not (tmp_path / "kadath.db").exists()  # no database unless --db


def test_a_postgresql_url_without_the_postgres_extra_says_what_to_install(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, bin_dir = installed
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    for args in (("db", "init", "--db", url), ("serve", "--db", url, "--max-ticks", "1")):
        proc = subprocess.run(
            [str(bin_dir / "kadath"), *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        (line,) = [line for line in proc.stderr.splitlines() if line.startswith("kadath:")]
        assert "psycopg" in line and "pip install 'kadath[postgres]'" in line
