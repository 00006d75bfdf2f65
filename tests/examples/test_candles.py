"""Rules of the candles example plugin, driven through a real Engine one tick at a time.

The plugin is installed (``pip install -e ./examples/candles``) and loaded beside ``core`` as a
server would load it; nothing here sleeps or reads the wall clock.
"""

from __future__ import annotations

import pytest
from kadath_candles import CONTENT_DIR, Candle
from kadath_candles import plugin as candles
from kadath_candles.burning import (
    BURN_CHECK_INTERVAL_S,
    GUTTER_TEXT,
    LIT_TEXT,
    LOW_WARNING_S,
    SNUFFED_TEXT,
    render_candle_low,
)

from engine.config import Config, EngineConfig, load_config
from engine.core import Engine, TickResult
from engine.events import Event, Scope
from systems import plugin as core

# --------------------------------------------------------------------------------------------------
# Helpers


def make_engine(tick_rate_hz: float = 10.0) -> Engine:
    return Engine(Config(engine=EngineConfig(tick_rate_hz=tick_rate_hz)), plugins=[core, candles])


def bearer(engine: Engine, burn_left_s: float = 600.0, *, lit: bool = False) -> int:
    """A persistent character carrying a candle."""
    return engine.world.spawn(Candle(burn_left_s, lit), persistent=True)


def do(engine: Engine, actor: int, line: str) -> list[Event]:
    """Type ``line`` as ``actor`` and run the tick that applies it; that tick's events."""
    engine.submit_line(actor, line)
    return engine.tick().events


def only(events: list[Event], type: str) -> Event:
    found = [event for event in events if event.type == type]
    assert len(found) == 1, f"expected one {type!r} event, got {events!r}"
    return found[0]


def run_until(engine: Engine, seconds: float) -> list[TickResult]:
    """Tick until the world's clock reads ``seconds`` (simulated time, no sleeping)."""
    results: list[TickResult] = []
    while engine.world.clock.seconds < seconds - 1e-9:
        results.append(engine.tick())
    return results


def candle_of(engine: Engine, actor: int) -> Candle:
    return engine.world.get(actor, Candle)


def changed_candle(result: TickResult, sid: int) -> Candle:
    """The candle of entity ``sid`` as the tick reported it changed (KeyError if it did not)."""
    candle = result.changes.changed[(sid, Candle)]
    assert isinstance(candle, Candle)
    return candle


# --------------------------------------------------------------------------------------------------
# Loading


def test_the_plugin_registers_its_component_system_commands_renderer_and_content() -> None:
    engine = make_engine()
    registry = engine.registry
    assert engine.plugins == ["core", "candles"]
    assert registry.persistent_types["candles_candle"] is Candle
    (burn,) = [s for s in engine.scheduler.systems if s.name == "burn_candles"]
    assert (burn.phase, burn.every_s, burn.plugin) == ("rules", BURN_CHECK_INTERVAL_S, "candles")
    assert "lucidity" in burn.before
    for verb in ("light", "kindle", "snuff", "douse", "extinguish"):
        spec = engine.commands.resolve(verb)
        assert spec is not None and spec.plugin == "candles"
    assert registry.renderers["candle_low"] is render_candle_low
    assert registry.content_dirs == [("candles", CONTENT_DIR)]
    assert (CONTENT_DIR / "items" / "candles.toml").is_file()


def test_light_and_snuff_have_help_with_their_usage_and_aliases() -> None:
    engine = make_engine()
    assert engine.commands.help_for("light") == (
        "Usage: light [candle]\n"
        "Aliases: kindle\n"
        "Light the candle you carry. It burns down while lit, and the dark waits for it."
    )
    help_text = engine.commands.help_for("douse")
    assert help_text is not None and help_text.startswith("Usage: snuff [candle]\n")


# --------------------------------------------------------------------------------------------------
# Lighting and snuffing


@pytest.mark.parametrize("line", ["light", "light candle", "LIGHT Candle", "kindle"])
def test_lighting_a_candle_lights_it_and_tells_only_the_bearer(line: str) -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    event = only(do(engine, actor, line), "candle_lit")
    assert candle_of(engine, actor).lit is True
    assert event.scope == Scope.entity(actor)
    assert event.text == LIT_TEXT
    assert event.data == {"burn_left_s": 600.0}


