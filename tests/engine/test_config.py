"""The server configuration: layering, type conversion, validation, errors, argparse, docs."""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import re
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.config import (
    CalendarConfig,
    Config,
    ConfigError,
    EngineConfig,
    LogConfig,
    NetConfig,
    PersistConfig,
    WorldConfig,
    add_config_arguments,
    bundled_world_dir,
    config_from_args,
    load_config,
    setting_field,
)
from engine.core import Engine
from engine.plugins import Plugin, rule_sections

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def write(tmp_path: Path, text: str, name: str = "kadath.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kadath")
    add_config_arguments(p)
    return p


def from_cli(argv: list[str], env: dict[str, str] | None = None) -> Config:
    return config_from_args(parser().parse_args(argv), env={} if env is None else env)


def error_of(**kwargs: Any) -> ConfigError:
    kwargs.setdefault("env", {})
    with pytest.raises(ConfigError) as info:
        load_config(**kwargs)
    return info.value


def all_settings() -> Iterator[tuple[str, str, type[Any] | object, object]]:
    """(section, field, type, default) for every setting, straight from the dataclasses."""
    section_types = typing.get_type_hints(Config)
    for section in dataclasses.fields(Config):
        if section.name == "rules":  # the plugins' sections, not the engine's settings
            continue
        section_type = section_types[section.name]
        hints = typing.get_type_hints(section_type)
        for f in dataclasses.fields(section_type):
            yield section.name, f.name, hints[f.name], f.default


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_are_the_documented_server_defaults() -> None:
    config = load_config(env={})
    assert config == Config()
    assert config.engine == EngineConfig(
        tick_rate_hz=10.0,
        seed=0,
        node_id=1,
        max_catch_up_ticks=5,
        system_failure_limit=10,
        stats_log_interval_s=60.0,
        stats_window=1024,
    )
    assert config.calendar == CalendarConfig(4.0, 8 * 60, 6, 20)
    assert config.world == WorldConfig("", ())  # the bundled world
    assert config.persist == PersistConfig("sqlite:///kadath.db", 1.0)
    assert config.net == NetConfig("127.0.0.1", 4000)
    assert config.log == LogConfig("INFO", False)


def test_tick_interval_is_derived_from_the_tick_rate() -> None:
    assert EngineConfig(tick_rate_hz=20).tick_interval_s == pytest.approx(0.05)


def test_load_config_reads_no_file_unless_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "[net]\nport = 5555\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(env={}).net.port == 4000


def test_kadath_commands_read_kadath_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "[net]\nport = 5555\n[engine]\nseed = 5\n")
    monkeypatch.chdir(tmp_path)
    assert from_cli([]).net.port == 5555
    # flags > environment > the file found in the working directory > defaults
    assert from_cli([], env={"KADATH_NET__PORT": "5556"}).net.port == 5556
    assert from_cli(["--port", "5557"], env={"KADATH_NET__PORT": "5556"}).net.port == 5557
    assert from_cli([]).engine.seed == 5
    assert from_cli([]).engine.tick_rate_hz == 10.0


def test_a_named_file_is_read_instead_of_kadath_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "[net]\nport = 5555\n[engine]\nseed = 5\n")
    named = write(tmp_path, "[net]\nport = 6666\n", name="other.toml")
    monkeypatch.chdir(tmp_path)
    assert from_cli(["--config", str(named)]).net.port == 6666
    assert from_cli(["--config", str(named)]).engine.seed == 0  # ./kadath.toml not read at all
    assert from_cli([], env={"KADATH_CONFIG": str(named)}).net.port == 6666


