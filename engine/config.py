"""Server configuration: one typed, immutable ``Config`` built from defaults < TOML file <
environment variables < command-line flags, so an operator can set a value at whichever level suits.

Read once at start-up, then passed by value to whoever needs it. This module must never do I/O
other than reading the one configuration file it is pointed at (no writing, no logging, no network),
and it is never consulted on the tick path: systems get the values, not the loader.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import importlib.util
import math
import os
import re
import textwrap
import tomllib
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

__all__ = [
    "BUNDLED_WORLD_PACKAGE",
    "CONFIG_FILE_ENV",
    "DATABASE_SCHEMES",
    "ENV_PREFIX",
    "LOCAL_CONFIG_FILE",
    "CalendarConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "EngineConfig",
    "LogConfig",
    "NetConfig",
    "PersistConfig",
    "WorldConfig",
    "add_config_arguments",
    "bundled_world_dir",
    "config_from_args",
    "load_config",
    "sqlite_file",
]

ENV_PREFIX: Final = "KADATH_"
"""Any environment variable starting with this is configuration: a typo is an error, not ignored."""

CONFIG_FILE_ENV: Final = "KADATH_CONFIG"
"""Names the TOML file when no path is given, so a container can point at its file without flags."""

LOCAL_CONFIG_FILE: Final = "kadath.toml"
"""Read from the working directory by ``kadath`` commands when neither ``--config`` nor
``KADATH_CONFIG`` names a file, so that ``kadath serve`` in a game folder made by ``kadath init``
needs no flags."""

BUNDLED_WORLD_PACKAGE: Final = "kadath_world"
"""The package the bundled world is installed as (the repository's ``data/`` folder)."""

DATABASE_SCHEMES: Final = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
"""Database URL schemes Kadath can write to: SQLite through the standard library, PostgreSQL
through psycopg 3 (the ``postgres`` extra). Any other driver is refused at start-up."""

_SET_SOURCE: Final = "--set"


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One bad input, kept structured so that tools and tests need not parse the message."""

    source: str
    """Where the value came from: a file path, ``environment variable KADATH_…``, ``--set``…"""
    key: str
    """The setting as ``section.field`` (as written if unknown); empty for a whole-file problem."""
    value: str | None
    """The offending value as written, or None when there is no single value to show."""
    message: str
    """What was wrong and what would have been accepted."""

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        shown = f" = {self.value}" if self.value is not None else ""
        return f"{where}{shown}: {self.message}"


class ConfigError(ValueError):
    """Bad configuration. Carries every problem found, so the operator fixes all in one pass."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        if len(self.problems) == 1:
            text = f"invalid configuration: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            text = f"invalid configuration ({len(self.problems)} problems):\n{listed}"
        super().__init__(text)

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigProblem, ...]]]:
        """Rebuild from the problems, not the message, so the error survives a process boundary."""
        return (type(self), (self.problems,))


class _Invalid(Exception):
    """One value failed to convert or check; the message says what was expected."""


# --- how a setting is declared -------------------------------------------------------------------

_SPEC: Final = "kadath.setting"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class _Spec:
    """What an operator needs to know about a setting, and the bounds it must stay in."""

    doc: str
    unit: str = ""
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    secret: bool = False
    relative_to_file: Callable[[Any, Path], Any] | None = None
    """Makes a relative path written in a configuration file relative to that file's folder (not
    to the working directory), so ``kadath serve --config game/kadath.toml`` works from anywhere."""


def _setting(
    default: _T,
    doc: str,
    *,
    unit: str = "",
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] = (),
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
    relative_to_file: Callable[[Any, Path], Any] | None = None,
) -> _T:
    """A dataclass field whose docs and bounds live beside it, so docs, errors and checks agree."""
    spec = _Spec(doc, unit, gt, ge, le, choices, check, secret, relative_to_file)
    return field(default=default, metadata={_SPEC: spec})


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "expected a non-empty string"


def _plugin_names(value: tuple[str, ...]) -> str | None:
    bad = [name for name in value if not name.strip() or name != name.strip()]
    return f"expected plugin names without blanks, got {list(bad)!r}" if bad else None


def _data_dir(value: str) -> str | None:
    if value and not value.strip():
        return "expected a folder, or an empty string for the bundled world"
    return None


