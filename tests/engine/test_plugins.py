"""Rules of plugin loading: discovery through entry points, dependency order, and failure reports
that name every plugin at fault, all at once."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import engine.plugins
from engine.commands import Args, Command, CommandSpec
from engine.component import Component, persistent
from engine.config import Config, WorldConfig
from engine.core import Engine
from engine.events import Event
from engine.plugins import (
    ENTRY_POINT_GROUP,
    Plugin,
    PluginError,
    PluginKit,
    PluginSource,
    Registry,
    discover_plugins,
    discover_sources,
    load_plugins,
)
from engine.scheduler import SystemContext, system
from engine.world import World
from systems import plugin as core
from tests.engine.installed import HOO_MODULES, install, install_hoo

# --------------------------------------------------------------------------------------------------
# Helpers


def nothing(kit: PluginKit) -> None:
    """A setup that registers nothing."""


def make(name: str, *requires: str, setup: Callable[[PluginKit], None] = nothing) -> Plugin:
    return Plugin(name=name, setup=setup, requires=requires)


def recording(names: Iterable[tuple[str, tuple[str, ...]]]) -> tuple[list[Plugin], list[str]]:
    """Plugins whose setups append their own name to the returned list when they run."""
    calls: list[str] = []
    plugins = []
    for name, requires in names:

        def setup(kit: PluginKit, name: str = name) -> None:
            calls.append(name)

        plugins.append(make(name, *requires, setup=setup))
    return plugins, calls


def problems_of(plugins: list[Plugin], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(PluginError) as caught:
        load_plugins(plugins, Registry(), **kwargs)
    return caught.value.problems


def fake_entry_points(monkeypatch: pytest.MonkeyPatch, *points: tuple[str, str]) -> None:
    """Make discovery see exactly these ``(name, "module:attribute")`` entry points."""
    eps = [EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP) for name, value in points]

    def entry_points(*, group: str) -> list[EntryPoint]:
        return [ep for ep in eps if ep.group == group]

    monkeypatch.setattr(engine.plugins, "entry_points", entry_points)


def failing_setup(kit: PluginKit) -> None:
    raise RuntimeError("the stars are not right")


def handler(world: World, cmd: Command, args: Args) -> None:
    """A command handler that does nothing."""


def registering_command(verb: str, *aliases: str) -> Callable[[PluginKit], None]:
    def setup(kit: PluginKit) -> None:
        kit.command(CommandSpec(verb=verb, handler=handler, aliases=aliases))

    return setup


@persistent("test_plugins_omen")
@dataclass(slots=True)
class Omen(Component):
    portent: str


@persistent("test_plugins_omen")
@dataclass(slots=True)
class RivalOmen(Component):
    portent: str


def factory() -> Plugin:
    """An entry point may name a function that returns the plugin."""
    return make("factory")


not_a_plugin = "just a string"


# --------------------------------------------------------------------------------------------------
# Discovery


def test_discovery_finds_core_and_the_installed_example_plugin_through_their_entry_points() -> None:
    import kadath_candles

    plugins, problems = discover_plugins()
    by_name = {plugin.name: plugin for plugin in plugins}
    assert by_name["core"] is core
    assert by_name["candles"] is kadath_candles.plugin
    assert by_name["candles"].requires == ("core",)
    assert "core" not in problems and "candles" not in problems


def test_an_engine_without_a_plugin_list_loads_every_installed_plugin_in_dependency_order() -> None:
    engine = Engine()
    assert engine.plugins.index("core") < engine.plugins.index("candles")
    assert engine.commands.resolve("light") is not None


def test_discovered_plugins_come_in_name_order(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch, ("factory", f"{__name__}:factory"), ("core", "systems:plugin"))
    plugins, problems = discover_plugins()
    assert [plugin.name for plugin in plugins] == ["core", "factory"]
    assert problems == {}


def test_an_entry_point_may_name_a_function_that_returns_the_plugin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("factory", f"{__name__}:factory"))
    plugins, problems = discover_plugins()
    assert [plugin.name for plugin in plugins] == ["factory"]
    assert problems == {}


def test_an_entry_point_that_fails_to_import_is_reported_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("core", "systems:plugin"), ("ghoul", "no_such_module:plugin"))
    plugins, problems = discover_plugins()
    assert [plugin.name for plugin in plugins] == ["core"]
    assert list(problems) == ["ghoul"]
    assert "no_such_module:plugin" in problems["ghoul"]
    assert "ModuleNotFoundError" in problems["ghoul"]


def hoo_with_rules(folder: Path, rules: str) -> Path:
    """The ``hoo`` plugin installed in ``folder`` with ``rules`` as its rules module, on
    ``sys.path`` by the caller; returns the rules module's file."""
    install(
        folder,
        "kadath-hoo",
        "0.2.0",
        {**HOO_MODULES, "kadath_hoo/rules.py": rules},
        {"hoo": "kadath_hoo:plugin"},
    )
    return folder / "kadath_hoo" / "rules.py"


