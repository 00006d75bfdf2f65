"""The settings an operator reads: every section of ``kadath.toml`` with each setting's default,
unit, bounds and meaning, and the one immutable ``Config`` they make.

Read once at start-up, then passed by value to whoever needs it; never consulted on the tick path.
Building a section checks it, so a ``Config`` made in code is as valid as a loaded one.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import textwrap
import typing
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from engine.config.values import (
    SPEC_KEY,
    ConfigError,
    ConfigProblem,
    Invalid,
    Setting,
    Spec,
    checked,
    from_typed,
    kind_of,
    redact_secret,
    redact_url,
    setting_field,
    shown_value,
    toml_value,
)
from engine.text import plain_text

_S = TypeVar("_S")

BUNDLED_WORLD_PACKAGE: Final = "kadath_world"

DATABASE_SCHEMES: Final = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")


def _non_empty(value: str) -> str | None:
    return None if value.strip() else "expected a non-empty string"


def _names(what: str) -> Callable[[tuple[str, ...]], str | None]:
    def check(value: tuple[str, ...]) -> str | None:
        bad = [name for name in value if not name.strip() or name != name.strip()]
        return f"expected {what} without blanks, got {list(bad)!r}" if bad else None

    return check


STATS_TOKEN_MIN_CHARS: Final = 16
"""Shortest ``net.stats_token`` accepted: a shorter one could be guessed over the network."""
_TOKEN = re.compile(r"[!-~]+")


def _stats_token(value: str) -> str | None:
    # The message never repeats the token: configuration errors are printed and logged.
    if not value:
        return None
    if not _TOKEN.fullmatch(value):
        return "expected visible ASCII characters only (no spaces), as a URL or a header carries"
    if len(value) < STATS_TOKEN_MIN_CHARS:
        return (
            f"expected at least {STATS_TOKEN_MIN_CHARS} characters, so that it cannot be guessed;"
            ' make one with: python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
        )
    return None


_plugin_names = _names("plugin names")
_event_kinds = _names("event kinds")


def _data_dir(value: str) -> str | None:
    if value and not value.strip():
        return "expected a folder, or an empty string for the bundled world"
    return None


def _folder_relative_to_file(value: str, base: Path) -> str:
    return str(base / value) if value and not Path(value).is_absolute() else value


_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
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


def _redacted_repr(self: object) -> str:
    parts = []
    for f in dataclasses.fields(self):  # type: ignore[arg-type]
        value = getattr(self, f.name)
        spec = f.metadata.get(SPEC_KEY)
        if isinstance(spec, Spec) and spec.secret and isinstance(value, str):
            value = redact_secret(value)
        parts.append(f"{f.name}={value!r}")
    return f"{type(self).__name__}({', '.join(parts)})"


# --- the sections ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """How the simulation loop runs: its pace, its randomness and its safety limits."""

    tick_rate_hz: float = setting_field(
        10.0,
        "Simulation ticks per second. Rules are written in seconds, so this changes the"
        " resolution of the simulation, not the speed of the game.",
        unit="Hz",
        gt=0,
        le=1000,
    )
    seed: int = setting_field(
        0,
        "Seed of the world's random number generator: the same seed, start state and command log"
        " replay the same run.",
        ge=0,
        le=2**63 - 1,
    )
    node_id: int = setting_field(
        1,
        "This process's id, mixed into stable entity ids so that processes sharing one database"
        " never collide. Give every process its own.",
        ge=1,
        le=65535,
    )
    max_catch_up_ticks: int = setting_field(
        5,
        "Most missed ticks the loop runs back to back after a stall; past that it drops the"
        " missed time rather than burst. 0 never catches up.",
        unit="ticks",
        ge=0,
        le=1000,
    )
    system_failure_limit: int = setting_field(
        10,
        "A system that raises on this many runs in a row is disabled and reported.",
        unit="runs",
        ge=1,
    )
    stats_log_interval_s: float = setting_field(
        60.0,
        "How often the loop logs its timing statistics (tick and system p50/p99/max, overruns).",
        unit="s",
        gt=0,
    )
    stats_window: int = setting_field(
        1024,
        "How many recent samples the rolling p50/p99 timings are computed over.",
        unit="samples",
        ge=1,
        le=1_000_000,
    )
    stats_history_s: float = setting_field(
        600.0,
        "How far back the /stats page's charts go (tick duration and lateness, players online,"
        " the writer's lag).",
        unit="s",
        gt=0,
        le=86400,
    )
    stats_history_step_s: float = setting_field(
        5.0,
        "Time one point of those charts sums up: the median and the maximum of its ticks (or"
        " samples).",
        unit="s",
        gt=0,
        le=3600,
    )

    def __post_init__(self) -> None:
        validate_section(self)

    @property
    def tick_interval_s(self) -> float:
        """Seconds between ticks; derived, so it can never disagree with the rate."""
        return 1.0 / self.tick_rate_hz


@dataclass(frozen=True, slots=True)
class CalendarConfig:
    """How game time relates to real time, and where day and night fall."""

    time_compression: float = setting_field(
        4.0,
        "Game hours that pass in one real hour (4.0: a game day lasts six real hours).",
        unit="game hours per real hour",
        gt=0,
    )
    start_game_minute: int = setting_field(
        8 * 60,
        "Game time at which a new world's calendar starts, counted from 00:00 of day 1"
        " (480 is 08:00 of day 1).",
        unit="game minutes",
        ge=0,
    )
    dawn_hour: int = setting_field(
        6,
        "Hour of the game day at which day begins; must be before dusk_hour.",
        unit="game hour (0-23)",
        ge=0,
        le=23,
    )
    dusk_hour: int = setting_field(
        20,
        "Hour of the game day at which night begins; must be after dawn_hour.",
        unit="game hour (0-23)",
        ge=0,
        le=23,
    )

    def __post_init__(self) -> None:
        validate_section(self)


@dataclass(frozen=True, slots=True)
class WorldConfig:
    """Where the world's content comes from and which plugins shape it."""

    data_dir: str = setting_field(
        "",
        "Folder of world content (zones, rooms, item and NPC templates). Empty: the bundled"
        " world that ships with Kadath. A relative path is relative to the configuration file"
        " that sets it, else to the working directory.",
        check=_data_dir,
        relative_to_file=_folder_relative_to_file,
    )
    plugins_disabled: tuple[str, ...] = setting_field(
        (),
        "Names of plugins (entry points in the kadath.plugins group) not to load, built-in ones"
        " included.",
        check=_plugin_names,
    )

    def __post_init__(self) -> None:
        validate_section(self)

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

    database_url: str = setting_field(
        "sqlite:///kadath.db",
        "SQLAlchemy database URL: sqlite:///FILE for the embedded database (a relative FILE is"
        " relative to the configuration file that sets it, else to the working directory), or"
        " postgresql+psycopg://USER:PASSWORD@HOST/DB to scale. Its password is hidden when"
        " printed.",
        check=_database_url,
        secret=True,
        relative_to_file=_sqlite_relative_to_file,
    )
    flush_interval_s: float = setting_field(
        1.0,
        "How often the writer thread commits changed state; a hard kill loses at most this much.",
        unit="s",
        gt=0,
        le=3600,
    )

    journal: bool = setting_field(
        True,
        "Record every input the tick consumes (commands, logins, link-death, admin actions) in an"
        " append-only journal, written by a thread of its own, so that a run can be replayed"
        " exactly (kadath replay).",
    )
    journal_dir: str = setting_field(
        "",
        "Folder of the journal, one subfolder per server start. Empty: beside the SQLite"
        " database (kadath.db: kadath-journal/), or ./kadath-journal for PostgreSQL. A relative"
        " path is relative to the configuration file that sets it, else to the working"
        " directory.",
        relative_to_file=_folder_relative_to_file,
    )
    journal_segment_bytes: int = setting_field(
        64 * 1024 * 1024,
        "Size past which the journal closes its file and goes on in the next one.",
        unit="bytes",
        ge=4096,
    )
    roll_forward: bool = setting_field(
        True,
        "At start-up, play again the inputs the last run journaled after the database's saved"
        " tick (a crash, or a final flush the database refused), so that no journaled command is"
        " lost; see operations.md. Off: the world starts from its last flush.",
    )

    def __post_init__(self) -> None:
        validate_section(self)

    __repr__ = _redacted_repr

    @property
    def journal_path(self) -> Path:
        """The journal's folder, absolute (see ``journal_dir``)."""
        if self.journal_dir:
            return Path(self.journal_dir).absolute()
        database = self.sqlite_path
        if database is not None:
            return database.with_name(f"{database.stem}-journal")
        return Path("kadath-journal").absolute()

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, absolute; None for PostgreSQL or an in-memory database."""
        return sqlite_file(self.database_url)

    def describe(self) -> str:
        """Where the world is saved, for logs: the SQLite file or the URL without its password."""
        path = self.sqlite_path
        return f"SQLite file {path}" if path is not None else redact_url(self.database_url)


@dataclass(frozen=True, slots=True)
class NetConfig:
    """Where the server listens for players (websocket, web client, /healthz and /metrics)."""

    host: str = setting_field(
        "127.0.0.1",
        "Address to listen on; 0.0.0.0 accepts connections from other machines.",
        check=_non_empty,
    )
    port: int = setting_field(
        4000,
        "TCP port to listen on; 0 picks a free one (tests; the log says which).",
        ge=0,
        le=65535,
    )
    linkdead_grace_s: float = setting_field(
        60.0,
        "How long a dropped player's character stays in the world, link-dead, waiting for a "
        "resume; after it the character is saved and leaves.",
        unit="s",
        ge=0,
    )
    idle_timeout_s: float = setting_field(
        1800.0, "A connection that sends nothing for this long is closed.", unit="s", gt=0
    )
    ping_interval_s: float = setting_field(
        20.0,
        "Heartbeat: the server pings each client this often and drops it if no pong comes "
        "back within the same time.",
        unit="s",
        gt=0,
    )
    max_frame_bytes: int = setting_field(
        4096,
        "Largest frame a client may send; bigger ones close the connection (1009). It may be "
        "lowered but not raised past the protocol's own 4 KiB bound.",
        unit="bytes",
        ge=256,
        le=4096,
    )
    commands_per_s: float = setting_field(
        10.0,
        "Sustained command rate per connection; the excess is refused (rate_limited).",
        unit="Hz",
        gt=0,
    )
    command_burst: int = setting_field(
        20, "Commands a connection may send at once before the rate limit applies.", ge=1
    )
    outbound_max_messages: int = setting_field(
        1000,
        "Messages queued to one client before it counts as not reading and is cut off (1008).",
        ge=1,
    )
    outbound_max_bytes: int = setting_field(
        1_048_576,
        "Bytes queued to one client before it is cut off (1008).",
        unit="bytes",
        ge=1024,
    )
    output_budget_bytes: int = setting_field(
        128 * 1024 * 1024,
        "Bytes queued for all clients together before the server sheds load: past half of it,"
        " ambient lines (arrivals, departures, emotes) are dropped for listeners who have not"
        " read what they were sent; past all of it, speech and combat too, and a client over its"
        " own bound is cut off at once. A player's own answers are never dropped. Sized for"
        " 1,000 players (128 KiB each).",
        unit="bytes",
        ge=1_048_576,
    )
    crowd_lines_per_tick: int = setting_field(
        5,
        "Ambient lines of one kind (arrivals, for instance) that a listener gets in one tick"
        " before they are merged into one line ('12 people arrive.').",
        unit="lines",
        ge=1,
    )
    ambient_events: tuple[str, ...] = setting_field(
        ("arrive", "leave", "emote", "posture"),
        "Event kinds that are ambient: merged when many, and the first lines dropped when the"
        " output budget fills (a player's own lines never are).",
        check=_event_kinds,
    )
    login_failures_per_name: int = setting_field(
        5,
        "Failed logins for one account name within login_failure_window_s after which logins"
        " to that name are refused (throttled), from any address. Guards one account against"
        " password guessing.",
        ge=1,
    )
    login_failures_per_address: int = setting_field(
        5,
        "Failed logins from one address within login_failure_window_s after which logins from"
        " it are refused, whatever the name. Raise it for many players behind one NAT (a"
        " classroom) or a load test from one machine; lower it under attack.",
        ge=1,
    )
    login_failure_window_s: float = setting_field(
        60.0,
        "How long a failed login counts against its name and its address.",
        unit="s",
        gt=0,
        le=86400,
    )
    logins_in_flight_per_address: int = setting_field(
        5,
        "Logins and registrations from one address being checked at once (each costs a 16 MiB"
        " password hash); more are refused as throttled. Logins in flight also count as failures"
        " until they succeed, so parallel guesses cannot slip past the failure limits.",
        ge=1,
    )
    compression: bool = setting_field(
        False,
        "permessage-deflate. Off by default: measured here it doubles the CPU per delivered "
        "message and triples the memory per connection.",
    )
    stats_token: str = setting_field(
        "",
        "The token that opens the /stats page (/stats?token=...) and /stats.json (header"
        " 'Authorization: Bearer ...') when the server listens beyond loopback; at least 16"
        " characters. Empty: the page is refused there. On loopback the page is open. Hidden when"
        " the configuration is printed.",
        check=_stats_token,
        secret=True,
    )
    stats_sample_s: float = setting_field(
        1.0,
        "How often players online and the writer's queue and lag are sampled for the /stats"
        " page's charts.",
        unit="s",
        gt=0,
        le=3600,
    )

    def __post_init__(self) -> None:
        validate_section(self)

    __repr__ = _redacted_repr


@dataclass(frozen=True, slots=True)
class LogConfig:
    """How much the server logs, and in what form."""

    level: str = setting_field(
        "INFO",
        "Lowest severity that is logged.",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    )
    json: bool = setting_field(
        False,
        "Write each log record as one JSON object per line (for log collectors) instead of text.",
    )

    def __post_init__(self) -> None:
        validate_section(self)


NATS_SCHEMES: Final = ("nats", "tls")

SUBJECT_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]+")
"""What a world, shard or gateway name may be: one NATS subject token (no dots, wildcards or
blanks), which is also a valid part of a JetStream stream or consumer name."""


def _nats_url(value: str) -> str | None:
    match = _URL_SCHEME.match(value)
    if match is None or match.group(1).lower() not in NATS_SCHEMES:
        return "expected a NATS URL such as nats://127.0.0.1:4222 (or tls://HOST:PORT)"
    return None


def subject_token_problem(value: str) -> str | None:
    """Why ``value`` cannot be one token of a bus subject, or None if it can."""
    if SUBJECT_TOKEN.fullmatch(value):
        return None
    return f"expected letters, digits, '-' or '_' only (one NATS subject token), got {value!r}"


def _stream_name(value: str) -> str | None:
    return None if not value else subject_token_problem(value)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """A world sharded across processes (docs/scaling.md): the message bus between its shards and
    gateways (NATS with JetStream), liveness, the zone map's refresh, resume tokens.

    A single server reads nothing of it but ``shard``, which is empty there.
    """

    nats_url: str = setting_field(
        "nats://127.0.0.1:4222",
        "URL of the NATS server (started with JetStream: nats-server -js) that the shards and"
        " gateways of this world share. Its password, if any, is hidden when printed.",
        check=_nats_url,
        secret=True,
    )
    world: str = setting_field(
        "kadath",
        "Name of the world on the bus: every subject starts kadath.<world>., so several worlds"
        " can share one NATS server. Letters, digits, '-' and '_'.",
        check=subject_token_problem,
    )
    handoff_stream: str = setting_field(
        "",
        "Name of the JetStream stream that holds this world's hand-offs. Empty:"
        " KADATH_HANDOFFS_<world>.",
        check=_stream_name,
    )
    connect_timeout_s: float = setting_field(
        5.0,
        "How long a process keeps trying to reach NATS at start-up before it gives up with an"
        " error naming the URL. Once connected, the client reconnects without limit.",
        unit="s",
        gt=0,
        le=3600,
    )
    request_timeout_s: float = setting_field(
        5.0,
        "Longest wait for NATS to answer a JetStream request (a hand-off stored, a stream"
        " created) before the call fails.",
        unit="s",
        gt=0,
        le=3600,
    )
    handoff_ack_wait_s: float = setting_field(
        30.0,
        "How long JetStream waits for the receiving shard to acknowledge a hand-off before it"
        " delivers it again (the shard died, or failed to apply it).",
        unit="s",
        gt=0,
        le=86400,
    )
    handoff_max_deliveries: int = setting_field(
        20,
        "Times JetStream delivers one hand-off before it gives up on it. Nothing is lost then:"
        " its things are the receiving shard's in the database, restored at its next start.",
        unit="deliveries",
        ge=1,
    )
    handoff_duplicate_window_s: float = setting_field(
        120.0,
        "How long JetStream remembers a hand-off's id, storing a second publish of the same id"
        " (a sender retrying after a lost answer) only once.",
        unit="s",
        gt=0,
        le=86400,
    )
    handoff_applied_memory: int = setting_field(
        100_000,
        "Ids of applied hand-offs that HandOffInbox.apply_next keeps in memory, so a redelivered"
        " one is acknowledged without being applied twice; the oldest are forgotten first."
        " Shards do not use it: they tell a repeated hand-off by its owner and epoch in the"
        " database.",
        unit="ids",
        ge=1,
    )

    shard: str = setting_field(
        "",
        "The shard this process is, in a sharded world (kadath shard NAME sets it): it"
        " simulates the zones the zone map gives that name. Empty: a single server, which"
        " simulates every zone and reads nothing else of this section.",
        check=lambda value: subject_token_problem(value) if value else None,
    )
    http_port: int = setting_field(
        0,
        "Port on which a shard answers /healthz and /metrics for monitoring, on net.host (a"
        " shard holds no players' connections: those go to a gateway). 0: no port. kadath"
        " cluster up gives shard sN the port net.port + N.",
        ge=0,
        le=65535,
    )
    heartbeat_s: float = setting_field(
        0.5,
        "How often each shard and gateway says it is alive on the bus.",
        unit="s",
        gt=0,
        le=60,
    )
    dead_after_s: float = setting_field(
        2.0,
        "A shard or gateway not heard from this long counts as dead: a gateway pauses the"
        " dead shard's players (their commands are answered 'paused'); a shard takes the"
        " players of a dead gateway link-dead. Longer than heartbeat_s.",
        unit="s",
        gt=0,
        le=3600,
    )
    zone_map_check_s: float = setting_field(
        1.0,
        "How often a shard reads the zone map again, to take up a zone moved to it or give"
        " away one moved from it (kadath cluster move) while the world runs.",
        unit="s",
        gt=0,
        le=3600,
    )
    replay_lines: int = setting_field(
        64,
        "Command lines a gateway keeps per player after forwarding them, to send again to the"
        " new shard when the player's character is handed off before the old one read them.",
        unit="lines",
        ge=1,
        le=10_000,
    )
    resume_token_ttl_s: float = setting_field(
        86400.0,
        "How long a resume token from a sharded world is accepted by any gateway (it is"
        " signed, so a gateway needs no shared memory to check it).",
        unit="s",
        gt=0,
    )

    def __post_init__(self) -> None:
        validate_section(self)

    __repr__ = _redacted_repr

    @property
    def handoff_stream_name(self) -> str:
        """The hand-off stream's name: ``handoff_stream``, or one derived from the world."""
        return self.handoff_stream or f"KADATH_HANDOFFS_{self.world}"


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
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    rules: Mapping[str, Any] = field(default_factory=dict)
    """The plugins' rule settings by section (``combat``), each a frozen dataclass declared in a
    plugin's ``settings``; a section not given here is at its defaults."""

    def rule_settings(self, section: str, settings_type: type[_S]) -> _S:
        """The settings of the rules section ``section``, as configured or at their defaults."""
        given = self.rules.get(section)
        if given is None:
            return settings_type()
        if not isinstance(given, settings_type):
            raise TypeError(
                f"rules section [{section}] holds a {type(given).__name__}, not"
                f" {settings_type.__name__}: two plugins declare the same section"
            )
        return given

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
        sections = [(name, settings, getattr(self, name)) for name, settings in SETTINGS.items()]
        for name, rules in sorted(self.rules.items()):
            sections.append((name, settings_of(name, type(rules)), rules))
        for section_name, settings, section in sections:
            lines += ["", f"[{section_name}]"]
            for setting in settings.values():
                value = getattr(section, setting.name)
                if redact_secrets and setting.spec.secret and isinstance(value, str):
                    value = redact_secret(value)
                unit = f" [{setting.spec.unit}]" if setting.spec.unit else ""
                lines += textwrap.wrap(
                    plain_text(setting.spec.doc) + unit,
                    width=98,
                    initial_indent="# ",
                    subsequent_indent="# ",
                )
                commented = (
                    comment_defaults and value == setting.default and setting.key not in always_set
                )
                lines.append(f"{'# ' if commented else ''}{setting.name} = {toml_value(value)}")
        return "\n".join(lines) + "\n"