def _folder_relative_to_file(value: str, base: Path) -> str:
    return str(base / value) if value and not Path(value).is_absolute() else value


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@:]*:)[^/@]*@")
_SQLITE_FILE = re.compile(r"^(sqlite(?:\+pysqlite)?:///)([^?]*)(.*)$", re.IGNORECASE)


def _database_url(value: str) -> str | None:
    match = _URL_SCHEME.match(value)
    if match is None:
        return (
            "expected a database URL such as sqlite:///kadath.db"
            " or postgresql+psycopg://user:password@host/kadath"
        )
    scheme = match.group(1).lower()
    if scheme not in DATABASE_SCHEMES:
        return (
            f"unknown database URL scheme {scheme!r}: use sqlite:///FILE, or"
            " postgresql+psycopg://USER:PASSWORD@HOST/DB (psycopg 3; install kadath[postgres])"
        )
    return None


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, made absolute against the working directory; None for any
    other database and for an in-memory SQLite database."""
    match = _SQLITE_FILE.match(url)
    if match is None or match.group(2) in ("", ":memory:"):
        return None
    return Path(match.group(2)).absolute()


def _sqlite_relative_to_file(url: str, base: Path) -> str:
    match = _SQLITE_FILE.match(url)
    if match is None or match.group(2) in ("", ":memory:") or Path(match.group(2)).is_absolute():
        return url
    return f"{match.group(1)}{base / match.group(2)}{match.group(3)}"


def bundled_world_dir() -> Path:
    """The folder of the world that ships with Kadath (installed as package data)."""
    spec = importlib.util.find_spec(BUNDLED_WORLD_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            [
                ConfigProblem(
                    "installation",
                    "world.data_dir",
                    None,
                    f"the bundled world (package {BUNDLED_WORLD_PACKAGE}) is not installed:"
                    " reinstall kadath, or set world.data_dir to a world's folder",
                )
            ]
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _redact_url(url: str) -> str:
    """Hide a URL's password, so printing or logging the configuration cannot leak it."""
    return _URL_PASSWORD.sub(r"\1***@", url)


def _redacted_repr(self: object) -> str:
    parts = []
    for f in dataclasses.fields(self):  # type: ignore[arg-type]
        value = getattr(self, f.name)
        spec = f.metadata.get(_SPEC)
        if isinstance(spec, _Spec) and spec.secret and isinstance(value, str):
            value = _redact_url(value)
        parts.append(f"{f.name}={value!r}")
    return f"{type(self).__name__}({', '.join(parts)})"


# --- the sections ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the simulation loop runs: its pace, its randomness and its safety limits."""

    tick_rate_hz: float = _setting(
        10.0,
        "Simulation ticks per second. Rules are written in seconds, so this changes the"
        " resolution of the simulation, not the speed of the game.",
        unit="Hz",
        gt=0,
        le=1000,
    )
    seed: int = _setting(
        0,
        "Seed of the world's random number generator: the same seed, start state and command log"
        " replay the same run.",
        ge=0,
        le=2**63 - 1,
    )
    node_id: int = _setting(
        1,
        "This process's id, mixed into stable entity ids so that processes sharing one database"
        " never collide. Give every process its own.",
        ge=1,
        le=65535,
    )
    max_catch_up_ticks: int = _setting(
        5,
        "Most missed ticks the loop runs back to back after a stall; past that it drops the"
        " missed time rather than burst. 0 never catches up.",
        unit="ticks",
        ge=0,
        le=1000,
    )
    system_failure_limit: int = _setting(
        10,
        "A system that raises on this many runs in a row is disabled and reported.",
        unit="runs",
        ge=1,
    )
    stats_log_interval_s: float = _setting(
        60.0,
        "How often the loop logs its timing statistics (tick and system p50/p99/max, overruns).",
        unit="s",
        gt=0,
    )
    stats_window: int = _setting(
        1024,
        "How many recent samples the rolling p50/p99 timings are computed over.",
        unit="samples",
        ge=1,
        le=1_000_000,
    )

    def __post_init__(self) -> None:
        _validate_section(self)

    @property
    def tick_interval_s(self) -> float:
        """Seconds between ticks; derived, so it can never disagree with the rate."""
        return 1.0 / self.tick_rate_hz


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    """How game time relates to real time, and where day and night fall."""

    time_compression: float = _setting(
        4.0,
        "Game hours that pass in one real hour (4.0: a game day lasts six real hours).",
        unit="game hours per real hour",
        gt=0,
    )
    start_game_minute: int = _setting(
        8 * 60,
        "Game time at which a new world's calendar starts, counted from 00:00 of day 1"
        " (480 is 08:00 of day 1).",
        unit="game minutes",
        ge=0,
    )
    dawn_hour: int = _setting(
        6,
        "Hour of the game day at which day begins; must be before dusk_hour.",
        unit="game hour (0-23)",
        ge=0,
        le=23,
    )
    dusk_hour: int = _setting(
        20,
        "Hour of the game day at which night begins; must be after dawn_hour.",
        unit="game hour (0-23)",
        ge=0,
        le=23,
    )

    def __post_init__(self) -> None:
        _validate_section(self)


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Where the world's content comes from and which plugins shape it."""

    data_dir: str = _setting(
        "",
        "Folder of world content (zones, rooms, item and NPC templates). Empty: the bundled"
        " world that ships with Kadath. A relative path is relative to the configuration file"
        " that sets it, else to the working directory.",
        check=_data_dir,
        relative_to_file=_folder_relative_to_file,
    )
    plugins_disabled: tuple[str, ...] = _setting(
        (),
        "Names of plugins (entry points in the kadath.plugins group) not to load, built-in ones"
        " included.",
        check=_plugin_names,
    )

    def __post_init__(self) -> None:
        _validate_section(self)

    @property
    def bundled(self) -> bool:
        """Whether the world is the one that ships with Kadath."""
        return not self.data_dir

    @property
    def data_path(self) -> Path:
        """The world's folder, absolute: ``data_dir``, or the bundled world's folder."""
        return bundled_world_dir() if self.bundled else Path(self.data_dir).absolute()


