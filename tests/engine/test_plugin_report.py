"""``kadath plugins``: every installed plugin with its version, package, requirements, place in
the load order and what it registered; the plugins that cannot load are listed with the reason."""

from __future__ import annotations

from pathlib import Path

import kadath_candles
import orjson
import pytest

from engine.cli import EXIT_BAD_SETUP, main
from engine.commands import Args, Command, CommandSpec
from engine.config import Config, WorldConfig
from engine.plugin_report import DISABLED, FAILED, LOADED, format_report, plugin_report
from engine.plugins import Plugin, PluginKit, PluginSource
from engine.world import World
from systems import plugin as core
from tests.engine.installed import install_hoo


def test_installed_plugins_are_listed_in_load_order_with_their_package_and_registrations() -> None:
    rows = plugin_report(Config())
    assert [row.order for row in rows] == list(range(1, len(rows) + 1))
    assert all(row.state == LOADED for row in rows)
    by_name = {row.name: row for row in rows}
    assert rows[0].name == "core" and by_name["candles"].requires == ("core",)
    candles = by_name["candles"]
    assert (candles.distribution, candles.distribution_version) == ("kadath-candles", "0.1.0")
    assert candles.entry_point == "kadath_candles:plugin"
    assert candles.requires == ("core",) and candles.requirements == ("kadath>=0.1",)
    assert candles.registered == {
        "components": ["Candle (candles_candle)"],
        "systems": ["burn_candles"],
        "commands": ["light", "snuff"],
        "events": ["candle_low"],
        "content": [str(kadath_candles.CONTENT_DIR)],
    }
    assert candles.problem is None
    assert "say" in rows[0].registered["commands"]
    assert rows[0].registered["presence"] == ["CorePresence"]


def test_a_plugin_the_configuration_disables_is_listed_as_disabled_without_a_place() -> None:
    rows = plugin_report(Config(world=WorldConfig(plugins_disabled=("candles",))))
    assert (rows[0].name, rows[0].order, rows[0].state) == ("core", 1, LOADED)
    (candles,) = [row for row in rows if row.name == "candles"]
    assert (candles.order, candles.state, candles.registered) == (None, DISABLED, {})
    assert rows[-1] is candles  # those that did not load come after the load order


def test_the_table_counts_what_each_plugin_registered_and_the_details_name_it() -> None:
    text = format_report(plugin_report(Config()), width=100)
    table, _, details = text.partition("\n\n")
    (candles,) = [line for line in table.splitlines() if " candles " in line]
    assert candles.split()[1:5] == ["candles", "0.1.0", "kadath-candles", "0.1.0"]
    assert "1 component, 1 system, 2 commands, 1 event" in " ".join(table.split())
    assert "  commands: light, snuff" in details
    assert "candles 0.1.0 (kadath-candles 0.1.0, entry point kadath_candles:plugin): loaded" in (
        details
    )


def test_kadath_plugins_prints_the_report_and_json_for_tools(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plugins", "--brief"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(" #  plugin") and "candles" in out and "commands: light" not in out
    assert main(["plugins", "candles", "--json"]) == 0
    (candles,) = orjson.loads(capsys.readouterr().out)
    assert candles["name"] == "candles" and candles["order"] > 1
    assert candles["registered"]["systems"] == ["burn_candles"]


def test_a_plugin_that_fails_to_import_is_listed_with_its_problem_and_status_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = install_hoo(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["plugins"]) == EXIT_BAD_SETUP
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if line.split()[1:2] == ["hoo"]]
    assert row.split() == ["-", "hoo", "0.2.0", "kadath-hoo", "0.2.0", "-", "FAILED"]
    assert (
        "problem: plugin 'hoo': failed to load entry point 'kadath_hoo:plugin': KeyError: " in out
    )
    assert f"(at {rules}, line 2;" in out
    assert " 1  core " in out and " candles " in out  # the others are still listed, in order


def test_plugins_clashing_when_assembled_are_listed_as_failed_with_the_reason() -> None:
    def chant(world: World, cmd: Command, args: Args) -> None:
        """Does nothing."""

    def setup(kit: PluginKit) -> None:
        kit.command(CommandSpec(verb="say", handler=chant))

    sources = [
        PluginSource("core", "systems:plugin", plugin=core),
        PluginSource("cult", "cult:plugin", plugin=Plugin("cult", setup, requires=("core",))),
    ]
    rows = {row.name: row for row in plugin_report(Config(), sources)}
    assert rows["cult"].state == FAILED and rows["core"].state == LOADED
    assert rows["cult"].problem is not None and "'say'" in rows["cult"].problem


def test_kadath_plugins_refuses_a_name_that_is_not_installed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    installed = ", ".join(row.name for row in plugin_report(Config()))
    assert main(["plugins", "astrology", "candles"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert err == (
        f"kadath plugins: no installed plugin is called 'astrology' (installed: {installed})\n"
    )
