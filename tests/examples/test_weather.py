"""Rules of the weather example plugin, played in a world written here (engine.testing) with the
plugin installed (``pip install -e ./examples/weather``) and loaded beside ``core``.

Two zones: the moor (a track under the sky, an inn beside it) and the village (a green under the
sky). Nothing sleeps or reads the wall clock; every roll comes from the world's seeded RNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kadath_weather import CONTENT_DIR, Almanac, WeatherKind, WeatherSettings, ZoneWeather
from kadath_weather import plugin as weather_plugin
from kadath_weather.sky import CHANGE_EVENT
from kadath_weather.storms import STORM_EVENT

from components.mind import Lucidity
from engine.cli import main
from engine.config import CalendarConfig, Config, EngineConfig
from engine.state import world_state
from engine.testing import Stage, world_from_toml
from persist.database import open_database
from persist.restore import restore
from persist.schema import Schema, metadata
from systems.content.loader import check_content
from systems.content.tables import content_table
from tests.persist.test_restore import Saver
from tests.systems.content.worlds import world as small_world
from tests.systems.content.worlds import write

MOOR = """\
[zone]
id = "moor"
name = "The Moor"

[[rooms]]
id = "moor.track"
name = "A Track"
description = "Ruts in the peat."
environment = "wilderness"
flags = ["outdoors"]
exits = { e = "moor.inn", n = "village.green" }

[[rooms]]
id = "moor.inn"
name = "The Inn"
description = "Low beams and a smoky fire."
environment = "indoors"
exits = { w = "moor.track" }
"""

VILLAGE = """\
[zone]
id = "village"
name = "The Village"