def test_relative_paths_in_a_file_are_relative_to_the_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    game = tmp_path / "game"
    game.mkdir()
    path = write(
        game, '[world]\ndata_dir = "world"\n[persist]\ndatabase_url = "sqlite:///saves/k.db?x=1"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(path, env={})
    assert config.world.data_dir == str(game / "world")
    assert config.persist.database_url == f"sqlite:///{game}/saves/k.db?x=1"
    assert config.persist.sqlite_path == game / "saves" / "k.db"


def test_absolute_paths_memory_databases_and_postgresql_urls_in_a_file_are_kept(
    tmp_path: Path,
) -> None:
    for url in ("sqlite:////srv/k.db", "sqlite://", "sqlite:///:memory:", "postgresql://h/k"):
        text = f'[world]\ndata_dir = "/srv/world"\n[persist]\ndatabase_url = "{url}"\n'
        config = load_config(write(tmp_path, text), env={})
        assert config.world.data_dir == "/srv/world"
        assert config.persist.database_url == url


def test_relative_paths_from_flags_and_the_environment_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = from_cli(["--data", "w"], env={"KADATH_PERSIST__DATABASE_URL": "sqlite:///k.db"})
    assert config.world.data_dir == "w"
    assert config.world.data_path == tmp_path / "w"
    assert config.persist.database_url == "sqlite:///k.db"
    assert config.persist.sqlite_path == tmp_path / "k.db"


def test_an_empty_data_dir_is_the_bundled_world_which_is_installed() -> None:
    world = WorldConfig()
    assert world.bundled
    assert world.data_path == bundled_world_dir()
    assert (world.data_path / "world.toml").is_file()
    assert not WorldConfig("elsewhere").bundled


def test_describing_the_database_names_the_sqlite_file_or_hides_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert PersistConfig().describe() == f"SQLite file {tmp_path / 'kadath.db'}"
    assert PersistConfig("postgresql://k:pw@db/k").describe() == "postgresql://k:***@db/k"
    assert PersistConfig("sqlite://").describe() == "sqlite://"


def test_config_is_immutable_and_slotted() -> None:
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.engine.tick_rate_hz = 20.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.net = NetConfig()  # type: ignore[misc]
    assert not hasattr(config, "__dict__")
    assert not hasattr(config.engine, "__dict__")


# --- layering ---------------------------------------------------------------------------------


def test_file_overrides_defaults_and_leaves_the_rest_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\ntick_rate_hz = 20.0\n[net]\nport = 4100\n")
    config = load_config(path, env={})
    assert config.engine.tick_rate_hz == 20.0
    assert config.net.port == 4100
    assert config.net.host == "127.0.0.1"
    assert config.engine.seed == 0


def test_environment_overrides_file_but_not_cli_flags(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\nport = 4100\nhost = '0.0.0.0'\n[engine]\nseed = 1\n")
    env = {"KADATH_NET__PORT": "4200", "KADATH_ENGINE__SEED": "2"}
    config = load_config(path, env=env, overrides=["net.port=4300"])
    assert config.net.port == 4300  # flag beats environment
    assert config.engine.seed == 2  # environment beats file
    assert config.net.host == "0.0.0.0"  # file beats default


def test_later_set_of_the_same_setting_wins() -> None:
    config = load_config(env={}, overrides=["net.port=4100", "net.port=4200"])
    assert config.net.port == 4200


def test_overrides_may_be_given_as_a_mapping() -> None:
    config = load_config(env={}, overrides={"engine.tick_rate_hz": "25", "log.level": "DEBUG"})
    assert config.engine.tick_rate_hz == 25.0
    assert config.log.level == "DEBUG"


def test_overrides_as_a_bare_string_are_refused_rather_than_read_letter_by_letter() -> None:
    with pytest.raises(TypeError):
        load_config(env={}, overrides="net.port=4100")


def test_kadath_config_names_the_file_when_no_path_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\nport = 4100\n")
    assert load_config(env={"KADATH_CONFIG": str(path)}).net.port == 4100


def test_an_empty_kadath_config_means_no_file() -> None:
    assert load_config(env={"KADATH_CONFIG": ""}) == Config()


def test_explicit_path_wins_over_kadath_config(tmp_path: Path) -> None:
    named = write(tmp_path, "[net]\nport = 4100\n", "named.toml")
    given = write(tmp_path, "[net]\nport = 4200\n", "given.toml")
    assert load_config(given, env={"KADATH_CONFIG": str(named)}).net.port == 4200


def test_environment_variable_names_are_case_insensitive() -> None:
    assert load_config(env={"kadath_net__port": "4100"}).net.port == 4100


def test_unrelated_environment_variables_are_ignored() -> None:
    assert load_config(env={"HOME": "/root", "PORT": "x", "KADATHX": "1"}) == Config()


# --- type conversion --------------------------------------------------------------------------


def test_environment_values_are_read_as_the_setting_type() -> None:
    config = load_config(
        env={
            "KADATH_ENGINE__TICK_RATE_HZ": "12.5",
            "KADATH_ENGINE__SEED": " 42 ",
            "KADATH_LOG__JSON": "yes",
            "KADATH_NET__HOST": "0.0.0.0",
            "KADATH_WORLD__PLUGINS_DISABLED": "weather, lucidity",
        }
    )
    assert config.engine.tick_rate_hz == 12.5
    assert config.engine.seed == 42
    assert config.log.json is True
    assert config.net.host == "0.0.0.0"
    assert config.world.plugins_disabled == ("weather", "lucidity")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("off", False),
    ],
)
def test_booleans_accept_the_usual_spellings(text: str, expected: bool) -> None:
    assert load_config(env={}, overrides=[f"log.json={text}"]).log.json is expected


