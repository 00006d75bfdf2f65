"""Hot reload: an admin's ``reload <plugin>`` swaps a plugin's changed code in between two ticks,
keeping the world's state and every connection; a reload that would change a persistent
component's schema, or that does not import, is refused with the reason, and the old code keeps
running.

The plugin under test is a package written to a temporary folder and put on ``sys.path``, as an
installed plugin's files would be; each test edits its files on disk and reloads it.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import Config, EngineConfig
from engine.events import Event
from engine.inputs import ReloadPlugin
from engine.plugins import Plugin, PluginKit
from engine.reload import RELOAD_EVENT, RELOAD_REFUSED
from engine.testing import Stage, world_from_toml
from tests.net.harness import async_test, live_server

PACKAGE = "kadath_omens"

INIT = """\
from engine.api import Plugin, PluginKit
from kadath_omens import rules
from kadath_omens.components import Omen, OmensSettings


def setup(kit: PluginKit) -> None:
    kit.component(Omen)
    rules.register(kit)


plugin = Plugin(
    name="omens", setup=setup, requires=("core",), settings={"omens": OmensSettings}
)
"""

COMPONENTS = """\
from dataclasses import dataclass

from engine.api import Component, persistent, setting_field


@persistent("omens_omen", version=1)
@dataclass(slots=True)
class Omen(Component):
    seen: int = 0
    gazed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class OmensSettings:
    gaze_rate: float = setting_field(1.0, "How fast a watcher gazes.", ge=0)
"""

RULES = """\
from engine.api import Command, CommandSpec, Args, Room, Scope, SystemContext, World, system
from kadath_omens.components import Omen, OmensSettings

GREETING = "The stars are right."
SKY = "The stars wheel overhead."
BROKEN = False


def augur(world: World, cmd: Command, args: Args) -> None:
    omen = world.try_get(cmd.actor, Omen)
    if omen is None:
        omen = Omen()
        world.add(cmd.actor, omen)
    omen.seen += 1
    world.emit("augury", Scope.entity(cmd.actor), f"{GREETING} ({omen.seen})", {"seen": omen.seen})


@system(every_s=1.0)
def stargaze(world: World, ctx: SystemContext) -> None:
    if BROKEN:
        raise RuntimeError("the sky is shut")
    rate = world.resource(OmensSettings).gaze_rate
    for _watcher, omen in world.query(Omen):
        omen.gazed_s += ctx.dt_s * rate


def sky(world: World, viewer: int | None, seen: int) -> list[str]:
    return [SKY] if world.has(seen, Room) else []


AUGUR: CommandSpec[World] = CommandSpec(verb="augur", handler=augur, help="Read the stars.")


def register(kit):
    kit.command(AUGUR)
    kit.system(stargaze)
    kit.look_contributor(sky)
"""

HAMLET = """\
[zone]
id = "hamlet"
name = "The Hamlet"

