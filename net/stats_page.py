"""The /stats page's figures and its door: what /stats.json says, and who may read it.

Sans I/O: the server (``net/server.py``) hands this module what it read off the engine's stats
board, the tick loop's history and the request's credentials; this module builds the document and
decides who gets it. It reads no clock and no socket, and never times a system itself: every cost
in the document is the engine's own (``EngineStats``), so the page, the admin ``stats`` command
and /metrics never disagree. A token never appears in anything it returns or raises.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import parse_qs

from engine.commands import Refused
from engine.core import CostRow, EngineStats
from engine.loop import LoopHistory
from engine.stats import SeriesPoint, TimeSeries

__all__ = [
    "GAUGES",
    "LOOP_SOURCE",
    "NET_SOURCE",
    "REFUSAL_STATUS",
    "STATS_JSON_PATH",
    "STATS_PAGE",
    "STATS_PATH",
    "WRITER_SOURCE",
    "GaugeHistory",
    "check_access",
    "listening_beyond_loopback",
    "presented_token",
    "stats_document",
    "tick_points",
]

STATS_PATH: Final = "/stats"
STATS_JSON_PATH: Final = "/stats.json"
STATS_PAGE: Final = "stats.html"
"""The page's file in the web client's package (``net/web``)."""

NET_SOURCE: Final = "net"
"""The network hub's name on the stats board (the server puts it there)."""
LOOP_SOURCE: Final = "loop"
"""The tick loop's name on the stats board (``kadath serve`` puts it there)."""
WRITER_SOURCE: Final = "writer"
"""The database writer's name on the stats board (the persistence service puts it there)."""

GAUGES: Final = ("players_online", "connections", "writer_lag_ticks", "writer_queued_batches")
"""The levels the server samples every ``net.stats_sample_s`` for the page's charts."""

_NS_PER_MS = 1_000_000
_BEARER = "bearer "

# --- the door -------------------------------------------------------------------------------------

REFUSAL_STATUS: Final[Mapping[str, int]] = {
    "stats_token_unset": 403,
    "stats_token_missing": 401,
    "stats_token_wrong": 403,
}
"""The HTTP status of each refusal :func:`check_access` raises."""

HOW_TO_SET_A_TOKEN: Final = (
    "Set net.stats_token (16 characters or more) in kadath.toml, or in the environment as"
    " KADATH_NET__STATS_TOKEN, and restart; then open /stats?token=YOUR_TOKEN."
    ' Make one with: python3 -c "import secrets; print(secrets.token_urlsafe(24))"'
)


def listening_beyond_loopback(addresses: Iterable[str]) -> bool:
    """Whether any address the server listens on can be reached from another machine.

    Decided on the addresses the sockets are bound to, not on the address a request comes from: a
    reverse proxy on the same machine makes every request come from loopback. An address that is
    not an IP address (a Unix socket's path, a name) counts as beyond loopback: when in doubt,
    ask for the token.
    """
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone: fe80::1%eth0
        except ValueError:
            return True
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_loopback:
            return True
    return False


def presented_token(query: str, authorization: str | None) -> str | None:
    """The token a request carries: an ``Authorization: Bearer`` header (what the page sends),
    else a ``token`` parameter of the query string (how an operator opens the page)."""
    if authorization is not None and authorization[: len(_BEARER)].lower() == _BEARER:
        return authorization[len(_BEARER) :].strip()
    values = parse_qs(query, keep_blank_values=True).get("token")
    return values[0] if values else None


def check_access(*, beyond_loopback: bool, configured: str, presented: str | None) -> None:
    """Let the request through, or raise ``Refused`` (its HTTP status in ``REFUSAL_STATUS``).

    On loopback the page is open: only someone on this machine can reach it. Beyond loopback it
    takes ``net.stats_token``, and without one configured it is refused for everyone. The token
    is compared in constant time, through digests, so neither its characters nor its length
    show in how long a refusal takes.
    """
    if not beyond_loopback:
        return
    if not configured:
        raise Refused(
            "stats_token_unset",
            "The /stats page is for admins: this server listens beyond loopback, and no"
            f" net.stats_token is set, so it is refused to everyone. {HOW_TO_SET_A_TOKEN}",
        )
    if not presented:
        raise Refused(
            "stats_token_missing",
            "The /stats page is for admins: open it as /stats?token=YOUR_TOKEN (the value of"
            " net.stats_token), or send 'Authorization: Bearer YOUR_TOKEN'.",
        )
    given = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
    wanted = hashlib.sha256(configured.encode("utf-8")).digest()
    if not hmac.compare_digest(given, wanted):
        raise Refused(
            "stats_token_wrong",
            "That token does not open the /stats page: it must be the server's net.stats_token.",
        )


# --- the history of levels -----------------------------------------------------------------------


class GaugeHistory:
    """Levels sampled now and then (players online, the writer's lag), each kept as a
    :class:`~engine.stats.TimeSeries` over the same steps as the loop's history.

    The caller samples on its own schedule (``net.stats_sample_s``) and gives the time; a level
    it could not read this time (no writer) is simply not recorded. Recording is O(1) per level.
    """

    def __init__(self, step_s: float, span_s: float, names: Iterable[str] = GAUGES) -> None:
        self._series = {name: TimeSeries(step_s, span_s) for name in names}

    def sample(self, at_s: float, levels: Mapping[str, int]) -> None:
        """Record the ``levels`` read at ``at_s``; names it does not keep are refused."""
        unknown = set(levels) - set(self._series)
        if unknown:
            raise KeyError(f"no gauge named {sorted(unknown)}; known: {sorted(self._series)}")
        for name, value in levels.items():
            self._series[name].record(at_s, value)

    def points(self, now_s: float) -> list[dict[str, float | int]]:
        """One point per step with samples, oldest first: ``age_s`` (how long before ``now_s``
        the step began), then each level's median and maximum (``NAME`` and ``NAME_max``)."""
        steps: dict[float, dict[str, float | int]] = {}
        for name, series in self._series.items():
            for point in series.points(now_s):
                step = steps.setdefault(point.start_s, {"age_s": _age(now_s, point.start_s)})
                step[name] = point.p50
                step[f"{name}_max"] = point.max
                step["samples"] = max(int(step.get("samples", 0)), point.count)
        return [steps[start] for start in sorted(steps)]