def test_a_comma_separated_list_skips_blanks_and_empty_means_none() -> None:
    assert load_config(env={"KADATH_WORLD__PLUGINS_DISABLED": ""}).world.plugins_disabled == ()
    config = load_config(env={}, overrides=["world.plugins_disabled=a,,b ,"])
    assert config.world.plugins_disabled == ("a", "b")


def test_an_integer_where_a_number_is_expected_is_stored_as_a_float(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\ntick_rate_hz = 20\n[calendar]\ntime_compression = 2\n")
    config = load_config(path, env={})
    assert type(config.engine.tick_rate_hz) is float
    assert config.engine.tick_rate_hz == 20.0
    assert type(load_config(env={}, overrides=["engine.tick_rate_hz=20"]).engine.tick_rate_hz) is (
        float
    )


def test_a_toml_array_becomes_a_tuple(tmp_path: Path) -> None:
    path = write(tmp_path, '[world]\nplugins_disabled = ["weather", "lucidity"]\n')
    assert load_config(path, env={}).world.plugins_disabled == ("weather", "lucidity")


def test_log_level_is_read_in_any_case_and_stored_in_capitals() -> None:
    assert load_config(env={"KADATH_LOG__LEVEL": "debug"}).log.level == "DEBUG"
    assert LogConfig(level="warning").level == "WARNING"


def test_set_keys_may_use_dashes_and_any_case() -> None:
    assert load_config(env={}, overrides=["Engine.Tick-Rate-Hz=30"]).engine.tick_rate_hz == 30.0


def test_set_values_may_contain_equals_signs() -> None:
    url = "postgresql+psycopg://u:p@h/kadath?options=-csearch_path=game"
    assert load_config(env={}, overrides=[f"persist.database_url={url}"]).persist.database_url == (
        url
    )


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeff[net]\nport = 4100\n".encode())
    assert load_config(path, env={}).net.port == 4100


# --- errors -----------------------------------------------------------------------------------


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


def test_a_config_error_survives_pickling_with_its_problems() -> None:
    error = error_of(overrides=["net.port=-1", "log.level=LOUD"])
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems
    assert str(copy) == str(error)


def test_bad_toml_syntax_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\ntick_rate_hz = = 20\n")
    error = error_of(path=path)
    assert str(path) in str(error)
    assert "not valid TOML" in str(error)
    assert "line 2" in str(error)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    error = error_of(path=missing)
    assert str(missing) in str(error)
    assert "cannot read" in str(error)


def test_a_missing_file_named_by_kadath_config_says_so(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.toml")
    error = error_of(env={"KADATH_CONFIG": missing})
    assert f"{missing} (named by KADATH_CONFIG)" in str(error)


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[world]\ndata_dir = '\xe9'\n")
    assert "not UTF-8" in str(error_of(path=path))


def test_unknown_setting_in_file_suggests_the_closest_known_one(tmp_path: Path) -> None:
    path = write(tmp_path, "[engine]\ntick_rate = 20\n")
    (problem,) = error_of(path=path).problems
    assert problem.source == str(path)
    assert problem.key == "engine.tick_rate"
    assert "unknown setting" in problem.message
    assert "did you mean tick_rate_hz in [engine]?" in problem.message


def test_a_setting_in_the_wrong_section_suggests_its_own_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\ntick_rate_hz = 20\n")
    (problem,) = error_of(path=path).problems
    assert "did you mean tick_rate_hz in [engine]?" in problem.message


def test_unknown_section_suggests_the_closest_known_one(tmp_path: Path) -> None:
    path = write(tmp_path, "[engin]\ntick_rate_hz = 20\n")
    (problem,) = error_of(path=path).problems
    assert problem.key == "[engin]"
    assert "unknown section; did you mean [engine]?" in problem.message


def test_a_setting_outside_any_section_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "port = 4100\n")
    (problem,) = error_of(path=path).problems
    assert "belong in a [section] table; did you mean port in [net]?" in problem.message


def test_a_section_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "net = 4100\n")
    (problem,) = error_of(path=path).problems
    assert "expected a table ([net]), got an integer" in problem.message