@pytest.mark.parametrize("line", ["snuff", "snuff candle", "douse", "extinguish candle"])
def test_snuffing_puts_the_candle_out_and_keeps_what_is_left(line: str) -> None:
    engine = make_engine()
    actor = bearer(engine, 10.0)
    do(engine, actor, "light")
    run_until(engine, 4.0)
    event = only(do(engine, actor, line), "candle_snuffed")
    assert event.text == SNUFFED_TEXT and event.scope == Scope.entity(actor)
    candle = candle_of(engine, actor)
    assert candle.lit is False
    assert candle.burn_left_s == pytest.approx(6.0)
    run_until(engine, 20.0)
    assert candle.burn_left_s == pytest.approx(6.0), "an unlit candle does not burn"


def test_a_snuffed_candle_can_be_lit_again_and_burns_on_from_where_it_stopped() -> None:
    engine = make_engine()
    actor = bearer(engine, 5.0)
    do(engine, actor, "light")
    run_until(engine, 2.0)
    do(engine, actor, "snuff")
    run_until(engine, 10.0)
    do(engine, actor, "light")
    results = run_until(engine, 14.0)
    out_ticks = [r.tick for r in results if any(e.type == "candle_out" for e in r.events)]
    assert out_ticks == [130], "2 s burnt before the pause, 3 s after relighting at 10 s"


# --------------------------------------------------------------------------------------------------
# Burning down, in seconds whatever the tick rate


def burn_record(
    tick_rate_hz: float, burn_s: float, until_s: float
) -> tuple[list[tuple[float, float]], list[float]]:
    """Light a candle of ``burn_s`` on the first tick, then tick until ``until_s``: the flame left
    at each whole second of game time, and the game times at which the candle went out."""
    engine = make_engine(tick_rate_hz)
    actor = bearer(engine, burn_s)
    engine.submit_line(actor, "light")
    per_second: list[tuple[float, float]] = []
    out_at: list[float] = []
    ticks_per_second = round(tick_rate_hz)
    while engine.world.clock.seconds < until_s - 1e-9:
        result = engine.tick()
        now = engine.world.clock.seconds
        if any(event.type == "candle_out" for event in result.events):
            out_at.append(now)
        if result.tick % ticks_per_second == 0:
            per_second.append((now, candle_of(engine, actor).burn_left_s))
    return per_second, out_at


@pytest.mark.parametrize("tick_rate_hz", [5.0, 20.0])
def test_a_lit_candle_loses_one_second_of_flame_per_second_of_game_time(
    tick_rate_hz: float,
) -> None:
    per_second, out_at = burn_record(tick_rate_hz, 3.0, 5.0)
    assert per_second == [(1.0, 2.0), (2.0, 1.0), (3.0, 0.0), (4.0, 0.0), (5.0, 0.0)]
    assert out_at == [3.0]


def test_a_candle_burns_down_at_the_same_game_time_at_5_hz_and_at_20_hz() -> None:
    slow = burn_record(5.0, 7.5, 12.0)
    fast = burn_record(20.0, 7.5, 12.0)
    assert slow == fast
    assert slow[1] == [8.0]


def test_the_tick_rate_can_come_from_configuration_overrides() -> None:
    config = load_config(env={}, overrides=["engine.tick_rate_hz=20"])
    engine = Engine(config, plugins=[core, candles])
    actor = bearer(engine, 2.0)
    engine.submit_line(actor, "light")
    results = run_until(engine, 3.0)
    assert len(results) == 60
    out_ticks = [r.tick for r in results if any(e.type == "candle_out" for e in r.events)]
    assert out_ticks == [40]


def test_a_candle_that_burns_out_gutters_once_tells_its_bearer_and_stays_out() -> None:
    engine = make_engine()
    actor = bearer(engine, 2.0)
    other = bearer(engine, 100.0)
    do(engine, actor, "light")
    events = [event for result in run_until(engine, 10.0) for event in result.events]
    gutter = only(events, "candle_out")
    assert gutter.text == GUTTER_TEXT
    assert gutter.scope == Scope.entity(actor)
    candle = candle_of(engine, actor)
    assert (candle.lit, candle.burn_left_s) == (False, 0.0)
    assert candle_of(engine, other).burn_left_s == 100.0, "an unlit candle nearby is untouched"


def test_each_bearer_hears_only_of_their_own_candle() -> None:
    engine = make_engine()
    first, second = bearer(engine, 1.0), bearer(engine, 2.0)
    do(engine, first, "light")
    do(engine, second, "light")
    outs = [e for r in run_until(engine, 5.0) for e in r.events if e.type == "candle_out"]
    assert [event.scope for event in outs] == [Scope.entity(first), Scope.entity(second)]


