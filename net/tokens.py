"""Signed resume tokens for a sharded world: any gateway can check one without asking anyone.

In one process the hub remembers the random tokens it handed out. Across processes a player may
reconnect to another gateway than the one it left, so a token carries what it vouches for (the
account's name and when it expires) and an HMAC-SHA256 of that under the world's shared secret
(``persist.ownership.cluster_secret``). Shards mint them (in ``auth_ok``), gateways check them.

Pure functions of their arguments: no clock is read (the time is given), no I/O. A token never
holds a password or anything secret, and a check never says *why* a token failed: forged,
expired and malformed all look the same to whoever presented it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from typing import Final

__all__ = ["MIN_SECRET_BYTES", "check", "mint"]

#: A shorter secret is refused: it would make tokens guessable.
MIN_SECRET_BYTES: Final = 16
#: Mixed into every MAC, so that a MAC made with the same secret for another purpose (a later
#: kind of token) can never pass as a resume token.
_PURPOSE: Final = b"kadath-resume-v1\x00"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, _PURPOSE + body.encode("ascii"), hashlib.sha256).digest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"a token secret has at least {MIN_SECRET_BYTES} bytes, not {len(secret)}")


def mint(secret: bytes, account: str, now_s: float, ttl_s: float) -> str:
    """A token that lets whoever holds it resume ``account`` until ``now_s + ttl_s`` (wall-clock
    seconds, rounded down to a whole second). URL-safe: letters, digits, ``-``, ``_`` and one
    ``.``; about 60 characters for a 20-letter name."""
    _check_secret(secret)
    if not account:
        raise ValueError("a token names an account: the name is empty")
    if ttl_s <= 0:
        raise ValueError(f"a token's lifetime is positive, not {ttl_s!r}")
    expires = math.floor(now_s + ttl_s)
    body = _b64(f"{expires}\n{account}".encode())
    return f"{body}.{_b64(_mac(secret, body))}"


def check(secret: bytes, token: str, now_s: float) -> str | None:
    """The account ``token`` vouches for, if it was minted with ``secret`` and has not expired
    at ``now_s``; None otherwise (forged, expired or malformed alike). Compares MACs in constant
    time."""
    _check_secret(secret)
    if not isinstance(token, str) or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    try:
        presented = _unb64(mac)
    except (ValueError, binascii.Error):
        return None
    if not body.isascii() or not hmac.compare_digest(presented, _mac(secret, body)):
        return None
    try:
        expires_text, account = _unb64(body).decode().split("\n", 1)
        expires = int(expires_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None  # signed by us, yet unreadable: only a bug could make one
    if not account or now_s >= expires:
        return None
    return account