[[rooms]]
id = "hamlet.well"
name = "The Well"
description = "A mossy well."
"""

FAILURE_LIMIT = 3


@pytest.fixture
def omens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The omens plugin's package folder, on ``sys.path``; its modules forgotten afterwards."""
    folder = tmp_path / "site" / PACKAGE
    folder.mkdir(parents=True)
    for name, text in (("__init__", INIT), ("components", COMPONENTS), ("rules", RULES)):
        (folder / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    _forget()
    yield folder
    _forget()


def _forget() -> None:
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def edit(folder: Path, module: str, old: str, new: str) -> None:
    """Change the plugin's file on disk, as its author would."""
    path = folder / f"{module}.py"
    text = path.read_text()
    assert old in text, f"{old!r} is not in {module}.py"
    path.write_text(text.replace(old, new))


def omens_plugin() -> Plugin:
    module = importlib.import_module(PACKAGE)
    plugin = module.plugin
    assert isinstance(plugin, Plugin)
    return plugin


def omens_stage() -> tuple[Stage, int]:
    """A world with the omens plugin whose reloads are prepared by the test, and an admin."""
    config = Config(engine=EngineConfig(system_failure_limit=FAILURE_LIMIT))
    stage = world_from_toml(zones=[HAMLET], plugins=[omens_plugin()], config=config)
    stage.engine.reloader.attach(lambda: None)  # the test prepares, as the service would
    return stage, stage.player("Nyarla")


def reload(stage: Stage, admin: int, line: str = "reload omens") -> list[Event]:
    """The admin types ``line``; the request is prepared (what the reload service does off the
    tick) and its result applied by the next tick. What the admin was told, in order."""
    told = stage.type(admin, line, role="admin")
    for item in stage.engine.reloader.prepare_pending():
        stage.engine.submit(item)
    told += stage.tick().events
    return [e for e in told if e.scope.target == admin and e.type in ("admin", "error", "reload")]


def omen_of(stage: Stage, entity: int) -> Any:
    """The Omen component of ``entity`` (the type the running world holds)."""
    return stage.world.get(entity, sys.modules[f"{PACKAGE}.components"].Omen)


def augury(stage: Stage, actor: int) -> str:
    (event,) = [e for e in stage.type(actor, "augur") if e.type == "augury"]
    return event.text


def refusal(told: list[Event]) -> str:
    (error,) = [e for e in told if e.type == "error"]
    assert error.data["code"] == RELOAD_REFUSED
    assert error.text.endswith(". The old code keeps running.")
    return error.text


# --------------------------------------------------------------------------------------------------
# A reload that works


def test_a_changed_command_runs_its_new_code_after_a_reload_and_the_world_keeps_its_state(
    omens: Path,
) -> None:
    stage, admin = omens_stage()
    assert augury(stage, admin) == "The stars are right. (1)"
    omen = omen_of(stage, admin)
    old_rules = sys.modules[f"{PACKAGE}.rules"]
    edit(omens, "rules", "The stars are right.", "The stars are WRONG.")

    told = reload(stage, admin)
    assert [e.text for e in told] == [
        "Reloading plugin 'omens': its code is being read.",
        "Plugin 'omens' reloaded: 1 system, 1 command, 1 look contributor swapped.",
    ]
    assert told[-1].type == RELOAD_EVENT
    assert augury(stage, admin) == "The stars are WRONG. (2)"  # the same component, counted on
    assert omen_of(stage, admin) is omen and omen.seen == 2
    new_rules = sys.modules[f"{PACKAGE}.rules"]
    assert new_rules is not old_rules and new_rules.GREETING == "The stars are WRONG."
    assert new_rules.Omen is old_rules.Omen  # the type the world's data is made of is kept


def test_the_swap_comes_before_every_other_input_of_its_tick(omens: Path) -> None:
    stage, admin = omens_stage()
    edit(omens, "rules", "The stars are right.", "The stars are WRONG.")
    stage.type(admin, "reload omens", role="admin")
    (prepared,) = stage.engine.reloader.prepare_pending()
    stage.engine.submit_line(admin, "augur")  # arrived first, applied after the swap
    stage.engine.submit(prepared)
    result = stage.tick()
    assert [e.type for e in result.events if e.type in ("augury", RELOAD_EVENT)] == [
        RELOAD_EVENT,
        "augury",
    ]
    assert [e.text for e in result.events if e.type == "augury"] == ["The stars are WRONG. (1)"]
    assert result.inputs[0] is prepared  # and so the journal records it


def test_a_reloaded_system_keeps_its_schedule_and_reads_the_kept_settings(omens: Path) -> None:
    stage, admin = omens_stage()
    augury(stage, admin)
    stage.run_s(2.0)
    edit(omens, "rules", "omen.gazed_s += ctx.dt_s * rate", "omen.gazed_s += 2 * ctx.dt_s * rate")
    reload(stage, admin)
    before = omen_of(stage, admin).gazed_s
    stage.run_s(1.0)
    after = omen_of(stage, admin).gazed_s
    assert after - before == pytest.approx(2.0)  # one run, one interval, the new rate


def test_a_reload_that_fixes_a_system_the_failures_switched_off_switches_it_on_again(
    omens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    edit(omens, "rules", "BROKEN = False", "BROKEN = True")
    stage, admin = omens_stage()
    with caplog.at_level(logging.CRITICAL, logger="kadath.scheduler"):
        stage.run_s(float(FAILURE_LIMIT))
    (row,) = [r for r in stage.engine.scheduler.stats() if r.name == "stargaze"]
    assert not row.enabled
    edit(omens, "rules", "BROKEN = True", "BROKEN = False")
    told = reload(stage, admin)
    assert told[-1].text.endswith("swapped; switched on again: stargaze.")
    (row,) = [r for r in stage.engine.scheduler.stats() if r.name == "stargaze"]
    assert row.enabled and row.consecutive_failures == 0


def test_a_reloaded_look_contributor_adds_its_new_line(omens: Path) -> None:
    stage, admin = omens_stage()
    edit(omens, "rules", "The stars wheel overhead.", "The stars have gone out.")
    reload(stage, admin)
    (room,) = [e for e in stage.type(admin, "look") if e.type == "room"]
    assert "The stars have gone out." in room.text
    assert "The stars wheel overhead." not in room.text


def test_a_command_the_new_code_no_longer_has_is_gone(omens: Path) -> None:
    stage, admin = omens_stage()
    edit(omens, "rules", "    kit.command(AUGUR)\n", "")
    reload(stage, admin)
    (error,) = [e for e in stage.type(admin, "augur") if e.type == "error"]
    assert error.data["code"] == "unknown_command"
    assert "augur" not in [s.verb for s in stage.engine.registry.commands]


# --------------------------------------------------------------------------------------------------
# Refused reloads: the old code keeps running


def test_a_reload_that_would_change_a_persistent_schema_is_refused(omens: Path) -> None:
    stage, admin = omens_stage()
    edit(
        omens,
        "components",
        "    gazed_s: float = 0.0\n",
        "    gazed_s: float = 0.0\n    dread: int = 0\n",
    )
    edit(omens, "rules", "The stars are right.", "The stars are WRONG.")
    text = refusal(reload(stage, admin))
    assert text.startswith(
        "Reload of plugin 'omens' refused: it would change the schema of persistent component"
        " 'omens_omen' (Omen): it adds dread: int; a schema change needs a restart"
    )
    assert augury(stage, admin) == "The stars are right. (1)"


def test_a_reload_whose_code_does_not_compile_is_refused_with_the_file_and_line(
    omens: Path,
) -> None:
    stage, admin = omens_stage()
    old_rules = sys.modules[f"{PACKAGE}.rules"]
    edit(omens, "rules", "BROKEN = False", "BROKEN = = False")
    text = refusal(reload(stage, admin))
    assert text.startswith(
        f"Reload of plugin 'omens' refused: its code does not import at {omens / 'rules.py'},"
        " line 6: SyntaxError: invalid syntax"
    )
    assert augury(stage, admin) == "The stars are right. (1)"
    assert sys.modules[f"{PACKAGE}.rules"] is old_rules


def test_a_reload_whose_code_fails_while_importing_is_refused_with_the_file_and_line(
    omens: Path,
) -> None:
    stage, admin = omens_stage()
    edit(omens, "rules", 'SKY = "The stars wheel overhead."', 'SKY = {"owl": 1}["hoo"]')
    text = refusal(reload(stage, admin))
    assert f"its code does not import at {omens / 'rules.py'}, line 5: KeyError: 'hoo'" in text
    assert augury(stage, admin) == "The stars are right. (1)"


@pytest.mark.parametrize(
    ("module", "old", "new", "why"),
    [
        (
            "components",
            '@persistent("omens_omen", version=1)',
            '@persistent("omens_omen", version=2)',
            "the schema of persistent component 'omens_omen' (Omen): it moves its version from"
            " 1 to 2; a schema change needs a restart",
        ),
        (
            "components",
            'setting_field(1.0, "How fast',
            'setting_field(3.0, "How fast',
            "it changes OmensSettings, which the world's data or the settings read at start-up"
            " are made of: it changes the default of gaze_rate from 1.0 to 3.0; restart instead",
        ),
        (
            "__init__",
            "    kit.component(Omen)\n",
            "    kit.component(Omen)\n    kit.component(Dread)\n",
            "it adds the persistent component(s) omens_dread",
        ),
        (
            "__init__",
            "    rules.register(kit)\n",
            "    rules.register(kit)\n    raise RuntimeError('no')\n",
            "its new setup fails at",
        ),
        (
            "rules",
            'verb="augur",',
            'verb="augur", aliases=("look",),',
            "its commands do not fit: cannot register 'look' for command 'augur' (plugin 'omens')",
        ),
        (
            "rules",
            "@system(every_s=1.0)",
            '@system(every_s=1.0, phase="late", before=("bleed",))',
            "its systems cannot be ordered with the others: system 'bleed' (phase rules) must run",
        ),
    ],
)
def test_reloads_that_the_running_world_cannot_take_are_refused(
    omens: Path, module: str, old: str, new: str, why: str
) -> None:
    edit(
        omens,
        "components",
        "@dataclass(frozen=True",
        '@persistent("omens_dread", version=1)\n@dataclass(slots=True)\nclass Dread(Component):\n'
        "    level: int = 0\n\n\n@dataclass(frozen=True",
    )
    edit(omens, "__init__", "import Omen, OmensSettings", "import Dread, Omen, OmensSettings")
    stage, admin = omens_stage()
    edit(omens, module, old, new)
    assert why in refusal(reload(stage, admin))
    assert augury(stage, admin) == "The stars are right. (1)"


def test_the_core_plugin_and_plugins_without_a_package_of_their_own_are_not_reloaded(
    omens: Path,
) -> None:
    def setup(kit: PluginKit) -> None:
        """Registers nothing."""

    config = Config()
    stage = world_from_toml(
        zones=[HAMLET], plugins=[omens_plugin(), Plugin("local", setup)], config=config
    )
    stage.engine.reloader.attach(lambda: None)
    admin = stage.player("Nyarla")
    for line, code, text in (
        ("reload core", "not_reloadable", "Plugin 'core' cannot be reloaded: it holds"),
        ("reload local", "not_reloadable", "Plugin 'local' lives in 'tests', not a package"),
        ("reload stars", "no_such_plugin", "There is no plugin 'stars' (loaded: core, local,"),
    ):
        (error,) = [e for e in stage.type(admin, line, role="admin") if e.type == "error"]
        assert (error.data["code"], error.text[: len(text)]) == (code, text)


def test_a_reload_is_asked_once_at_a_time_and_only_where_a_service_prepares_it(
    omens: Path,
) -> None:
    stage = world_from_toml(zones=[HAMLET], plugins=[omens_plugin()])
    admin = stage.player("Nyarla")
    (error,) = [e for e in stage.type(admin, "reload omens", role="admin") if e.type == "error"]
    assert error.data["code"] == "reload_unavailable"
    stage.engine.reloader.attach(lambda: None)
    stage.type(admin, "reload omens", role="admin")
    (error,) = [e for e in stage.type(admin, "reload omens", role="admin") if e.type == "error"]
    assert error.text == "Plugin 'omens' is being reloaded already."
    player = stage.player("Carter")
    (error,) = [e for e in stage.type(player, "reload omens") if e.type == "error"]
    assert error.data["code"] == "forbidden"


def test_a_replayed_reload_without_its_code_changes_nothing_and_says_so(
    omens: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stage, admin = omens_stage()
    rules = sys.modules[f"{PACKAGE}.rules"]
    stage.engine.submit(ReloadPlugin("omens", stage.world.stable_id(admin)))  # as a journal has it
    with caplog.at_level(logging.WARNING, logger="kadath.reload"):
        result = stage.tick()
    assert result.events == [] and sys.modules[f"{PACKAGE}.rules"] is rules
    assert "the reload of plugin 'omens' at tick 1 is not replayed" in caplog.text
    assert augury(stage, admin) == "The stars are right. (1)"


# --------------------------------------------------------------------------------------------------
# On a running server, over one websocket connection


@async_test
async def test_a_reload_on_a_running_server_changes_a_command_on_the_same_connection(
    omens: Path, tmp_path: Path
) -> None:
    async with live_server(tmp_path, plugins=[omens_plugin()]) as server:
        admin = await server.player("Nyarla")  # the first account is an admin
        await admin.cmd("augur")
        said = await admin.expect_msg("augury")
        assert said.text == "The stars are right. (1)"

        edit(omens, "components", "    seen: int = 0\n", "    seen: int = 0\n    dread: int = 0\n")
        await admin.cmd("reload omens")
        refused = await admin.expect_error(RELOAD_REFUSED)
        assert "would change the schema of persistent component 'omens_omen'" in refused.text
        edit(omens, "components", "    dread: int = 0\n", "")

        edit(omens, "rules", "BROKEN = False", "BROKEN = = False")
        await admin.cmd("reload omens")
        refused = await admin.expect_error(RELOAD_REFUSED)
        assert "its code does not import" in refused.text and "SyntaxError" in refused.text
        await admin.cmd("augur")
        assert (await admin.expect_msg("augury")).text == "The stars are right. (2)"

        edit(omens, "rules", "BROKEN = = False", "BROKEN = False")
        edit(omens, "rules", "The stars are right.", "The stars are WRONG.")
        await admin.cmd("reload omens")
        done = await admin.expect_msg(RELOAD_EVENT)
        assert done.text.startswith("Plugin 'omens' reloaded:")
        await admin.cmd("augur")
        assert (await admin.expect_msg("augury")).text == "The stars are WRONG. (3)"