def test_a_wrong_type_in_the_file_names_file_key_value_and_expected_type(tmp_path: Path) -> None:
    path = write(tmp_path, '[net]\nport = "4100"\n')
    error = error_of(path=path)
    assert str(error) == (
        f'invalid configuration: {path}: net.port = "4100": '
        "expected an integer between 0 and 65535, got a string"
    )


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[engine]\nseed = true", "expected an integer between 0 and 9223372036854775807, got a"),
        ("[engine]\ntick_rate_hz = false", "got a boolean"),
        ("[log]\njson = 1", "expected true or false, got an integer"),
        ("[world]\nplugins_disabled = 'weather'", "expected an array of strings, got a string"),
        ("[world]\nplugins_disabled = [1, 2]", "expected an array of strings, got an array"),
        ("[engine]\ntick_rate_hz = inf", "expected a number in Hz, > 0 and <= 1000, got a float"),
        ("[engine]\nseed = 1.0", "expected an integer"),
        ("[net]\nhost = 1979-05-27", "expected a string, got a date"),
    ],
)
def test_toml_values_are_type_checked_and_a_bool_is_not_a_number(
    tmp_path: Path, toml: str, expected: str
) -> None:
    (problem,) = error_of(path=write(tmp_path, toml + "\n")).problems
    assert expected in problem.message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("engine.tick_rate_hz=0", "expected a number in Hz, > 0 and <= 1000"),
        ("engine.tick_rate_hz=1001", "expected a number in Hz, > 0 and <= 1000"),
        ("engine.node_id=0", "between 1 and 65535"),
        ("engine.node_id=65536", "between 1 and 65535"),
        ("engine.seed=-1", "between 0 and"),
        ("engine.max_catch_up_ticks=-1", "between 0 and 1000"),
        ("engine.system_failure_limit=0", ">= 1"),
        ("engine.stats_log_interval_s=0", "> 0"),
        ("engine.stats_window=0", "between 1 and 1000000"),
        ("calendar.time_compression=-4", "> 0"),
        ("calendar.start_game_minute=-1", ">= 0"),
        ("calendar.dawn_hour=24", "between 0 and 23"),
        ("persist.flush_interval_s=0", "> 0 and <= 3600"),
        ("net.port=-1", "between 0 and 65535"),
        ("net.port=65536", "between 0 and 65535"),
    ],
)
def test_numbers_out_of_range_are_refused(override: str, expected: str) -> None:
    (problem,) = error_of(overrides=[override]).problems
    assert problem.message.startswith("out of range: expected")
    assert expected in problem.message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("log.level=verbose", "expected one of DEBUG, INFO, WARNING, ERROR"),
        ("net.host=", "expected a non-empty string"),
        ("world.data_dir= ", "expected a folder, or an empty string for the bundled world"),
        ("persist.database_url=kadath.db", "expected a database URL such as sqlite:///kadath.db"),
        ("persist.database_url=mysql://u@h/k", "unknown database URL scheme 'mysql'"),
        ("persist.database_url=postgresql+psycopg2://h/k", "install kadath[postgres]"),
        ("engine.tick_rate_hz=nan", "expected a number in Hz"),
        ("engine.tick_rate_hz=inf", "expected a number in Hz"),
        ("engine.seed=1.5", "expected an integer"),
        ("log.json=maybe", "expected true/false, yes/no, on/off or 1/0"),
    ],
)
def test_values_that_are_not_allowed_are_refused(override: str, expected: str) -> None:
    (problem,) = error_of(overrides=[override]).problems
    assert expected in problem.message


def test_dawn_must_come_before_dusk_and_the_error_names_who_set_them(tmp_path: Path) -> None:
    path = write(tmp_path, "[calendar]\ndawn_hour = 21\n")
    (problem,) = error_of(path=path, overrides=["calendar.dusk_hour=9"]).problems
    assert problem.key == "calendar.dawn_hour, calendar.dusk_hour"
    assert problem.source == f"{path} and --set"
    assert "dawn_hour (21) must be before dusk_hour (9)" in problem.message