@dataclass(frozen=True, slots=True)
class PersistConfig:
    """Where the world is saved and how often."""

    database_url: str = _setting(
        "sqlite:///kadath.db",
        "SQLAlchemy database URL: sqlite:///FILE for the embedded database (a relative FILE is"
        " relative to the configuration file that sets it, else to the working directory), or"
        " postgresql+psycopg://USER:PASSWORD@HOST/DB to scale. Its password is hidden when"
        " printed.",
        check=_database_url,
        secret=True,
        relative_to_file=_sqlite_relative_to_file,
    )
    flush_interval_s: float = _setting(
        1.0,
        "How often the writer thread commits changed state; a hard kill loses at most this much.",
        unit="s",
        gt=0,
        le=3600,
    )

    def __post_init__(self) -> None:
        _validate_section(self)

    __repr__ = _redacted_repr

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, absolute; None for PostgreSQL or an in-memory database."""
        return sqlite_file(self.database_url)

    def describe(self) -> str:
        """Where the world is saved, for logs: the SQLite file or the URL without its password."""
        path = self.sqlite_path
        return f"SQLite file {path}" if path is not None else _redact_url(self.database_url)


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Where the server listens for players (websocket, web client, /healthz and /metrics)."""

    host: str = _setting(
        "127.0.0.1",
        "Address to listen on; 0.0.0.0 accepts connections from other machines.",
        check=_non_empty,
    )
    port: int = _setting(
        4000,
        "TCP port to listen on; 0 picks a free one (tests; the log says which).",
        ge=0,
        le=65535,
    )
    linkdead_grace_s: float = _setting(
        60.0,
        "How long a dropped player's character stays in the world, link-dead, waiting for a "
        "resume; after it the character is saved and leaves.",
        unit="s",
        ge=0,
    )
    idle_timeout_s: float = _setting(
        1800.0, "A connection that sends nothing for this long is closed.", unit="s", gt=0
    )
    ping_interval_s: float = _setting(
        20.0,
        "Heartbeat: the server pings each client this often and drops it if no pong comes "
        "back within the same time.",
        unit="s",
        gt=0,
    )
    max_frame_bytes: int = _setting(
        4096,
        "Largest frame a client may send; bigger ones close the connection (1009). It may be "
        "lowered but not raised past the protocol's own 4 KiB bound.",
        unit="bytes",
        ge=256,
        le=4096,
    )
    commands_per_s: float = _setting(
        10.0,
        "Sustained command rate per connection; the excess is refused (rate_limited).",
        unit="Hz",
        gt=0,
    )
    command_burst: int = _setting(
        20, "Commands a connection may send at once before the rate limit applies.", ge=1
    )
    outbound_max_messages: int = _setting(
        1000,
        "Messages queued to one client before it counts as not reading and is cut off (1008).",
        ge=1,
    )
    outbound_max_bytes: int = _setting(
        1_048_576,
        "Bytes queued to one client before it is cut off (1008).",
        unit="bytes",
        ge=1024,
    )
    login_failures_per_name: int = _setting(
        5,
        "Failed logins for one account name within login_failure_window_s after which logins"
        " to that name are refused (throttled), from any address. Guards one account against"
        " password guessing.",
        ge=1,
    )
    login_failures_per_address: int = _setting(
        5,
        "Failed logins from one address within login_failure_window_s after which logins from"
        " it are refused, whatever the name. Raise it for many players behind one NAT (a"
        " classroom) or a load test from one machine; lower it under attack.",
        ge=1,
    )
    login_failure_window_s: float = _setting(
        60.0,
        "How long a failed login counts against its name and its address.",
        unit="s",
        gt=0,
        le=86400,
    )
    logins_in_flight_per_address: int = _setting(
        5,
        "Logins from one address being checked at once (each costs a 16 MiB password hash); more"
        " are refused as throttled. Logins in flight also count as failures until they succeed,"
        " so parallel guesses cannot slip past the failure limits.",
        ge=1,
    )
    compression: bool = _setting(
        False,
        "permessage-deflate. Off by default: measured here it doubles the CPU per delivered "
        "message and triples the memory per connection.",
    )

    def __post_init__(self) -> None:
        _validate_section(self)