def tick_points(history: LoopHistory) -> list[dict[str, float | int]]:
    """The loop's history as chart points, oldest first: ``age_s``, the ticks run in the step,
    and the median and maximum of their duration and lateness, in milliseconds."""
    lateness = {point.start_s: point for point in history.lateness}
    points = []
    for duration in history.tick_duration:
        late = lateness.get(duration.start_s, SeriesPoint(duration.start_s, 0, 0, 0, 0))
        points.append(
            {
                "age_s": _age(history.now_s, duration.start_s),
                "ticks": duration.count,
                "p50_ms": _ms(duration.p50),
                "max_ms": _ms(duration.max),
                "lateness_p50_ms": _ms(late.p50),
                "lateness_max_ms": _ms(late.max),
            }
        )
    return points


# --- the document ---------------------------------------------------------------------------------


def stats_document(
    *,
    engine: EngineStats,
    services: Mapping[str, Mapping[str, object]],
    history: LoopHistory | None,
    gauges: list[dict[str, float | int]],
    uptime_s: float,
    server: Mapping[str, str],
    sample_s: float,
) -> dict[str, object]:
    """What /stats.json answers: the server at a glance, every phase and system with its cost and
    share of the tick, the loop and the writer, and the history the charts draw.

    ``services`` are the board's services as plain values (``StatsBoard.services()``); the
    loop's, the writer's and the hub's are found by their names there (``null`` when the server
    runs without them), and any other (the journal, a plugin's) is listed under ``services``.
    ``history`` is the loop's (``TickLoop.history()``), ``gauges`` the sampled levels' points
    (``GaugeHistory.points``).
    """
    tick_total = engine.tick_cost.total_ns
    loop = services.get(LOOP_SOURCE)
    writer = services.get(WRITER_SOURCE)
    hub = services.get(NET_SOURCE, {})
    shown = (LOOP_SOURCE, WRITER_SOURCE, NET_SOURCE)
    return {
        "server": dict(server),
        "uptime_s": round(uptime_s, 3),
        "tick": engine.tick,
        "tick_rate_hz": engine.rate_hz,
        "achieved_rate_hz": _achieved_rate(history),
        "entities": engine.entities,
        "players_online": hub.get("players_online"),
        "connections": hub.get("connections"),
        "players_linkdead": hub.get("players_linkdead"),
        "tick_cost": engine.tick_cost.as_ms_dict(),
        "systems": [_row(row, tick_total) for row in engine.rows],
        "loop": None if loop is None else dict(loop),
        "writer": _writer(writer, engine.rate_hz),
        "services": {name: dict(v) for name, v in services.items() if name not in shown},
        "history": {
            "step_s": history.step_s if history is not None else None,
            "span_s": history.span_s if history is not None else None,
            "sample_s": sample_s,
            "ticks": tick_points(history) if history is not None else [],
            "gauges": gauges,
        },
    }


def _row(row: CostRow, tick_total_ns: int) -> dict[str, object]:
    """A phase or system of the cost table. Its ``share`` is the part of all tick time since
    start-up spent in it, so a system that runs once a minute weighs what it really costs."""
    cost = row.cost
    return {
        "name": row.name,
        "kind": row.kind,
        "phase": row.phase,
        "every_s": row.every_s,
        "enabled": row.enabled,
        "note": row.note,
        "calls": row.runs,
        "failures": row.failures,
        "p50_ms": _ms(cost.p50_ns),
        "p99_ms": _ms(cost.p99_ns),
        "max_ms": _ms(cost.max_ns),
        "mean_ms": _ms(cost.mean_ns),
        "total_ms": _ms(cost.total_ns),
        "share": round(cost.total_ns / tick_total_ns, 6) if tick_total_ns else 0.0,
    }


def _writer(figures: Mapping[str, object] | None, rate_hz: float) -> dict[str, object] | None:
    """The writer's figures, with its lag in seconds too: ticks are not what an operator feels."""
    if figures is None:
        return None
    shown = dict(figures)
    lag = figures.get("lag_ticks")
    if isinstance(lag, int) and rate_hz > 0:
        shown["lag_s"] = round(lag / rate_hz, 3)
    return shown


def _achieved_rate(history: LoopHistory | None) -> float | None:
    """Ticks a second over the last whole step: below the configured rate, the loop is skipping
    deadlines (0 if it ran none). ``None`` until the loop has run for a whole step: the first
    step it recorded began before it started, so it is never whole."""
    if history is None or not history.tick_duration:
        return None
    step = history.step_s
    previous = (math.floor(history.now_s / step) - 1) * step
    if history.tick_duration[0].start_s >= previous:
        return None
    ran = next((p.count for p in history.tick_duration if p.start_s == previous), 0)
    return round(ran / step, 3)


def _ms(ns: float) -> float:
    return round(ns / _NS_PER_MS, 3)


def _age(now_s: float, start_s: float) -> float:
    return round(now_s - start_s, 3)