def test_a_bad_environment_value_names_the_variable() -> None:
    error = error_of(env={"KADATH_ENGINE__TICK_RATE_HZ": "fast"})
    assert str(error) == (
        "invalid configuration: environment variable KADATH_ENGINE__TICK_RATE_HZ: "
        'engine.tick_rate_hz = "fast": expected a number in Hz, > 0 and <= 1000'
    )


def test_an_unknown_environment_variable_suggests_the_closest_one() -> None:
    (problem,) = error_of(env={"KADATH_NET__PROT": "4100"}).problems
    assert problem.source == "environment variable KADATH_NET__PROT"
    assert "did you mean KADATH_NET__PORT?" in problem.message


def test_a_single_underscore_environment_variable_suggests_the_double_underscore() -> None:
    (problem,) = error_of(env={"KADATH_LOG_LEVEL": "DEBUG"}).problems
    assert "did you mean KADATH_LOG__LEVEL?" in problem.message


@pytest.mark.parametrize("override", ["engine.tick_rate_hz", "=20", "tick_rate_hz=20", ".x=1"])
def test_bad_set_syntax_shows_the_expected_form(override: str) -> None:
    (problem,) = error_of(overrides=[override]).problems
    assert problem.source == "--set"
    assert "expected SECTION.SETTING" in problem.message


def test_an_unknown_set_key_suggests_the_closest_one() -> None:
    (problem,) = error_of(overrides=["engine.tick_rat=20"]).problems
    assert str(problem) == (
        '--set: engine.tick_rat = "20": unknown setting; did you mean engine.tick_rate_hz?'
    )


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[engine]\ntick_rate = 20\nnode_id = 0\n[net]\nport = 'x'\n[log]\nlevel = 'LOUD'\n",
    )
    error = error_of(path=path)
    assert [p.key for p in error.problems] == [
        "engine.tick_rate",
        "engine.node_id",
        "net.port",
        "log.level",
    ]
    assert str(error).startswith("invalid configuration (4 problems):\n")
    for problem in error.problems:
        assert f"  - {problem}" in str(error)
        assert problem.source == str(path)


def test_problems_from_every_layer_are_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\nport = -1\n")
    error = error_of(
        path=path, env={"KADATH_ENGINE__SEED": "x"}, overrides=["log.level=LOUD", "oops"]
    )
    assert [p.source for p in error.problems] == [
        str(path),
        "environment variable KADATH_ENGINE__SEED",
        "--set",
        "--set",
    ]


def test_a_bad_value_in_a_lower_layer_is_reported_even_when_a_higher_one_overrides_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "[net]\nport = -1\n")
    (problem,) = error_of(path=path, overrides=["net.port=4100"]).problems
    assert problem.source == str(path)


def test_sections_built_in_code_are_validated_too() -> None:
    with pytest.raises(ConfigError, match=r"EngineConfig\(\): engine.tick_rate_hz = 0"):
        EngineConfig(tick_rate_hz=0)
    with pytest.raises(ConfigError, match="dawn_hour"):
        CalendarConfig(dawn_hour=20, dusk_hour=6)
    with pytest.raises(ConfigError, match="got a boolean"):
        NetConfig(port=True)


# --- printing ---------------------------------------------------------------------------------


def test_to_toml_reads_back_as_the_same_configuration(tmp_path: Path) -> None:
    config = load_config(
        env={},
        overrides=[
            "engine.tick_rate_hz=12.5",
            "engine.seed=7",
            "calendar.dawn_hour=5",
            'world.data_dir=C:\\worlds\\"dream"\tlands\x7f é',
            "world.plugins_disabled=weather,lucidity",
            "persist.database_url=postgresql+psycopg://u:secret@h/kadath",
            "log.json=true",
        ],
    )
    text = config.to_toml(redact_secrets=False)
    # The relative data folder, read from a file, is relative to the file's folder.
    world = dataclasses.replace(config.world, data_dir=str(tmp_path / config.world.data_dir))
    assert load_config(write(tmp_path, text), env={}) == dataclasses.replace(config, world=world)


