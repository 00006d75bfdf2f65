"""``kadath init DIR``: a game folder with its own settings and world, which ``kadath serve`` in
that folder uses by itself; a folder with something in it is refused unless ``--force``, and
nothing that exists is ever overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from engine.cli import EXIT_BAD_SETUP, main
from engine.config import bundled_world_dir, load_config
from engine.game_folder import GameFolderError, make_game_folder
from engine.plugins import discover_plugins, rule_sections

#: Generous bound for a child process to start or stop; never an assertion on speed.
PROCESS_TIMEOUT_S = 60


def _bundled_files() -> set[str]:
    root = bundled_world_dir()
    return {p.relative_to(root).as_posix() for p in root.rglob("*.toml")}


def test_init_makes_the_config_the_world_and_a_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    game = tmp_path / "mygame"
    assert main(["init", str(game)]) == 0
    assert sorted(p.name for p in game.iterdir()) == ["README.md", "kadath.toml", "world"]
    world = game / "world"
    assert {p.relative_to(world).as_posix() for p in world.rglob("*.toml")} == _bundled_files()
    assert not list(world.rglob("*.py"))  # content only
    assert (world / "world.toml").read_text() == (bundled_world_dir() / "world.toml").read_text()
    out = capsys.readouterr().out
    assert f"made {game / 'kadath.toml'}" in out
    assert "next: cd" in out and "kadath serve" in out
    readme = (game / "README.md").read_text()
    for words in ("kadath serve", "kadath check-world", "kadath.db", "kadath.plugins"):
        assert words in readme


def test_the_made_config_lists_every_setting_and_points_at_its_own_world(tmp_path: Path) -> None:
    make_game_folder(tmp_path / "g")
    text = (tmp_path / "g" / "kadath.toml").read_text()
    document = tomllib.loads(text)
    rules, _ = rule_sections(discover_plugins()[0])
    assert rules, "the core plugin declares rule settings"
    assert document == {
        "engine": {},
        "calendar": {},
        "world": {"data_dir": "world"},
        "persist": {"database_url": "sqlite:///kadath.db"},
        "net": {},
        "log": {},
        "cluster": {},  # every setting shown, commented: a new game does not shard
        **{section: {} for section in rules},  # the plugins' rule settings, at their defaults
    }
    assert "# combat_round_s = 3.0" in text.splitlines()
    for setting in ("# tick_rate_hz = 10.0", "# port = 4000", "# login_failures_per_address = 5"):
        assert setting in text.splitlines()
    config = load_config(tmp_path / "g" / "kadath.toml", env={}, rules=rules)
    assert config.world.data_path == tmp_path / "g" / "world"
    assert config.persist.sqlite_path == tmp_path / "g" / "kadath.db"


def test_a_folder_with_something_in_it_is_refused_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not empty" in err and "--force" in err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    with pytest.raises(GameFolderError, match="is a file"):
        make_game_folder(tmp_path / "notes.txt")


def test_force_adds_what_is_missing_and_never_overwrites_an_edited_world(tmp_path: Path) -> None:
    make_game_folder(tmp_path)
    edited = tmp_path / "world" / "world.toml"
    edited.write_text(edited.read_text().replace("The Miskatonic Country", "Dunwich"))
    (tmp_path / "world" / "zones" / "arkham.toml").unlink()
    (tmp_path / "kadath.toml").write_text("[net]\nport = 4100\n")
    (tmp_path / "README.md").unlink()
    report = make_game_folder(tmp_path, force=True)
    assert report.made == ["README.md"]
    assert sorted(report.kept) == ["kadath.toml", "world/"]
    assert "Dunwich" in edited.read_text()
    assert not (tmp_path / "world" / "zones" / "arkham.toml").exists()  # the world is theirs
    assert (tmp_path / "kadath.toml").read_text() == "[net]\nport = 4100\n"


def test_force_on_a_missing_or_empty_folder_is_a_plain_init(tmp_path: Path) -> None:
    assert make_game_folder(tmp_path / "a" / "b", force=True).kept == []
    assert (tmp_path / "a" / "b" / "world" / "world.toml").is_file()


def test_serve_in_the_made_folder_uses_its_config_world_and_database(tmp_path: Path) -> None:
    make_game_folder(tmp_path / "game")
    (tmp_path / "game" / "world" / "world.toml").write_text(
        (tmp_path / "game" / "world" / "world.toml")
        .read_text()
        .replace("The Miskatonic Country", "Dunwich")
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "serve", "--max-ticks", "5", "--port", "0"],
        cwd=tmp_path / "game",
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"world: {tmp_path / 'game' / 'world'}" in proc.stderr
    assert f"database: SQLite file {tmp_path / 'game' / 'kadath.db'}" in proc.stderr
    assert "built world 'Dunwich'" in proc.stderr
    assert (tmp_path / "game" / "kadath.db").is_file()
