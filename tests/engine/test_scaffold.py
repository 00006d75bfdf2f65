"""``kadath new-plugin``: the package it makes installs, passes its own test, and uses only the
public API; a name or a folder it could not make a working plugin of is refused in one line.

The install test is slow (it makes a virtual environment and installs into it), never skipped.
"""

from __future__ import annotations

import ast
import os
import site
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import orjson
import pytest

from engine.cli import EXIT_BAD_SETUP, main
from engine.scaffold import ScaffoldError, make_plugin

ROOT = Path(__file__).resolve().parents[2]
#: Generous bound for one install or test run in a child process; never an assertion on speed.
STEP_TIMEOUT_S = 600
#: What the scaffold's code may import of Kadath: the public API, and in tests its test helpers.
PUBLIC = {"engine.api"}
PUBLIC_IN_TESTS = {"engine.api", "engine.testing"}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _kadath_imports(path: Path) -> set[str]:
    """The modules of Kadath's own packages a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {n for n in names if n.split(".")[0] in {"engine", "components", "systems"}}
    return found


def test_the_new_plugin_is_a_package_with_its_entry_point_code_content_test_and_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-plugin", "lanterns", "--dir", str(tmp_path)]) == 0
    folder = tmp_path / "lanterns"
    assert capsys.readouterr().out.startswith(f"made the plugin 'lanterns' in {folder}\n")
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert files == {
        "pyproject.toml",
        "README.md",
        "src/kadath_lanterns/__init__.py",
        "src/kadath_lanterns/components.py",
        "src/kadath_lanterns/rules.py",
        "src/kadath_lanterns/py.typed",
        "src/kadath_lanterns/content/lanterns_lines/lines.toml",
        "tests/test_lanterns.py",
    }
    project = tomllib.loads((folder / "pyproject.toml").read_text())
    assert project["project"]["name"] == "kadath-lanterns"
    assert project["project"]["entry-points"]["kadath.plugins"] == {
        "lanterns": "kadath_lanterns:plugin"
    }
    data = project["tool"]["setuptools"]["package-data"]["kadath_lanterns"]
    assert "content/*/*.toml" in data and "py.typed" in data
    lines = tomllib.loads(
        (folder / "src/kadath_lanterns/content/lanterns_lines/lines.toml").read_text()
    )
    assert [entry["id"] for entry in lines["lanterns_lines"]] == ["first", "second"]
    for path in (folder / "src").rglob("*.py"):
        assert _kadath_imports(path) <= PUBLIC, path
    assert _kadath_imports(folder / "tests/test_lanterns.py") <= PUBLIC_IN_TESTS


def test_the_new_plugins_code_passes_ruff_and_strict_mypy(tmp_path: Path) -> None:
    for tool in ("ruff", "mypy"):
        pytest.importorskip(tool, reason=f"needs {tool}: pip install -e '.[dev]'")
    folder = make_plugin("lanterns", tmp_path)
    bin_dir = Path(sys.executable).parent
    _run(bin_dir / "ruff", "check", ".", cwd=folder)  # with the plugin's own settings
    _run(bin_dir / "ruff", "format", "--check", ".", cwd=folder)
    env = {**os.environ, "MYPYPATH": f"{folder / 'src'}{os.pathsep}{ROOT}"}
    mypy = (sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent")
    cache = ("--cache-dir", tmp_path / "mypy-cache")
    _run(*mypy, *cache, "src/kadath_lanterns", "tests", cwd=folder, env=env)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("My-Lanterns", "'My-Lanterns' cannot name a plugin: use a lower-case Python identifier"),
        ("2lanterns", "'2lanterns' cannot name a plugin: use a lower-case Python identifier"),
        ("class", "'class' cannot name a plugin: use a lower-case Python identifier"),
        ("kadath_lamps", "'kadath_lamps' cannot name a plugin: names starting with 'kadath'"),
        ("candles", "a plugin called 'candles' is installed already (kadath plugins lists them)"),
        ("core", "a plugin called 'core' is installed already"),
        ("look", "'look' is already a command of plugin 'core', and the new plugin's command"),
    ],
)
def test_a_name_that_could_not_make_a_working_plugin_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, why: str
) -> None:
    assert main(["new-plugin", name, "--dir", str(tmp_path)]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert err.startswith(f"kadath new-plugin: {why}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "lanterns").mkdir()
    (tmp_path / "lanterns" / "notes.txt").write_text("mine")
    assert main(["new-plugin", "lanterns", "--dir", str(tmp_path)]) == EXIT_BAD_SETUP
    assert capsys.readouterr().err == (
        f"kadath new-plugin: {tmp_path / 'lanterns'} is a folder that is not empty: choose"
        " another --dir, or move it away\n"
    )
    assert [p.name for p in (tmp_path / "lanterns").iterdir()] == ["notes.txt"]
    (tmp_path / "lamps").write_text("a file")
    with pytest.raises(ScaffoldError, match="is a file"):
        make_plugin("lamps", tmp_path)


def test_an_empty_folder_of_that_name_is_used(tmp_path: Path) -> None:
    (tmp_path / "lanterns").mkdir()
    assert make_plugin("lanterns", tmp_path) == tmp_path / "lanterns"
    assert (tmp_path / "lanterns" / "pyproject.toml").is_file()


@pytest.mark.slow
def test_the_new_plugin_installs_passes_its_own_test_and_is_listed_by_kadath_plugins(
    tmp_path: Path,
) -> None:
    folder = make_plugin("lanterns", tmp_path)
    # A fresh environment that sees the running one's packages (Kadath, pytest, pip, setuptools)
    # through a .pth file: the plugin is installed into it, not into the environment running the
    # tests, which other tests share.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    own_site = Path(
        _run(python, "-c", "import site; print(site.getsitepackages()[0])", cwd=tmp_path).strip()
    )
    running = ";".join(f"site.addsitedir({p!r})" for p in site.getsitepackages())
    (own_site / "kadath-running-env.pth").write_text(f"import site; {running}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KADATH_", "PYTHON"))}
    # Built as a modder's pip builds it: in an isolated build environment (setuptools from the
    # package index, as for tests/test_packaging.py); --no-deps, as Kadath is already there.
    pip = (python, "-m", "pip", "install", "-q", "--no-deps")
    _run(*pip, "-e", folder, cwd=tmp_path, env=env)
    out = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder, env=env)
    assert "2 passed" in out
    report = _run(
        python, "-m", "engine.cli", "plugins", "lanterns", "--json", cwd=tmp_path, env=env
    )
    (row,) = orjson.loads(report)
    assert (row["state"], row["distribution"], row["requires"]) == (
        "loaded",
        "kadath-lanterns",
        ["core"],
    )
    assert row["registered"]["commands"] == ["lanterns"]
    assert row["registered"]["systems"] == ["count_time"]
    assert row["registered"]["content tables"] == ["lanterns_lines"]
    assert row["registered"]["components"] == ["Tally (lanterns_tally)"]