def test_to_toml_of_the_defaults_reads_back_as_the_defaults(tmp_path: Path) -> None:
    # The default database file, read from a file, is next to the file.
    persist = PersistConfig(f"sqlite:///{tmp_path}/kadath.db")
    expected = dataclasses.replace(Config(), persist=persist)
    assert load_config(write(tmp_path, Config().to_toml()), env={}) == expected


def test_to_toml_can_comment_out_every_setting_left_at_its_default(tmp_path: Path) -> None:
    config = Config(world=WorldConfig(data_dir="world"))
    text = config.to_toml(comment_defaults=True)
    assert 'data_dir = "world"' in text.splitlines()
    assert "# tick_rate_hz = 10.0" in text.splitlines()
    assert "# port = 4000" in text.splitlines()
    assert not [
        line
        for line in text.splitlines()
        if line and line[0] not in "#[" and "=" in line and not line.startswith("data_dir")
    ]
    assert load_config(write(tmp_path, text), env={}) == Config(
        world=WorldConfig(data_dir=str(tmp_path / "world"))
    )


def test_printing_the_configuration_hides_the_database_password() -> None:
    config = load_config(env={"KADATH_PERSIST__DATABASE_URL": "postgresql://kadath:hunter2@db/k"})
    assert "hunter2" not in config.to_toml()
    assert 'database_url = "postgresql://kadath:***@db/k"' in config.to_toml()
    assert "hunter2" not in repr(config)
    assert config.persist.database_url == "postgresql://kadath:hunter2@db/k"


STATS_TOKEN = "tindalos-hounds-at-the-angles"


def test_the_stats_token_is_hidden_wherever_the_configuration_is_printed() -> None:
    config = load_config(env={"KADATH_NET__STATS_TOKEN": STATS_TOKEN})
    assert config.net.stats_token == STATS_TOKEN
    assert 'stats_token = "***"' in config.to_toml().splitlines()
    assert STATS_TOKEN not in config.to_toml()
    assert STATS_TOKEN not in repr(config)
    assert STATS_TOKEN in config.to_toml(redact_secrets=False)
    assert 'stats_token = ""' in Config().to_toml().splitlines()  # none set: nothing to hide


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("necronomicon", "at least 16 characters"),
        ("the silver key opens", "visible ASCII characters only"),
    ],
)
def test_a_guessable_or_unsendable_stats_token_is_refused_without_being_printed(
    token: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env={"KADATH_NET__STATS_TOKEN": token})
    assert expected in str(info.value)
    assert 'net.stats_token = "***"' in str(info.value)
    assert token not in str(info.value)
    with pytest.raises(ConfigError) as built:
        NetConfig(stats_token=token)
    assert token not in str(built.value)


@pytest.mark.parametrize(
    ("history_s", "step_s", "expected"),
    [
        ("5", "10", "stats_history_step_s (10) must not exceed stats_history_s (5)"),
        ("86400", "1", "86400 points; at most 1440"),
    ],
)
def test_a_history_of_more_points_than_a_chart_can_hold_is_refused(
    history_s: str, step_s: str, expected: str
) -> None:
    env = {
        "KADATH_ENGINE__STATS_HISTORY_S": history_s,
        "KADATH_ENGINE__STATS_HISTORY_STEP_S": step_s,
    }
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(env=env)


# --- command line -----------------------------------------------------------------------------


def test_no_flags_give_the_environment_over_the_defaults() -> None:
    assert from_cli([]) == Config()
    assert from_cli([], env={"KADATH_NET__PORT": "4100"}).net.port == 4100


def test_shortcut_flags_set_their_settings() -> None:
    config = from_cli(
        [
            "--tick-rate",
            "20",
            "--seed",
            "3",
            "--data",
            "/srv/data",
            "--db",
            "sqlite:///w.db",
            "--host",
            "0.0.0.0",
            "--port",
            "4100",
        ]
    )
    assert config.engine.tick_rate_hz == 20.0
    assert config.engine.seed == 3
    assert config.world.data_dir == "/srv/data"
    assert config.persist.database_url == "sqlite:///w.db"
    assert config.net.host == "0.0.0.0"
    assert config.net.port == 4100


def test_set_flag_is_repeatable() -> None:
    config = from_cli(["--set", "engine.seed=9", "--set", "log.level=debug"])
    assert config.engine.seed == 9
    assert config.log.level == "DEBUG"


def test_shortcut_flag_wins_over_set_for_the_same_setting() -> None:
    assert from_cli(["--port", "4200", "--set", "net.port=4100"]).net.port == 4200