def source_named(name: str) -> PluginSource:
    (found,) = [source for source in discover_sources() if source.name == name]
    return found


def test_a_plugin_failing_while_importing_is_reported_with_its_file_line_and_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules = install_hoo(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger="kadath.plugins"):
        source = source_named("hoo")
    assert source.plugin is None
    assert (source.distribution, source.version) == ("kadath-hoo", "0.2.0")
    assert source.problem == (
        "failed to load entry point 'kadath_hoo:plugin': KeyError: 'hoo' "
        f"(at {rules}, line 2; run with -v for the traceback)"
    )
    assert "Traceback (most recent call last)" in source.traceback
    assert "HOOT = OMENS['hoo']" in source.traceback  # the source line, as Python shows it
    (record,) = [r for r in caplog.records if r.name == "kadath.plugins"]
    assert record.levelno == logging.DEBUG and source.traceback in record.getMessage()
    with pytest.raises(PluginError) as caught:
        Engine()
    assert f"plugin 'hoo': {source.problem}" in str(caught.value)


def test_a_syntax_error_in_a_plugin_is_reported_at_its_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rules = hoo_with_rules(tmp_path, "def setup(kit):\n    pass\n\nwhile True print('x')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    problem = source_named("hoo").problem
    assert problem is not None
    assert problem.startswith("failed to load entry point 'kadath_hoo:plugin': SyntaxError")
    assert f"(at {rules}, line 4;" in problem


def test_an_error_raised_by_a_library_is_placed_at_the_plugin_line_that_called_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rules = hoo_with_rules(tmp_path, "import json\n\nDATA = json.loads('{oops')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    problem = source_named("hoo").problem
    assert problem is not None and "JSONDecodeError" in problem
    assert f"(at {rules}, line 3;" in problem


def test_an_engine_refuses_to_start_when_an_installed_plugin_fails_to_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("core", "systems:plugin"), ("ghoul", "no_such_module:plugin"))
    with pytest.raises(PluginError) as caught:
        Engine()
    assert list(caught.value.problems) == ["ghoul"]
    assert "plugin 'ghoul'" in str(caught.value)


def test_an_entry_point_naming_something_that_is_not_a_plugin_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("odd", f"{__name__}:not_a_plugin"))
    plugins, problems = discover_plugins()
    assert plugins == []
    assert "not an engine.plugins.Plugin" in problems["odd"]


def test_an_entry_point_must_carry_the_name_of_its_plugin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("alias", f"{__name__}:factory"))
    plugins, problems = discover_plugins()
    assert plugins == []
    assert "'alias'" in problems["alias"] and "'factory'" in problems["alias"]


# --------------------------------------------------------------------------------------------------
# Dependency order


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["core", "lucidity", "candles", "dreams"]))
)
def test_a_plugin_loads_after_the_plugins_it_requires_whatever_the_list_order(
    order: tuple[str, ...],
) -> None:
    requires = {
        "core": (),
        "lucidity": ("core",),
        "candles": ("core",),
        "dreams": ("lucidity", "candles"),
    }
    plugins, calls = recording((name, requires[name]) for name in order)
    loaded = load_plugins(plugins, Registry())
    assert loaded == calls
    # The same order every time: requirements first, ties broken by name.
    assert loaded == ["core", "candles", "lucidity", "dreams"]


def test_the_registry_records_the_loaded_plugins_and_stamps_what_each_registered() -> None:
    @system(every_s=2.0)
    def whisper(world: World, ctx: SystemContext) -> None:
        """Does nothing, quietly."""

    def setup(kit: PluginKit) -> None:
        kit.component(Omen)
        kit.system(whisper)
        kit.command(CommandSpec(verb="augur", handler=handler))

    registry = Registry()
    assert load_plugins([make("seer", "core", setup=setup), core], registry) == ["core", "seer"]
    assert registry.loaded == ["core", "seer"]
    assert registry.persistent_types["test_plugins_omen"] is Omen
    assert registry.owner(Omen) == "seer"
    (stamped,) = [s for s in registry.systems if s.name == "whisper"]
    assert stamped.plugin == "seer" and stamped.every_s == 2.0
    assert [c.plugin for c in registry.commands if c.verb == "augur"] == ["seer"]


