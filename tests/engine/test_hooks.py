"""Look contributors: asked in a fixed order, each failure contained like a failing system's."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pytest

from engine.config import Config, EngineConfig
from engine.core import Engine
from engine.hooks import LookContributor, LookHooks
from engine.plugins import Plugin, PluginKit
from engine.world import World


def saying(*lines: str) -> LookContributor:
    def contributor(world: World, viewer: int | None, seen: int) -> Iterable[str]:
        return lines

    return contributor


def broken(world: World, viewer: int | None, seen: int) -> list[str]:
    raise RuntimeError("the stars are wrong")


def test_contributors_speak_in_the_order_they_were_registered() -> None:
    hooks = LookHooks([("a", saying("one", "two")), ("b", saying("three"))])
    assert hooks.lines(World(), None, 1) == ["one", "two", "three"]


def test_nothing_and_blank_lines_add_nothing() -> None:
    def silent(world: World, viewer: int | None, seen: int) -> None:
        return None

    hooks = LookHooks([("a", silent), ("b", saying("", "  ", "seen"))])
    assert hooks.lines(World(), None, 1) == ["seen"]


def test_a_failing_contributor_is_logged_and_counted_and_the_others_still_speak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = LookHooks([("a", saying("before")), ("omens", broken), ("b", saying("after"))])
    with caplog.at_level(logging.ERROR, logger="kadath.hooks"):
        assert hooks.lines(World(), None, 1) == ["before", "after"]
    assert "look contributor broken of plugin 'omens' failed" in caplog.text
    assert "RuntimeError: the stars are wrong" in caplog.text  # the traceback is logged
    (stats,) = [s for s in hooks.stats() if s.plugin == "omens"]
    assert (stats.calls, stats.failures, stats.enabled) == (1, 1, True)


def test_a_contributor_returning_something_else_than_text_fails_like_one_that_raises() -> None:
    def numbers(world: World, viewer: int | None, seen: int) -> list[str]:
        return [42]  # type: ignore[list-item]  # the mistake under test

    hooks = LookHooks([("a", numbers)])
    assert hooks.lines(World(), None, 1) == []
    assert hooks.stats()[0].failures == 1


def test_a_contributor_that_keeps_failing_is_switched_off_and_can_be_switched_on() -> None:
    hooks = LookHooks([("omens", broken)], failure_limit=3)
    world = World()
    for _ in range(5):
        hooks.lines(world, None, 1)
    (stats,) = hooks.stats()
    assert (stats.calls, stats.failures, stats.enabled) == (3, 3, False)
    assert "after 3 consecutive failures" in stats.disabled_reason
    hooks.enable("broken")
    hooks.lines(world, None, 1)
    assert hooks.stats()[0].enabled and hooks.stats()[0].failures == 4
    with pytest.raises(KeyError, match="no look contributor named 'nobody'"):
        hooks.enable("nobody")


def test_a_success_ends_a_failure_streak() -> None:
    flaky_calls = iter([True, False, True, False, True])

    def flaky(world: World, viewer: int | None, seen: int) -> list[str]:
        if next(flaky_calls):
            raise RuntimeError("now and then")
        return ["fine"]

    hooks = LookHooks([("a", flaky)], failure_limit=2)
    for _ in range(5):
        hooks.lines(World(), None, 1)
    assert hooks.stats()[0].enabled


def test_the_engine_publishes_the_plugins_contributors_in_plugin_load_order() -> None:
    def first(kit: PluginKit) -> None:
        kit.look_contributor(saying("from alpha"))

    def second(kit: PluginKit) -> None:
        kit.look_contributor(saying("from beta"))

    plugins = [Plugin("beta", second, requires=("alpha",)), Plugin("alpha", first)]
    engine = Engine(Config(engine=EngineConfig(system_failure_limit=4)), plugins=plugins)
    hooks = engine.world.resource(LookHooks)
    assert hooks.lines(engine.world, None, 1) == ["from alpha", "from beta"]
    assert hooks.failure_limit == 4
    assert [s.plugin for s in hooks.stats()] == ["alpha", "beta"]


def test_a_failure_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="failure_limit must be >= 1"):
        LookHooks([], failure_limit=0)