def test_cli_flags_override_environment_and_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\nport = 4100\n[engine]\nseed = 1\n")
    env = {"KADATH_NET__PORT": "4200", "KADATH_ENGINE__SEED": "2"}
    config = from_cli(["--config", str(path), "--port", "4300"], env=env)
    assert config.net.port == 4300
    assert config.engine.seed == 2


def test_a_bad_shortcut_value_names_the_flag() -> None:
    with pytest.raises(ConfigError) as info:
        from_cli(["--port", "http"])
    assert str(info.value) == (
        'invalid configuration: --port: net.port = "http": expected an integer between 0 and 65535'
    )


def test_config_from_args_reads_kadath_config_when_no_config_flag(tmp_path: Path) -> None:
    path = write(tmp_path, "[net]\nport = 4100\n")
    assert from_cli([], env={"KADATH_CONFIG": str(path)}).net.port == 4100


def test_config_flags_are_listed_in_help() -> None:
    text = parser().format_help()
    for flag in ("--config", "--set", "--tick-rate", "--seed", "--data", "--db", "--host"):
        assert flag in text


def test_a_command_may_take_only_some_shortcut_flags() -> None:
    p = argparse.ArgumentParser(prog="kadath profile")
    add_config_arguments(p, shortcuts=("--seed", "--db"))
    text = p.format_help()
    assert "--seed" in text and "--db" in text and "--config" in text and "--set" in text
    assert "--port" not in text and "--data" not in text
    config = config_from_args(p.parse_args(["--seed", "4", "--db", "sqlite:///p.db"]), env={})
    assert (config.engine.seed, config.persist.database_url) == (4, "sqlite:///p.db")
    with pytest.raises(ValueError, match="--colour"):
        add_config_arguments(argparse.ArgumentParser(), shortcuts=("--colour",))


# --- the operator's documentation ---------------------------------------------------------------

TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "string"}


def type_name(annotation: object) -> str:
    if typing.get_origin(annotation) is tuple:
        return "list of strings"
    assert isinstance(annotation, type)
    return TYPE_NAMES[annotation]


