"""``kadath check-world``: lists every problem then a summary; exits 1 on any error, 0 otherwise;
checks the configured data folder by default, with the content folders of installed plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import EXIT_BAD_SETUP, main
from engine.plugins import Plugin, PluginKit
from systems import plugin as core
from systems.content import cli as check_world_cli
from tests.systems.content.worlds import FILES, edit, world, write

TOWN = FILES["zones/town.toml"]


@pytest.fixture(autouse=True)
def _no_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KADATH_CONFIG", "KADATH_WORLD__DATA_DIR", "KADATH_WORLD__PLUGINS_DISABLED"):
        monkeypatch.delenv(name, raising=False)


def test_a_valid_world_exits_0_with_a_clean_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-world", str(world(tmp_path)), "--no-plugins"]) == 0
    assert capsys.readouterr().out == "0 errors, 0 warnings in 4 files\n"


def test_errors_exit_1_and_every_problem_is_listed_before_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    town = edit(TOWN, 'w = "town.hall"', 'w = "town.hall"\nup = "town.square"\nd = "town.hall"')
    town = edit(town, 'npc = "rat"', 'npc = "bat"')
    folder = world(tmp_path, {"zones/town.toml": town})
    assert main(["check-world", str(folder), "--no-plugins"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "error: zones/town.toml: room town.cellar: exits.d: 'd' is not a direction: use one of"
        " n ne e se s sw w nw up down; did you mean 'down'?",
        "error: zones/town.toml: spawn #1: npc: unknown NPC template 'bat'",
        "warning: zones/town.toml: room town.cellar: exits.up: no way back: 'town.square' has no"
        " exit leading to 'town.cellar' (add one, or mark this exit one_way = true)",
        "2 errors, 1 warning in 4 files",
    ]


def test_warnings_alone_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    town = edit(TOWN, 'w = "town.hall"', 'w = "town.hall"\nup = "town.square"')
    assert (
        main(["check-world", str(world(tmp_path, {"zones/town.toml": town})), "--no-plugins"]) == 0
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("warning: zones/town.toml: room town.cellar: exits.up: no way back")
    assert out[-1] == "0 errors, 1 warning in 4 files"


def test_a_missing_folder_is_one_line_on_stderr_and_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert main(["check-world", str(missing), "--no-plugins"]) == EXIT_BAD_SETUP == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"kadath: the world's data folder {missing} does not exist (world.data_dir, or --data;"
        " leave it empty for the bundled world)\n"
    )
    assert main(["check-world", "--no-plugins", "--data", str(missing)]) == 2


def test_a_file_named_as_the_world_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "world.toml").write_text("")
    assert main(["check-world", str(tmp_path / "world.toml"), "--no-plugins"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_without_any_setting_the_bundled_world_is_checked_from_any_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["check-world", "--no-plugins"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("0 errors, 0 warnings in ")
    assert "checking the bundled world in " in err


def test_without_a_path_the_configured_data_folder_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = world(tmp_path, {"world.toml": None})
    monkeypatch.setenv("KADATH_WORLD__DATA_DIR", str(folder))
    assert main(["check-world", "--no-plugins"]) == 1
    assert "error: world.toml: world: start_room: missing" in capsys.readouterr().out
    assert main(["check-world", "--no-plugins", "--data", str(world(tmp_path / "ok"))]) == 0


def _fake_discovery(
    monkeypatch: pytest.MonkeyPatch, *plugins: Plugin, problems: dict[str, str] | None = None
) -> None:
    monkeypatch.setattr(
        check_world_cli, "discover_plugins", lambda: ([core, *plugins], dict(problems or {}))
    )


def test_the_content_folders_of_installed_plugins_are_checked_with_the_world(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = write(tmp_path / "plugin", {"npcs/bats.toml": '[[npcs]]\nid = "bat"\nname = "a bat"\n'})

    def setup(kit: PluginKit) -> None:
        kit.content(extra)

    _fake_discovery(monkeypatch, Plugin("bats", setup, requires=("core",)))
    assert main(["check-world", str(world(tmp_path / "data"))]) == 1
    out = capsys.readouterr().out
    assert "error: bats:npcs/bats.toml: npc bat: keywords: missing (required)" in out
    assert out.endswith("in 5 files\n")
    # A disabled plugin's content is left out, as the server leaves it out.
    args = ["check-world", str(tmp_path / "data"), "--set", "world.plugins_disabled=bats"]
    assert main(args) == 0


def test_a_plugin_that_cannot_load_is_a_setup_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_discovery(monkeypatch, problems={"broken": "failed to load entry point"})
    assert main(["check-world", str(world(tmp_path))]) == EXIT_BAD_SETUP
    assert "broken" in capsys.readouterr().err
