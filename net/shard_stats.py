"""What a shard counts (hand-offs, players, gateways) and the metrics its /metrics serves from it.

Apart from :mod:`net.shard` so that the figures can be read, and their documentation checked,
without the cluster extra (nats) installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.stats import Metric, counter, gauge

__all__ = ["SHARD_METRICS", "ShardStats"]


@dataclass(frozen=True, slots=True)
class ShardStats:
    """A shard's hand-offs since start-up: sent (from a thing leaving this world to its
    hand-off stored by the broker, in ms over the recent window) and received, with the players
    and gateways it serves now."""

    handoffs_sent: int
    handoffs_received: int
    handoff_p50_ms: float
    handoff_p99_ms: float
    handoff_max_ms: float
    players: int
    gateways: int

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__}


SHARD_METRICS: tuple[Metric[ShardStats], ...] = (
    counter(
        "kadath_shard_handoffs_sent_total",
        "Hand-offs this shard sent (things that crossed into another shard's zone).",
        lambda stats: stats.handoffs_sent,
    ),
    counter(
        "kadath_shard_handoffs_received_total",
        "Hand-offs this shard took in from other shards.",
        lambda stats: stats.handoffs_received,
    ),
    gauge(
        "kadath_shard_handoff_p99_seconds",
        "Over the recent window, p99 from a thing leaving this world to its hand-off stored by"
        " the broker.",
        lambda stats: stats.handoff_p99_ms / 1000,
    ),
    gauge(
        "kadath_shard_players",
        "Players this shard simulates, whichever gateway holds their connection.",
        lambda stats: stats.players,
    ),
    gauge(
        "kadath_shard_gateways",
        "Gateways holding connections of this shard's players.",
        lambda stats: stats.gateways,
    ),
)
