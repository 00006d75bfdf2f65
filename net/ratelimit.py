"""The per-connection command rate limit: a token bucket driven by the caller's clock.

Pure bookkeeping, in the manner of :mod:`net.protocol`: it never reads a clock, sleeps or does
I/O, so every rule is tested with explicit times. The server gives every connection one bucket and
answers what it refuses with ``rate_limited`` (``docs/protocol.md``, *Limits*).
"""

from __future__ import annotations

import math

__all__ = ["TokenBucket"]


class TokenBucket:
    """A token-bucket rate limiter driven by the caller's clock: it never reads time itself.

    The bucket holds up to ``burst`` tokens and gains ``rate_per_s`` per second; each allowed
    action takes one. So a client may act ``burst`` times at once, then ``rate_per_s`` times a
    second for as long as it likes. The server gives every connection one (commands: 10 per second,
    burst 20) and drops what is refused, answering ``rate_limited``. Memory: three floats; each
    call is a few arithmetic operations.

    ``now`` is seconds on any monotonic clock (the server passes ``time.monotonic()``). If it goes
    backwards the bucket gains nothing and counts on from the new reading, so a clock step never
    grants extra tokens. The bucket starts full at the first call.
    """

    __slots__ = ("_last", "_tokens", "burst", "rate_per_s")

    _EPSILON = 1e-9  # float slack: 0.3 - 0.2 seconds at 10/s must still earn one whole token

    def __init__(self, rate_per_s: float = 10.0, burst: float = 20.0) -> None:
        if not (math.isfinite(rate_per_s) and rate_per_s > 0):
            raise ValueError(f"rate_per_s must be a positive number, not {rate_per_s!r}")
        if not (math.isfinite(burst) and burst >= 1):
            raise ValueError(f"burst must be at least 1 (one action), not {burst!r}")
        self.rate_per_s = float(rate_per_s)
        self.burst = float(burst)
        self._tokens = self.burst
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if not math.isfinite(now):
            raise ValueError(f"now must be a finite time in seconds, not {now!r}")
        if self._last is not None and now > self._last:
            gained = (now - self._last) * self.rate_per_s
            self._tokens = min(self.burst, self._tokens + gained)
        self._last = now

    def allow(self, now: float, cost: float = 1.0) -> bool:
        """Take ``cost`` tokens at time ``now`` if the bucket has them; True if taken."""
        self._refill(now)
        if self._tokens + self._EPSILON >= cost:
            self._tokens = max(0.0, self._tokens - cost)
            return True
        return False

    def tokens(self, now: float) -> float:
        """Tokens available at ``now`` (brings the bucket up to date, takes none)."""
        self._refill(now)
        return self._tokens

    def retry_after(self, now: float, cost: float = 1.0) -> float:
        """Seconds from ``now`` until ``allow(cost=cost)`` would succeed; 0.0 if it would now.

        For the ``rate_limited`` message ("try again in 0.3 s"). ``cost`` above ``burst`` can never
        succeed and gives infinity.
        """
        self._refill(now)
        if cost > self.burst:
            return math.inf
        missing = cost - self._tokens - self._EPSILON
        return max(0.0, missing / self.rate_per_s)