def test_a_plugin_may_register_a_component_type_another_plugin_registered_too() -> None:
    def setup(kit: PluginKit) -> None:
        kit.component(Omen)

    registry = Registry()
    load_plugins([make("first", setup=setup), make("second", "first", setup=setup)], registry)
    assert registry.component_types.count(Omen) == 1
    assert registry.owner(Omen) == "first"


# --------------------------------------------------------------------------------------------------
# Failures, each reported by plugin name


def test_a_missing_requirement_names_the_plugin_and_what_it_lacks() -> None:
    problems = problems_of([core, make("candles", "core", "wax")])
    assert problems == {"candles": "requires 'wax', which is not installed"}


def test_a_plugin_whose_setup_raises_is_reported_by_name_with_the_reason_and_the_line() -> None:
    problems = problems_of([core, make("astrology", "core", setup=failing_setup)])
    assert list(problems) == ["astrology"]
    line = failing_setup.__code__.co_firstlineno + 1
    assert problems["astrology"] == (
        f"setup failed: RuntimeError: the stars are not right (at {__file__}, line {line})"
    )


def test_plugins_that_require_a_failed_plugin_are_reported_too() -> None:
    plugins = [
        make("astrology", setup=failing_setup),
        make("horoscopes", "astrology"),
        make("almanac", "horoscopes"),
        make("calendar"),
    ]
    problems = problems_of(plugins)
    assert set(problems) == {"astrology", "horoscopes", "almanac"}
    assert problems["horoscopes"] == "requires 'astrology', which failed to load"
    assert problems["almanac"] == "requires 'horoscopes', which failed to load"


def test_plugins_that_require_one_that_failed_to_import_are_reported_too() -> None:
    problems = problems_of(
        [core, make("dreams", "core", "ghoul")], problems={"ghoul": "failed to load entry point"}
    )
    assert problems == {
        "ghoul": "failed to load entry point",
        "dreams": "requires 'ghoul', which failed to load",
    }


def test_a_plugin_missing_a_requirement_is_not_set_up() -> None:
    plugins, calls = recording([("core", ()), ("candles", ("core", "wax"))])
    problems_of(plugins)
    assert calls == ["core"]


def test_circular_requirements_are_reported_naming_every_plugin_in_the_cycle() -> None:
    plugins = [make("azathoth", "nyarlathotep"), make("nyarlathotep", "azathoth"), core]
    problems = problems_of(plugins)
    assert set(problems) == {"azathoth", "nyarlathotep"}
    for why in problems.values():
        assert why.startswith("circular requirements: ")
        assert "azathoth" in why and "nyarlathotep" in why


def test_a_plugin_that_requires_itself_is_reported_as_circular() -> None:
    problems = problems_of([make("ouroboros", "ouroboros")])
    assert problems == {"ouroboros": "circular requirements: ouroboros -> ouroboros"}


def test_two_plugins_with_one_name_are_reported() -> None:
    problems = problems_of([core, make("candles"), make("candles")])
    assert problems == {"candles": "two plugins have this name"}


def test_two_plugins_may_not_give_persistent_components_the_same_stable_name() -> None:
    def first(kit: PluginKit) -> None:
        kit.component(Omen)

    def second(kit: PluginKit) -> None:
        kit.component(RivalOmen)

    problems = problems_of([make("augury", setup=first), make("haruspicy", setup=second)])
    assert list(problems) == ["haruspicy"]
    why = problems["haruspicy"]
    assert "'test_plugins_omen'" in why
    assert "RivalOmen" in why and "Omen" in why.replace("RivalOmen", "")
    assert "plugin 'augury'" in why


def test_two_plugins_may_not_render_the_same_event_type() -> None:
    def render(event: Event) -> str:
        return "a voice"

    def setup(kit: PluginKit) -> None:
        kit.renderer("whisper", render)

    problems = problems_of([make("first", setup=setup), make("second", setup=setup)])
    assert problems == {"second": "event type 'whisper' already has a renderer from plugin 'first'"}


def test_a_content_folder_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder"

    def setup(kit: PluginKit) -> None:
        kit.content(missing)

    problems = problems_of([make("atlas", setup=setup)])
    assert list(problems) == ["atlas"] and str(missing) in problems["atlas"]