def documented_settings() -> dict[str, dict[str, str]]:
    """The rows of the settings table in docs/configuration.md, by setting, cells by header."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting |"))
    headers = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        row = dict(zip(headers, cells, strict=True))
        rows[row["Setting"].strip("`")] = row
    return rows


def test_every_setting_is_documented_with_its_type_default_and_environment_variable() -> None:
    rows = documented_settings()
    for section, name, annotation, default in all_settings():
        key = f"{section}.{name}"
        assert key in rows, f"{key} is missing from the table in {DOC.name}"
        row = rows[key]
        assert row["Type"] == type_name(annotation), key
        documented_default = tomllib.loads("v = " + row["Default"].strip("`"))["v"]
        expected = list(default) if isinstance(default, tuple) else default
        assert documented_default == expected, key
        assert type(documented_default) is type(expected), key
        assert row["Environment variable"] == f"`KADATH_{section.upper()}__{name.upper()}`", key
        assert row["Meaning"], key


def test_the_documentation_lists_no_setting_that_does_not_exist() -> None:
    known = {f"{section}.{name}" for section, name, _, _ in all_settings()}
    assert set(documented_settings()) == known


def test_the_documented_example_file_loads(tmp_path: Path) -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"```toml\n(# kadath\.toml\n.*?)```", text, re.DOTALL)
    assert match is not None
    config = load_config(write(tmp_path, match.group(1)), env={})
    assert config.engine.tick_rate_hz == 20.0
    assert config.world.plugins_disabled == ("weather",)


def test_the_documented_environment_examples_are_valid() -> None:
    text = DOC.read_text(encoding="utf-8")
    env = dict(re.findall(r"^export (KADATH_\w+)=(\S+)", text, re.MULTILINE))
    env.pop("KADATH_CONFIG")
    assert len(env) >= 3
    load_config(env=env)


# --- the plugins' rule settings -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class DuelSettings:
    """A plugin's rule settings, declared like the engine's own."""

    round_s: float = setting_field(3.0, "Seconds between two rounds of a duel.", unit="s", gt=0)
    to_first_blood: bool = setting_field(True, "A duel ends at the first wound.")


DUEL = {"duel": DuelSettings}


def test_a_plugins_rule_section_is_read_from_every_layer_and_checked(tmp_path: Path) -> None:
    path = write(tmp_path, "[duel]\nround_s = 2.5\n")
    config = load_config(path, env={}, rules=DUEL)
    assert config.rules == {"duel": DuelSettings(round_s=2.5)}
    assert config.rule_settings("duel", DuelSettings).round_s == 2.5
    env = {"KADATH_DUEL__TO_FIRST_BLOOD": "no"}
    assert load_config(env=env, rules=DUEL).rules["duel"] == DuelSettings(to_first_blood=False)
    assert load_config(env={}, overrides=["duel.round_s=4"], rules=DUEL).rules["duel"].round_s == 4
    assert load_config(env={}, rules=DUEL).rules == {"duel": DuelSettings()}  # at its defaults


def test_bad_rule_settings_are_refused_with_the_same_messages_as_the_engines(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "[duel]\nround_s = -1\nround = 2\n[dule]\nx = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={"KADATH_DUEL__ROUND_SS": "1"}, rules=DUEL)
    text = str(info.value)
    assert "duel.round_s = -1: out of range: expected a number in s, > 0" in text
    assert "duel.round = 2: unknown setting; did you mean round_s in [duel]?" in text
    assert "[dule]: unknown section; did you mean [duel]?" in text
    assert "did you mean KADATH_DUEL__ROUND_S?" in text
    with pytest.raises(ConfigError, match=r"\[duel\]: unknown section"):
        load_config(path, env={})  # no plugin declares it


def test_rule_settings_are_printed_and_read_back(tmp_path: Path) -> None:
    config = load_config(env={}, overrides=["duel.round_s=7"], rules=DUEL)
    text = config.to_toml()
    assert "[duel]" in text and "round_s = 7.0" in text
    assert "# Seconds between two rounds of a duel. [s]" in text
    assert load_config(write(tmp_path, text), env={}, rules=DUEL).rules == config.rules


def test_rule_settings_must_be_declared_like_the_engines() -> None:
    @dataclasses.dataclass(frozen=True)
    class Loose:
        round_s: float = 3.0

    with pytest.raises(TypeError, match=r"Loose.round_s is not declared with"):
        load_config(env={}, rules={"loose": Loose})


def test_the_engine_puts_each_plugins_rule_settings_in_the_world() -> None:
    plugin = Plugin("duel", setup=lambda kit: None, settings=DUEL)
    configured = Config(rules={"duel": DuelSettings(round_s=1.5)})
    assert Engine(configured, plugins=[plugin]).world.resource(DuelSettings).round_s == 1.5
    assert Engine(Config(), plugins=[plugin]).world.resource(DuelSettings) == DuelSettings()
    other = Plugin("brawl", setup=lambda kit: None, settings={"duel": dict})
    sections, problems = rule_sections([plugin, other])
    assert sections == DUEL
    assert problems == {"brawl": "rules section [duel] is already declared by plugin 'duel'"}


# --- the cluster bus ------------------------------------------------------------------------------


def test_the_cluster_section_is_read_like_any_other_and_hides_the_brokers_password() -> None:
    config = load_config(
        env={
            "KADATH_CLUSTER__NATS_URL": "nats://kadath:hunter2@10.0.0.5:4222",
            "KADATH_CLUSTER__WORLD": "dreamlands",
            "KADATH_CLUSTER__HANDOFF_ACK_WAIT_S": "10",
        }
    )
    assert config.cluster.world == "dreamlands"
    assert config.cluster.handoff_ack_wait_s == 10.0
    assert config.cluster.handoff_stream_name == "KADATH_HANDOFFS_dreamlands"
    shown = config.to_toml()
    assert 'nats_url = "nats://kadath:***@10.0.0.5:4222"' in shown
    assert "hunter2" not in shown + repr(config.cluster)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cluster.nats_url", "http://127.0.0.1:4222", "expected a NATS URL"),
        ("cluster.world", "dream.lands", "one NATS subject token"),
        ("cluster.handoff_stream", "HAND OFFS", "one NATS subject token"),
        ("cluster.handoff_max_deliveries", "0", ">= 1"),
    ],
)
def test_a_cluster_setting_that_the_bus_cannot_use_is_refused(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)) as caught:
        load_config(env={}, overrides=[f"{key}={value}"])
    assert message in str(caught.value)