[[rooms]]
id = "village.green"
name = "The Green"
description = "Grass and a well."
flags = ["outdoors"]
exits = { s = "moor.track" }
"""

SETTINGS = WeatherSettings()
CLEAR = "The sky is clear, and very deep."


#: Game hours per real hour in the tests that watch the sky for days: a game day in six real
#: minutes, so that days take thousands of ticks, not hundreds of thousands.
FAST_COMPRESSION = 240.0
#: The look at the sky in those tests: every 5 s is every 20 game minutes, well within a spell.
FAST_CHECK_S = 5.0


def stage(
    seed: int = 0,
    rate_hz: float = 10.0,
    compression: float = 4.0,
    weather: str = "",
    **settings: Any,
) -> Stage:
    """The two zones with the weather plugin; ``weather``: a file of more kinds of weather."""
    rules = {"weather": WeatherSettings(**settings)} if settings else {}
    config = Config(
        engine=EngineConfig(tick_rate_hz=rate_hz, seed=seed),
        calendar=CalendarConfig(time_compression=compression),
        rules=rules,
    )
    tables = {"weather": weather} if weather else None
    return world_from_toml(
        zones=[MOOR, VILLAGE], tables=tables, plugins=[weather_plugin], config=config
    )


def fast(seed: int, rate_hz: float = 10.0, weather: str = "") -> Stage:
    """A world whose days fly by (see :data:`FAST_COMPRESSION`)."""
    return stage(seed, rate_hz, FAST_COMPRESSION, weather, check_interval_s=FAST_CHECK_S)


def sky(stage: Stage, zone: str) -> ZoneWeather:
    return stage.world.get(stage.zone(zone), ZoneWeather)


def due_now(stage: Stage, zone: str, coming: str) -> None:
    """Make ``coming`` the weather that sets in over ``zone`` at the next look at the sky."""
    zone_sky = sky(stage, zone)
    zone_sky.next_kind, zone_sky.changes_at_s = coming, stage.now_s


def next_look(stage: Stage) -> None:
    """Run until the sky has been looked at once more."""
    stage.run_s(SETTINGS.check_interval_s)


def skies_over(stage: Stage, game_days: float) -> list[tuple[float, str, str]]:
    """Every turn of the weather over ``game_days``: (game time, zone, weather)."""
    calendar = stage.world.clock.calendar
    seconds = calendar.seconds_for_game_minutes(game_days * 24 * 60)
    turns = []
    for _ in range(stage.world.clock.ticks_for(seconds)):
        for event in stage.tick().events:
            if event.type == CHANGE_EVENT:
                turns.append((stage.now_s, event.data["zone"], event.data["weather"]))
    return sorted(set(turns))


# --------------------------------------------------------------------------------------------------
# The sky: seen outdoors, turning over the game day


def test_every_zone_starts_under_the_tables_first_weather_due_to_turn_at_the_first_look() -> None:
    world = stage()
    assert sky(world, "moor") == ZoneWeather("clear", "clear", 0.0)
    assert sky(world, "village") == ZoneWeather("clear", "clear", 0.0)


def test_looking_around_outdoors_shows_the_weather_and_indoors_does_not() -> None:
    world = stage()
    walker = world.player("Walker", room="moor.track")
    (outdoors,) = [e for e in world.type(walker, "look") if e.type == "room"]
    assert outdoors.data["details"] == [CLEAR]
    assert outdoors.text.splitlines()[:3] == ["A Track", "Ruts in the peat.", CLEAR]
    (indoors,) = [e for e in world.type(walker, "east") if e.type == "room"]
    assert indoors.data["details"] == []
    assert CLEAR not in indoors.text


def test_the_sky_turns_over_the_game_day_by_day_and_by_night() -> None:
    turns = skies_over(fast(seed=3), game_days=2)
    assert len(turns) >= 8  # spells of one to four game hours
    assert {zone for _, zone, _ in turns} == {"moor", "village"}
    assert len({kind for _, _, kind in turns}) >= 4


def test_the_same_seed_gives_the_same_skies_and_another_seed_others() -> None:
    assert skies_over(fast(seed=7), game_days=1) == skies_over(fast(seed=7), game_days=1)
    assert skies_over(fast(seed=7), game_days=1) != skies_over(fast(seed=8), game_days=1)


def test_the_skies_are_the_same_at_any_tick_rate() -> None:
    assert skies_over(fast(seed=5, rate_hz=5.0), 1) == skies_over(fast(seed=5, rate_hz=20.0), 1)


SUNSHINE = """\
[[weather]]
id = "sunshine"
name = "sunshine"
sky = "The sun beats down."
arrives = "The sun comes out."
forecast = "It will be sunny"
day_weight = 20.0
night_weight = 0.0
"""


def test_a_weather_comes_by_day_or_by_night_as_its_weights_say() -> None:
    world = fast(seed=11, weather=SUNSHINE)
    calendar = world.world.clock.calendar
    sunny = [at_s for at_s, _, kind in skies_over(world, game_days=3) if kind == "sunshine"]
    assert sunny, "sunshine, twenty times likelier by day than any other, never came"
    # Rolled for the moment it is due, it sets in then or at the next look at the sky.
    assert all(
        calendar.at(at_s).is_day or calendar.at(at_s - FAST_CHECK_S).is_day for at_s in sunny
    )
    assert not all(calendar.at(at_s).is_day for at_s, _, _ in skies_over(fast(seed=11), 3))


def test_a_turn_of_the_weather_is_told_to_those_outdoors_in_that_zone_alone() -> None:
    world = stage()
    out, inside, elsewhere = (
        world.player("Out", room="moor.track"),
        world.player("Inside", room="moor.inn"),
        world.player("Elsewhere", room="village.green"),
    )
    next_look(world)  # the first look at the sky: the skies stay clear, and nobody is told
    world.clear()
    due_now(world, "moor", "rain")
    next_look(world)
    (told,) = world.received(out, CHANGE_EVENT)
    assert told.text == "It begins to rain: thin, cold, and patient."
    assert told.data == {"zone": "moor", "weather": "rain", "previous": "clear"}
    assert world.received(inside, CHANGE_EVENT) == []
    assert world.received(elsewhere, CHANGE_EVENT) == []
    assert sky(world, "moor").kind == "rain"
    assert sky(world, "moor").changes_at_s > world.now_s


def test_a_spell_of_weather_lasts_between_the_shortest_and_the_longest() -> None:
    world = stage(shortest_spell_game_minutes=30.0, longest_spell_game_minutes=45.0)
    due_now(world, "moor", "fog")
    next_look(world)
    calendar = world.world.clock.calendar
    lasts = calendar.game_minutes(sky(world, "moor").changes_at_s) - calendar.game_minutes(
        world.now_s
    )
    assert 30.0 - 1.0 <= lasts <= 45.0  # from the look, which came up to one check late


# --------------------------------------------------------------------------------------------------
# Commands


def test_weather_outdoors_tells_the_sky() -> None:
    world = stage()
    walker = world.player("Walker", room="village.green")
    world.type(walker, "weather")
    (told,) = world.received(walker, "weather")
    assert (told.text, told.data) == (CLEAR, {"weather": "clear", "name": "clear skies"})


def test_weather_indoors_is_refused_and_changes_nothing() -> None:
    world = stage()
    walker = world.player("Walker", room="moor.inn")
    world.tick()
    before = world.world.dump()
    world.type(walker, "weather")
    (error,) = world.received(walker, "error")
    assert error.data == {"code": "indoors", "message": "You cannot see the sky from here."}
    assert [row for row in world.world.dump() if row[0] != "clock"] == [
        row for row in before if row[0] != "clock"
    ]


def test_forecast_tells_what_comes_about_when_and_the_storms_so_far_indoors_too() -> None:
    world = stage()
    walker = world.player("Walker", room="moor.inn")
    zone_sky = sky(world, "moor")
    zone_sky.next_kind = "storm"
    zone_sky.changes_at_s = world.world.clock.calendar.seconds_for_game_minutes(150)  # 2.5 h
    world_state(world.world, Almanac).storms = 1
    world.type(walker, "forecast")
    (told,) = world.received(walker, "forecast")
    assert told.text == (
        "The air is heavy and tastes of copper: a storm is coming within 3 hours."
        " The almanac counts 1 storm since the world began."
    )
    assert told.data["weather"] == "storm"


def test_the_weather_commands_are_never_abbreviated_so_f_still_flees() -> None:
    world = stage()
    commands = world.engine.commands
    flee = commands.resolve("f")
    assert flee is not None and flee.verb == "flee"
    assert commands.resolve("weather") is not None and commands.resolve("fore") is None


# --------------------------------------------------------------------------------------------------
# Storms


def test_a_storm_frays_the_minds_out_in_it_and_spares_those_indoors() -> None:
    world = stage(storm_interval_s=20.0, storm_lucidity_loss=3)
    out, inside = world.player("Out", room="moor.track"), world.player("In", room="moor.inn")
    due_now(world, "moor", "storm")
    next_look(world)
    before = {body: world.world.get(body, Lucidity).value for body in (out, inside)}
    world.clear()
    world.run_s(60.0)
    buffets = world.received(out, STORM_EVENT)
    assert len(buffets) == 3
    assert buffets[0].text.startswith("Lightning splits the sky")
    assert world.world.get(out, Lucidity).value == before[out] - 3 * 3
    assert world.received(inside, STORM_EVENT) == []
    assert world.world.get(inside, Lucidity).value == before[inside]


def test_a_storm_breaking_is_counted_in_the_almanac() -> None:
    world = stage()
    due_now(world, "village", "storm")
    next_look(world)
    assert world_state(world.world, Almanac).storms == 1


# --------------------------------------------------------------------------------------------------
# Persistence, content and settings


def test_the_sky_and_the_almanac_survive_a_restart_into_a_world_with_another_zone(
    tmp_path: Path,
) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'world.db'}")
    first = stage()
    saver = Saver(first.engine, db)
    due_now(first, "moor", "storm")
    next_look(first)
    saved_sky = ZoneWeather(**{k: getattr(sky(first, "moor"), k) for k in ("kind", "next_kind")})
    saver.flush()

    barrow = MOOR.replace("moor", "barrow").replace('n = "village.green"', 'n = "moor.track"')
    second = world_from_toml(zones=[barrow, MOOR, VILLAGE], plugins=[weather_plugin])
    schema = Schema(second.engine.registry.component_types)
    metadata.create_all(db, tables=schema.tables)
    restore(second.world, schema, db)
    assert (sky(second, "moor").kind, sky(second, "moor").next_kind) == (
        saved_sky.kind,
        saved_sky.next_kind,
    )
    assert sky(second, "barrow").kind == "clear"  # the new zone's first sky
    assert world_state(second.world, Almanac).storms == 1
    db.dispose()


def test_a_saved_sky_naming_a_weather_since_taken_out_turns_to_a_rolled_one() -> None:
    world = stage()
    zone_sky = sky(world, "moor")
    zone_sky.kind = zone_sky.next_kind = "ash"  # no such weather in the table now
    walker = world.player("Walker", room="moor.track")
    (seen,) = [e for e in world.type(walker, "look") if e.type == "room"]
    assert seen.data["details"] == []  # nothing to say of an unknown sky
    next_look(world)
    assert sky(world, "moor").kind in {kind.id for kind in content_table(world.world, WeatherKind)}


def test_the_plugins_weather_table_passes_the_content_check() -> None:
    check = check_content([CONTENT_DIR], tables={"weather": WeatherKind})
    errors = [p for p in check.report.problems if "start_room" not in p.field]
    assert errors == []  # a plugin's folder has no world file of its own: only that is missing
    assert check.report.files == 1


def test_check_world_reports_every_problem_of_a_worlds_own_weather_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KADATH_CONFIG", raising=False)
    bad = """\
[[weather]]
id = "hail"
name = "hail"
sky = "Hail."
arrives = "Hail begins."
day_weight = -1.0

[[weather]]
id = "clear"
name = "clear"
sky = "Clear."
arrives = "Clear."
forecast = "Clear."
"""
    folder = write(small_world(tmp_path), {"weather/mine.toml": bad})
    assert main(["check-world", str(folder)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[:-1] == [
        "error: weather/mine.toml: weather hail: forecast: missing (required)",
        "error: weather/mine.toml: weather hail: day_weight: Input should be greater than or"
        " equal to 0 (got -1.0)",
        "error: weather:weather/skies.toml: weather clear: id: duplicate weather id 'clear':"
        " also defined in weather/mine.toml",
    ]


def test_the_look_at_the_sky_is_as_often_as_the_setting_says() -> None:
    world = stage(check_interval_s=15.0, storm_interval_s=45.0)
    every = {s.name: s.every_s for s in world.engine.scheduler.systems}
    assert (every["change_weather"], every["fray_minds"]) == (15.0, 45.0)