def test_every_problem_is_reported_at_once() -> None:
    def first(kit: PluginKit) -> None:
        kit.component(Omen)

    def second(kit: PluginKit) -> None:
        kit.component(RivalOmen)

    plugins = [
        core,
        make("wanting", "core", "wax"),
        make("astrology", "core", setup=failing_setup),
        make("horoscopes", "astrology"),
        make("augury", setup=first),
        make("haruspicy", "augury", setup=second),
        make("fine", "core"),
    ]
    with pytest.raises(PluginError) as caught:
        load_plugins(plugins, Registry(), problems={"ghoul": "failed to load entry point"})
    problems = caught.value.problems
    assert set(problems) == {"ghoul", "wanting", "astrology", "horoscopes", "haruspicy"}
    message = str(caught.value)
    assert message.startswith("5 plugin problem(s):")
    for name in problems:
        assert f"plugin {name!r}" in message


def test_nothing_is_recorded_as_loaded_when_loading_fails() -> None:
    registry = Registry()
    with pytest.raises(PluginError):
        load_plugins([core, make("wanting", "wax")], registry)
    assert registry.loaded == []


# --------------------------------------------------------------------------------------------------
# Disabled plugins


def test_a_disabled_plugin_is_skipped() -> None:
    plugins, calls = recording([("core", ()), ("weather", ("core",))])
    assert load_plugins(plugins, Registry(), disabled=["weather"]) == ["core"]
    assert calls == ["core"]


def test_plugins_that_require_a_disabled_plugin_are_reported() -> None:
    problems = problems_of(
        [core, make("weather", "core"), make("storms", "weather")], disabled=["weather"]
    )
    assert problems == {"storms": "requires 'weather', which is disabled"}


def test_an_engine_skips_the_plugins_its_configuration_disables() -> None:
    import kadath_candles

    config = Config(world=WorldConfig(plugins_disabled=("candles",)))
    engine = Engine(config, plugins=[core, kadath_candles.plugin])
    assert engine.plugins == ["core"]
    assert engine.commands.resolve("light") is None
    assert "burn_candles" not in [s.name for s in engine.scheduler.systems]


# --------------------------------------------------------------------------------------------------
# Clashes between plugins found when the engine is assembled


def test_two_plugins_may_not_register_the_same_command_verb() -> None:
    plugins = [
        make("cult", setup=registering_command("chant")),
        make("choir", "cult", setup=registering_command("chant")),
    ]
    with pytest.raises(PluginError) as caught:
        Engine(plugins=plugins)
    message = str(caught.value)
    assert "'chant'" in message
    assert "plugin 'cult'" in message and "plugin 'choir'" in message


def test_a_plugin_may_not_take_a_verb_of_core_as_an_alias() -> None:
    plugins = [core, make("clocks", "core", setup=registering_command("hour", "time"))]
    with pytest.raises(PluginError) as caught:
        Engine(plugins=plugins)
    message = str(caught.value)
    assert "'time'" in message and "plugin 'core'" in message and "plugin 'clocks'" in message


# --------------------------------------------------------------------------------------------------
# Known engine faults (strict: these start failing, loudly, once the engine is fixed)


def test_disabling_a_plugin_that_fails_to_import_lets_the_server_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_entry_points(monkeypatch, ("core", "systems:plugin"), ("ghoul", "no_such_module:plugin"))
    engine = Engine(Config(world=WorldConfig(plugins_disabled=("ghoul",))))
    assert engine.plugins == ["core"]


def test_a_requirement_cycle_does_not_hide_the_other_problems() -> None:
    plugins = [make("azathoth", "nyarlathotep"), make("nyarlathotep", "azathoth")]
    problems = problems_of([*plugins, make("wanting", "wax")])
    assert set(problems) == {"azathoth", "nyarlathotep", "wanting"}


def test_plugin_error_lists_each_plugin_on_its_own_line() -> None:
    error = PluginError({"a": "broken", "b": "also broken"})
    assert str(error) == "2 plugin problem(s):\n  - plugin 'a': broken\n  - plugin 'b': also broken"


def test_the_default_say_and_emote_prefixes_survive_plugin_loading() -> None:
    engine = Engine(plugins=[core])
    command = engine.commands.parse_line(1, "'hello there", 0)
    assert (command.verb, command.args) == ("say", "hello there")


def test_two_plugins_may_not_bind_one_prefix_to_different_verbs() -> None:
    def binds(prefix: str, verb: str) -> Callable[[PluginKit], None]:
        return lambda kit: kit.prefix_alias(prefix, verb)

    plugins = [
        Plugin(name="prayer", setup=binds("!", "pray")),
        Plugin(name="shouting", setup=binds("!", "shout")),
    ]
    with pytest.raises(PluginError) as caught:
        load_plugins(plugins, Registry())
    message = str(caught.value)
    assert "'!'" in message and "'pray'" in message and "plugin 'prayer'" in message
    assert "shouting" in caught.value.problems