def engine_sections() -> list[dataclasses.Field[Any]]:
    """The fields of ``Config`` that are the engine's own sections (all but ``rules``)."""
    return [f for f in dataclasses.fields(Config) if f.name != "rules"]


def settings_of(section: str, section_type: type) -> dict[str, Setting]:
    """The settings of a section type: a frozen dataclass whose every field is declared with
    :func:`engine.config.setting_field` (the engine's sections, and the rule settings plugins
    declare). Raises ``TypeError`` naming the field that is not."""
    if not dataclasses.is_dataclass(section_type) or not section_type.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        raise TypeError(
            f"settings [{section}]: {section_type.__qualname__} is not a frozen dataclass"
        )
    hints = typing.get_type_hints(section_type)
    settings: dict[str, Setting] = {}
    for f in dataclasses.fields(section_type):
        spec = f.metadata.get(SPEC_KEY)
        if not isinstance(spec, Spec):
            raise TypeError(
                f"settings [{section}]: {section_type.__qualname__}.{f.name} is not declared with"
                " engine.config.setting_field (which gives it its meaning, unit and bounds)"
            )
        settings[f.name] = Setting(section, f.name, kind_of(hints[f.name]), f.default, spec)
    return settings


def _collect_settings() -> dict[str, dict[str, Setting]]:
    section_types = typing.get_type_hints(Config)
    return {f.name: settings_of(f.name, section_types[f.name]) for f in engine_sections()}