@dataclass(frozen=True, slots=True)
class LogConfig:
    """How much the server logs, and in what form."""

    level: str = _setting(
        "INFO",
        "Lowest severity that is logged.",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    json: bool = _setting(
        False,
        "Write each log record as one JSON object per line (for log collectors) instead of text.",
    )

    def __post_init__(self) -> None:
        _validate_section(self)


@dataclass(frozen=True, slots=True)
class Config:
    """The whole effective configuration. Immutable, so no part of the server can change it under
    another; build a variant with ``dataclasses.replace``."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    world: WorldConfig = field(default_factory=WorldConfig)
    persist: PersistConfig = field(default_factory=PersistConfig)
    net: NetConfig = field(default_factory=NetConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def to_toml(
        self,
        *,
        redact_secrets: bool = True,
        comment_defaults: bool = False,
        always_set: Collection[str] = (),
    ) -> str:
        """The effective configuration as a commented TOML file that ``load_config`` reads back.

        Meant for ``kadath config`` and for start-up logs, which is why secrets are hidden unless
        asked otherwise. ``comment_defaults`` writes a setting left at its default as a comment
        (``kadath init``'s file: every setting is shown, and a later release's better default is
        not pinned by a file that merely repeated the old one), except the ``section.setting``
        keys in ``always_set``.
        """
        lines = [
            "# Kadath configuration: every setting with its effective value.",
            "# Layers: defaults < this file < KADATH_* environment variables < command-line flags.",
        ]
        for section_name, settings in _SETTINGS.items():
            section = getattr(self, section_name)
            lines += ["", f"[{section_name}]"]
            for setting in settings.values():
                value = getattr(section, setting.name)
                if redact_secrets and setting.spec.secret and isinstance(value, str):
                    value = _redact_url(value)
                unit = f" [{setting.spec.unit}]" if setting.spec.unit else ""
                lines += textwrap.wrap(
                    setting.spec.doc + unit, width=98, initial_indent="# ", subsequent_indent="# "
                )
                commented = (
                    comment_defaults and value == setting.default and setting.key not in always_set
                )
                lines.append(f"{'# ' if commented else ''}{setting.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


# --- settings as data -----------------------------------------------------------------------------

_Kind = Literal["int", "float", "bool", "str", "str_tuple"]


@dataclass(frozen=True, slots=True)
class _Setting:
    section: str
    name: str
    kind: _Kind
    default: object
    spec: _Spec

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}__{self.name.upper()}"


def _kind_of(annotation: object) -> _Kind:
    if annotation is bool:  # before int: bool is a subclass of int
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is str:
        return "str"
    if typing.get_origin(annotation) is tuple and typing.get_args(annotation) == (str, ...):
        return "str_tuple"
    raise TypeError(f"configuration settings cannot be of type {annotation!r}")


def _collect_settings() -> dict[str, dict[str, _Setting]]:
    sections: dict[str, dict[str, _Setting]] = {}
    section_types = typing.get_type_hints(Config)
    for section_field in dataclasses.fields(Config):
        section_type = section_types[section_field.name]
        hints = typing.get_type_hints(section_type)
        settings: dict[str, _Setting] = {}
        for f in dataclasses.fields(section_type):
            spec = f.metadata[_SPEC]
            assert isinstance(spec, _Spec)
            kind = _kind_of(hints[f.name])
            settings[f.name] = _Setting(section_field.name, f.name, kind, f.default, spec)
        sections[section_field.name] = settings
    return sections


_SETTINGS: Final = _collect_settings()
_SECTION_NAMES: Final = {
    typing.get_type_hints(Config)[f.name]: f.name for f in dataclasses.fields(Config)
}
_BY_KEY: Final = {s.key: s for settings in _SETTINGS.values() for s in settings.values()}

_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


def _calendar_rules(values: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    if values["dawn_hour"] >= values["dusk_hour"]:
        yield (
            ("dawn_hour", "dusk_hour"),
            f"dawn_hour ({values['dawn_hour']}) must be before dusk_hour ({values['dusk_hour']})",
        )


_SECTION_RULES: Final[
    Mapping[str, Callable[[Mapping[str, Any]], Iterator[tuple[tuple[str, ...], str]]]]
] = {"calendar": _calendar_rules}


# --- converting and checking one value ----------------------------------------------------------


def _expectation(setting: _Setting, *, text: bool) -> str:
    """What an acceptable value looks like, in words an operator can act on."""
    spec = setting.spec
    kind = {
        "int": "an integer",
        "float": "a number",
        "bool": "true/false, yes/no, on/off or 1/0" if text else "true or false",
        "str": "a string",
        "str_tuple": "a comma-separated list" if text else "an array of strings",
    }[setting.kind]
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    with_unit = bool(spec.unit) and setting.kind in ("int", "float")
    head = kind + (f" in {spec.unit}" if with_unit else "")
    if spec.ge is not None and spec.le is not None:
        bounds = f"between {_number(spec.ge)} and {_number(spec.le)}"
    else:
        limits = []
        if spec.gt is not None:
            limits.append(f"> {_number(spec.gt)}")
        if spec.ge is not None:
            limits.append(f">= {_number(spec.ge)}")
        if spec.le is not None:
            limits.append(f"<= {_number(spec.le)}")
        bounds = " and ".join(limits)
    if not bounds:
        return head
    return f"{head}, {bounds}" if with_unit else f"{head} {bounds}"


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _from_text(setting: _Setting, text: str) -> object:
    """Environment and command-line values are strings; read them as the setting's type."""
    stripped = text.strip()
    wrong = _Invalid(f"expected {_expectation(setting, text=True)}")
    match setting.kind:
        case "int":
            try:
                return int(stripped)
            except ValueError:
                raise wrong from None
        case "float":
            try:
                number = float(stripped)
            except ValueError:
                raise wrong from None
            if not math.isfinite(number):
                raise wrong
            return number
        case "bool":
            if stripped.lower() in _TRUE:
                return True
            if stripped.lower() in _FALSE:
                return False
            raise wrong
        case "str":
            return text
        case "str_tuple":
            return tuple(part.strip() for part in text.split(",") if part.strip())
    raise AssertionError(setting.kind)  # pragma: no cover


def _from_typed(setting: _Setting, value: object) -> object:
    """TOML (and Python) values are already typed: accept only the setting's own type, except an
    integer where a number is expected. A boolean is never an integer, whatever Python thinks."""
    ok: object = None
    match setting.kind:
        case "int":
            if isinstance(value, int) and not isinstance(value, bool):
                ok = value
        case "float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                try:
                    number = float(value)
                except OverflowError:
                    number = math.inf
                ok = number if math.isfinite(number) else None
        case "bool":
            if isinstance(value, bool):
                ok = value
        case "str":
            if isinstance(value, str):
                ok = value
        case "str_tuple":
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                ok = tuple(value)
    if ok is None:
        expected = _expectation(setting, text=False)
        raise _Invalid(f"expected {expected}, got {_type_name(value)}")
    return ok


def _checked(setting: _Setting, value: Any) -> object:
    """Apply the setting's bounds; returns the canonical value (e.g. ``info`` becomes ``INFO``)."""
    spec = setting.spec
    out_of_range = _Invalid(f"out of range: expected {_expectation(setting, text=False)}")
    if spec.gt is not None and not value > spec.gt:
        raise out_of_range
    if spec.ge is not None and not value >= spec.ge:
        raise out_of_range
    if spec.le is not None and not value <= spec.le:
        raise out_of_range
    if spec.choices:
        by_upper = {choice.upper(): choice for choice in spec.choices}
        if value.upper() not in by_upper:
            raise _Invalid(f"expected one of {', '.join(spec.choices)}")
        value = by_upper[value.upper()]
    if spec.check is not None:
        message = spec.check(value)
        if message is not None:
            raise _Invalid(message)
    return value


def _validate_section(section: object) -> None:
    """Keep sections built directly in code (tests, embedders) as valid as loaded ones, and
    canonical: an int given for a float field is stored as a float, a level in upper case."""
    section_name = _SECTION_NAMES[type(section)]
    source = f"{type(section).__name__}()"
    problems: list[ConfigProblem] = []
    values: dict[str, object] = {}
    for setting in _SETTINGS[section_name].values():
        value = getattr(section, setting.name)
        try:
            canonical = _checked(setting, _from_typed(setting, value))
        except _Invalid as bad:
            problems.append(ConfigProblem(source, setting.key, _show(value), str(bad)))
            continue
        values[setting.name] = canonical
        if canonical != value or type(canonical) is not type(value):
            object.__setattr__(section, setting.name, canonical)
    rules = _SECTION_RULES.get(section_name)
    if rules is not None and not problems:
        for names, message in rules(values):
            key = ", ".join(f"{section_name}.{name}" for name in names)
            problems.append(ConfigProblem(source, key, None, message))
    if problems:
        raise ConfigError(problems)


# --- TOML output ----------------------------------------------------------------------------------

_TOML_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def _show(value: object) -> str:
    """A bad value as the operator would recognise it."""
    try:
        return _toml_value(value)
    except TypeError:
        return repr(value)


# --- loading --------------------------------------------------------------------------------------


def _closest(section: str, name: str) -> _Setting | None:
    """The setting the operator most likely meant: same section first, then one put in the wrong
    section (``[net] tick_rate_hz``), then any near spelling."""
    if section in _SETTINGS:
        match = difflib.get_close_matches(name, list(_SETTINGS[section]), n=1)
        if match:
            return _SETTINGS[section][match[0]]
    match = difflib.get_close_matches(f"{section}.{name}", list(_BY_KEY), n=1)
    if match:
        return _BY_KEY[match[0]]
    names = {setting.name: setting for setting in reversed(_BY_KEY.values())}
    match = difflib.get_close_matches(name, list(names), n=1)
    return names[match[0]] if match else None


class _Layers:
    """Values gathered so far, each with the source that set it, and every problem met."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[object, str]] = {}
        self.problems: list[ConfigProblem] = []

    def problem(self, source: str, key: str, value: str | None, message: str) -> None:
        self.problems.append(ConfigProblem(source, key, value, message))

    def set(
        self,
        setting: _Setting,
        value: object,
        source: str,
        *,
        text: bool,
        file_folder: Path | None = None,
    ) -> None:
        shown = _toml_string(value) if text and isinstance(value, str) else _show(value)
        try:
            typed = _from_text(setting, value) if text and isinstance(value, str) else value
            typed = _checked(setting, _from_typed(setting, typed))
        except _Invalid as bad:
            self.problem(source, setting.key, shown, str(bad))
            return
        if file_folder is not None and setting.spec.relative_to_file is not None:
            typed = setting.spec.relative_to_file(typed, file_folder)
        self.values[setting.key] = (typed, source)

    def read_file(self, path: str | os.PathLike[str], named_by: str | None) -> None:
        source = os.fspath(path)
        where = f"{source} (named by {named_by})" if named_by else source
        try:
            with open(path, "rb") as file:
                raw = file.read()
        except OSError as error:
            self.problem(where, "", None, f"cannot read the file: {error.strerror or error}")
            return
        try:
            document = tomllib.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            self.problem(where, "", None, f"not UTF-8 text: {error}")
            return
        except tomllib.TOMLDecodeError as error:
            self.problem(where, "", None, f"not valid TOML: {error}")
            return
        folder = Path(path).absolute().parent
        for section_name, table in document.items():
            self._read_table(source, section_name, table, folder)

    def _read_table(self, source: str, section_name: str, table: object, folder: Path) -> None:
        if section_name not in _SETTINGS:
            if isinstance(table, dict):
                match = difflib.get_close_matches(section_name, list(_SETTINGS), n=1)
                hint = f"; did you mean [{match[0]}]?" if match else ""
                known = ", ".join(f"[{name}]" for name in _SETTINGS)
                self.problem(
                    source, f"[{section_name}]", None, f"unknown section{hint} (known: {known})"
                )
            else:
                near = _closest("", section_name)
                hint = f"; did you mean {near.name} in [{near.section}]?" if near else ""
                self.problem(
                    source,
                    section_name,
                    _show(table),
                    f"settings belong in a [section] table{hint}",
                )
            return
        if not isinstance(table, dict):
            self.problem(
                source,
                section_name,
                _show(table),
                f"expected a table ([{section_name}]), got {_type_name(table)}",
            )
            return
        for name, value in table.items():
            setting = _SETTINGS[section_name].get(name)
            if setting is None:
                near = _closest(section_name, name)
                hint = f"; did you mean {near.name} in [{near.section}]?" if near else ""
                self.problem(
                    source, f"{section_name}.{name}", _show(value), f"unknown setting{hint}"
                )
            else:
                self.set(setting, value, source, text=False, file_folder=folder)

    def read_env(self, env: Mapping[str, str]) -> None:
        for var in sorted(env):
            upper = var.upper()
            if not upper.startswith(ENV_PREFIX) or upper == CONFIG_FILE_ENV:
                continue
            value = env[var]
            source = f"environment variable {var}"
            section_name, sep, name = upper[len(ENV_PREFIX) :].partition("__")
            setting = _SETTINGS.get(section_name.lower(), {}).get(name.lower()) if sep else None
            if setting is not None:
                self.set(setting, value, source, text=True)
                continue
            if sep:
                key = f"{section_name.lower()}.{name.lower()}"
                near = _closest(section_name.lower(), name.lower())
            else:
                key = var
                flat = {f"{s.section}_{s.name}": s for s in _BY_KEY.values()}
                match = difflib.get_close_matches(section_name.lower(), list(flat), n=1)
                near = flat[match[0]] if match else None
            hint = f"; did you mean {near.env_var}?" if near else ""
            self.problem(
                source,
                key,
                _toml_string(value),
                f"unknown setting{hint} (every {ENV_PREFIX}* variable must name a setting,"
                f" as {ENV_PREFIX}<SECTION>__<SETTING>)",
            )

    def read_override(self, key: str, value: str, source: str) -> None:
        normal = key.strip().lower().replace("-", "_")
        section_name, _, name = normal.partition(".")
        setting = _SETTINGS.get(section_name, {}).get(name)
        if setting is not None:
            self.set(setting, value, source, text=True)
            return
        if not section_name or not name:
            self.problem(
                source,
                key,
                _toml_string(value),
                "expected SECTION.SETTING, e.g. engine.tick_rate_hz",
            )
            return
        near = _closest(section_name, name)
        hint = f"; did you mean {near.key}?" if near else ""
        self.problem(source, normal, _toml_string(value), f"unknown setting{hint}")

    def check_sections(self) -> None:
        for section_name, rules in _SECTION_RULES.items():
            values: dict[str, object] = {}
            sources: dict[str, str] = {}
            for setting in _SETTINGS[section_name].values():
                value, source = self.values.get(setting.key, (setting.default, "defaults"))
                values[setting.name] = value
                sources[setting.name] = source
            for names, message in rules(values):
                named = [sources[name] for name in names if sources[name] != "defaults"]
                source = " and ".join(dict.fromkeys(named)) or "defaults"
                key = ", ".join(f"{section_name}.{name}" for name in names)
                self.problem(source, key, None, message)

    def build(self) -> Config:
        self.check_sections()
        if self.problems:
            raise ConfigError(self.problems)
        sections: dict[str, Any] = {}
        for section_field in dataclasses.fields(Config):
            section_type = typing.get_type_hints(Config)[section_field.name]
            given = {
                setting.name: self.values[setting.key][0]
                for setting in _SETTINGS[section_field.name].values()
                if setting.key in self.values
            }
            sections[section_field.name] = section_type(**given)
        return Config(**sections)


_Override = tuple[str, str, str]  # key, value, source


def _parse_overrides(overrides: Mapping[str, str] | Sequence[str]) -> Iterator[_Override | str]:
    """``--set`` assignments as (key, value, source); a malformed one is yielded as its text."""
    if isinstance(overrides, str):
        raise TypeError("overrides must be a sequence of 'section.field=value' strings, not a str")
    if isinstance(overrides, Mapping):
        for key, value in overrides.items():
            yield (key, value, _SET_SOURCE)
        return
    for text in overrides:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            yield text
        else:
            yield (key, value, _SET_SOURCE)


def _load(
    path: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
    overrides: Iterable[_Override | str],
    *,
    local_file: bool = False,
) -> Config:
    env = os.environ if env is None else env
    layers = _Layers()
    if path is not None:
        layers.read_file(path, None)
    elif env.get(CONFIG_FILE_ENV):
        layers.read_file(env[CONFIG_FILE_ENV], CONFIG_FILE_ENV)
    elif local_file and os.path.isfile(LOCAL_CONFIG_FILE):
        layers.read_file(LOCAL_CONFIG_FILE, None)
    layers.read_env(env)
    for override in overrides:
        if isinstance(override, str):
            layers.problem(
                _SET_SOURCE,
                override,
                None,
                "expected SECTION.SETTING=VALUE, e.g. --set engine.tick_rate_hz=20",
            )
        else:
            layers.read_override(*override)
    return layers.build()


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | Sequence[str] = (),
) -> Config:
    """Build the effective configuration: defaults, then the TOML file (``path``, else the file
    named by ``KADATH_CONFIG``), then ``KADATH_<SECTION>__<SETTING>`` variables from ``env``
    (default ``os.environ``), then ``overrides`` (``section.field=value``, as given to ``--set``).

    Raises ConfigError listing every problem in every layer, so one failed start is enough to see
    all that needs fixing.
    """
    return _load(path, env, _parse_overrides(overrides))


# --- command line ---------------------------------------------------------------------------------

_SHORTCUTS: Final = (
    ("--tick-rate", "HZ", "engine.tick_rate_hz"),
    ("--seed", "N", "engine.seed"),
    ("--data", "DIR", "world.data_dir"),
    ("--db", "URL", "persist.database_url"),
    ("--host", "ADDR", "net.host"),
    ("--port", "N", "net.port"),
)


def _dest(flag: str) -> str:
    return "config_" + flag.lstrip("-").replace("-", "_")


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    """Give a command the standard configuration flags, so every ``kadath`` command that needs a
    configuration reads it the same way. Values stay strings: ``config_from_args`` checks them,
    with the same messages as every other layer."""
    group = parser.add_argument_group(
        "configuration",
        "Layers: defaults < ./kadath.toml or the --config file < KADATH_<SECTION>__<SETTING>"
        " environment variables < --set and the flags below.",
    )
    group.add_argument(
        "--config",
        metavar="PATH",
        dest="config_file",
        default=None,
        help=f"TOML configuration file (default: the file named by ${CONFIG_FILE_ENV}, else"
        f" ./{LOCAL_CONFIG_FILE} if there is one)",
    )
    group.add_argument(
        "--set",
        metavar="SECTION.SETTING=VALUE",
        dest="config_set",
        action="append",
        default=None,
        help="set any setting, e.g. --set engine.tick_rate_hz=20 (repeatable)",
    )
    for flag, metavar, key in _SHORTCUTS:
        doc = re.split(r"[.:;] ", _BY_KEY[key].spec.doc)[0].rstrip(".").replace("%", "%%")
        group.add_argument(
            flag,
            metavar=metavar,
            dest=_dest(flag),
            default=None,
            help=f"{doc} (same as --set {key}=...)",
        )


def config_from_args(ns: argparse.Namespace, env: Mapping[str, str] | None = None) -> Config:
    """The configuration a command was started with: its ``--config`` file (else the file named by
    ``KADATH_CONFIG``, else ``./kadath.toml`` if there is one), the environment, then ``--set``
    flags, then the shortcut flags (the most specific, so they win over ``--set``)."""
    overrides: list[_Override | str] = list(_parse_overrides(getattr(ns, "config_set", None) or []))
    for flag, _, key in _SHORTCUTS:
        value = getattr(ns, _dest(flag), None)
        if value is not None:
            overrides.append((key, str(value), flag))
    return _load(getattr(ns, "config_file", None), env, overrides, local_file=True)