def test_a_candle_burning_low_warns_its_bearer_once_with_text_from_the_renderer() -> None:
    engine = make_engine()
    actor = bearer(engine, LOW_WARNING_S + 2.0)
    do(engine, actor, "light")
    events = [event for result in run_until(engine, 30.0) for event in result.events]
    low = only(events, "candle_low")
    assert low.scope == Scope.entity(actor)
    assert low.text == "", "the plain text comes from the renderer, when the event is shown"
    assert low.data == {"burn_left_s": LOW_WARNING_S}
    render = engine.registry.renderers["candle_low"]
    assert render(low) == "Your candle burns low: 60 seconds of flame left."


def test_the_low_candle_renderer_speaks_of_one_second_in_the_singular() -> None:
    event = Event("candle_low", Scope.entity(1), data={"burn_left_s": 0.6})
    assert render_candle_low(event) == "Your candle burns low: 1 second of flame left."


# --------------------------------------------------------------------------------------------------
# Refusals


def error_of(events: list[Event]) -> tuple[str, str]:
    event = only(events, "error")
    assert event.data["message"] == event.text
    return event.data["code"], event.text


def test_lighting_without_a_candle_is_refused() -> None:
    engine = make_engine()
    empty_handed = engine.world.spawn(persistent=True)
    assert error_of(do(engine, empty_handed, "light")) == ("no_candle", "You carry no candle.")


def test_snuffing_without_a_candle_is_refused() -> None:
    engine = make_engine()
    empty_handed = engine.world.spawn(persistent=True)
    assert error_of(do(engine, empty_handed, "snuff")) == ("no_candle", "You carry no candle.")


def test_lighting_a_lit_candle_is_refused_and_changes_nothing() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0, lit=True)
    engine.tick()
    events = do(engine, actor, "light")
    assert error_of(events) == ("already_lit", "Your candle is already lit.")
    assert [event.type for event in events] == ["error"]
    assert candle_of(engine, actor).lit is True


def test_snuffing_an_unlit_candle_is_refused() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    assert error_of(do(engine, actor, "snuff")) == ("not_lit", "Your candle is not lit.")


def test_a_burnt_down_candle_will_not_light() -> None:
    engine = make_engine()
    actor = bearer(engine, 0.0)
    code, text = error_of(do(engine, actor, "light"))
    assert code == "burnt_out" and "burnt down" in text
    assert candle_of(engine, actor).lit is False


def test_lighting_something_other_than_a_candle_shows_the_usage() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    event = only(do(engine, actor, "light the lamp"), "error")
    assert event.data["code"] == "bad_args"
    assert event.text == "Expected 'candle', not 'the'. Usage: light [candle]"
    assert candle_of(engine, actor).lit is False


# --------------------------------------------------------------------------------------------------
# Persistence: every change is reported by the engine, nobody calls save


def test_a_new_candle_is_reported_as_added_on_its_first_tick() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    sid = engine.world.stable_id(actor)
    assert sid is not None
    changes = engine.tick().changes
    assert set(changes.added) == {(sid, Candle)}
    assert changes.spawned == {sid}


def test_lighting_burning_and_snuffing_are_each_reported_as_changes() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    sid = engine.world.stable_id(actor)
    assert sid is not None
    key = (sid, Candle)
    engine.tick()

    engine.submit_line(actor, "light")
    result = engine.tick()
    assert set(result.changes.changed) == {key}
    assert changed_candle(result, sid).lit is True

    # Between two burn checks the candle is not written, so nothing is reported.
    quiet = run_until(engine, BURN_CHECK_INTERVAL_S - 0.1)
    assert all(len(result.changes) == 0 for result in quiet)
    burning = run_until(engine, BURN_CHECK_INTERVAL_S)
    assert set(burning[-1].changes.changed) == {key}
    assert changed_candle(burning[-1], sid).burn_left_s == pytest.approx(599.0)

    engine.submit_line(actor, "snuff")
    result = engine.tick()
    assert set(result.changes.changed) == {key}
    assert changed_candle(result, sid).lit is False
    assert all(len(result.changes) == 0 for result in run_until(engine, 5.0))


def test_a_refused_command_reports_no_change() -> None:
    engine = make_engine()
    actor = bearer(engine, 600.0)
    engine.tick()
    engine.submit_line(actor, "snuff")
    assert len(engine.tick().changes) == 0


def test_a_candle_going_out_is_reported_with_its_final_state() -> None:
    engine = make_engine()
    actor = bearer(engine, 1.0)
    sid = engine.world.stable_id(actor)
    assert sid is not None
    engine.submit_line(actor, "light")
    results = run_until(engine, 1.0)
    final = changed_candle(results[-1], sid)
    assert (final.lit, final.burn_left_s) == (False, 0.0)