SETTINGS: Final = _collect_settings()
SECTION_NAMES: Final = {typing.get_type_hints(Config)[f.name]: f.name for f in engine_sections()}
BY_KEY: Final = {s.key: s for settings in SETTINGS.values() for s in settings.values()}


def _calendar_rules(values: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    if values["dawn_hour"] >= values["dusk_hour"]:
        yield (
            ("dawn_hour", "dusk_hour"),
            f"dawn_hour ({values['dawn_hour']}) must be before dusk_hour ({values['dusk_hour']})",
        )


STATS_HISTORY_MAX_POINTS: Final = 1440
"""Most points a /stats chart may have (stats_history_s / stats_history_step_s): a day at one a
minute, or four hours at one every 10 s. It bounds the memory the history holds and the size
of /stats.json, which the page fetches every few seconds."""


def _engine_rules(values: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], str]]:
    history, step = values["stats_history_s"], values["stats_history_step_s"]
    names = ("stats_history_s", "stats_history_step_s")
    if step > history:
        yield (
            names,
            f"stats_history_step_s ({step:g}) must not exceed stats_history_s ({history:g})",
        )
    elif history / step > STATS_HISTORY_MAX_POINTS:
        yield (
            names,
            f"stats_history_s / stats_history_step_s is {history / step:g} points; at most"
            f" {STATS_HISTORY_MAX_POINTS}: keep less history or take longer steps",
        )


SECTION_RULES: Final[
    Mapping[str, Callable[[Mapping[str, Any]], Iterator[tuple[tuple[str, ...], str]]]]
] = {"calendar": _calendar_rules, "engine": _engine_rules}


def validate_section(section: object) -> None:
    """Keep sections built directly in code (tests, embedders) as valid as loaded ones, and
    canonical: an int given for a float field is stored as a float, a level in upper case."""
    section_name = SECTION_NAMES[type(section)]
    source = f"{type(section).__name__}()"
    problems: list[ConfigProblem] = []
    values: dict[str, object] = {}
    for setting in SETTINGS[section_name].values():
        value = getattr(section, setting.name)
        try:
            canonical = checked(setting, from_typed(setting, value))
        except Invalid as bad:
            problems.append(
                ConfigProblem(source, setting.key, shown_value(setting, value), str(bad))
            )
            continue
        values[setting.name] = canonical
        if canonical != value or type(canonical) is not type(value):
            object.__setattr__(section, setting.name, canonical)
    rules = SECTION_RULES.get(section_name)
    if rules is not None and not problems:
        for names, message in rules(values):
            key = ", ".join(f"{section_name}.{name}" for name in names)
            problems.append(ConfigProblem(source, key, None, message))
    if problems:
        raise ConfigError(problems)
