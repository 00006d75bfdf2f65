"""Password hashing: salted, memory-hard scrypt (``hashlib.scrypt``), in a self-describing format.

A stored hash reads ``scrypt$N$r$p$SALT$KEY`` (salt and key in standard base64), so it records the
parameters it was made with: the production parameters can be raised later and every old hash
still verifies (and :func:`needs_rehash` says it should be replaced at the next successful login).

Passwords are normalised to Unicode NFKC before hashing (as NIST SP 800-63B suggests), so the same
password typed on another keyboard or system, composed or decomposed, still matches.

Every hash and verification costs tens of milliseconds of CPU and 16 MiB of memory on purpose.
This module must never be called on the event loop or the tick: the network shell calls it
through ``asyncio.to_thread`` (see :class:`net.accounts.AccountService`). It never logs or stores
a password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "DEFAULT_PARAMS",
    "MAX_VERIFY_MEMORY_BYTES",
    "MAX_VERIFY_WORK",
    "SCHEME",
    "SCRYPT_KEY_BYTES",
    "SCRYPT_N",
    "SCRYPT_P",
    "SCRYPT_R",
    "SCRYPT_SALT_BYTES",
    "ScryptParams",
    "hash_password",
    "needs_rehash",
    "params_of",
    "verify_password",
]

#: The scheme name that starts every encoded hash.
SCHEME = "scrypt"
#: scrypt's CPU/memory cost: the number of 128·r-byte blocks kept in memory. A power of two.
SCRYPT_N = 2**14
#: scrypt's block size factor. Memory cost is 128 · r · N bytes = 128 · 8 · 2**14 = 16 MiB.
SCRYPT_R = 8
#: scrypt's parallelisation factor (1: the work is sequential and cannot be split across cores).
SCRYPT_P = 1
#: Random salt per hash, from ``os.urandom``: equal passwords never share a hash.
SCRYPT_SALT_BYTES = 16
#: Length of the derived key that is stored and compared.
SCRYPT_KEY_BYTES = 32

#: Verification refuses a stored hash whose parameters need more memory than this (256 MiB,
#: 16 times today's cost) or more work (N · r · p) than :data:`MAX_VERIFY_WORK`: a corrupt or
#: hostile row in the database must not be able to make a login exhaust the machine.
MAX_VERIFY_MEMORY_BYTES = 256 * 2**20
#: The most scrypt work (N · r · p) a verification accepts: 32 times today's.
MAX_VERIFY_WORK = 32 * SCRYPT_N * SCRYPT_R * SCRYPT_P

#: Extra room over the exact scrypt buffer sizes, for OpenSSL's ``maxmem`` check.
_MAXMEM_SLACK = 2**20

_B64 = r"[A-Za-z0-9+/]+={0,2}"
_ENCODED = re.compile(
    rf"{SCHEME}\$([0-9]{{1,10}})\$([0-9]{{1,10}})\$([0-9]{{1,10}})\$({_B64})\$({_B64})"
)


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """One set of scrypt parameters. Production uses :data:`DEFAULT_PARAMS`; tests pass cheaper
    ones explicitly (the default is never weakened)."""

    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P
    salt_bytes: int = SCRYPT_SALT_BYTES
    key_bytes: int = SCRYPT_KEY_BYTES

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1):
            raise ValueError(f"scrypt n must be a power of two above 1, not {self.n}")
        if self.r < 1 or self.p < 1:
            raise ValueError(f"scrypt r and p must be at least 1, not r={self.r}, p={self.p}")
        if self.salt_bytes < 8:
            raise ValueError(f"a salt needs at least 8 bytes, not {self.salt_bytes}")
        if self.key_bytes < 16:
            raise ValueError(f"a derived key needs at least 16 bytes, not {self.key_bytes}")

    @property
    def memory_bytes(self) -> int:
        """The memory one hash takes: 128 · r · N bytes (16 MiB for the defaults)."""
        return 128 * self.r * self.n

    @property
    def work(self) -> int:
        """The relative CPU cost of one hash, N · r · p."""
        return self.n * self.r * self.p


#: The production parameters: N=2**14, r=8, p=1 (16 MiB, about 50-70 ms on one core), a 16-byte
#: salt and a 32-byte key.
DEFAULT_PARAMS = ScryptParams()


def _password_bytes(password: str) -> bytes:
    # ``surrogatepass``: a string with lone surrogates still hashes, deterministically.
    return unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, key_bytes: int) -> bytes:
    return hashlib.scrypt(
        _password_bytes(password),
        salt=salt,
        n=n,
        r=r,
        p=p,
        dklen=key_bytes,
        maxmem=128 * r * (n + p + 2) + _MAXMEM_SLACK,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
    """A new salted hash of ``password``, as ``scrypt$N$r$p$SALT$KEY``.

    Blocking and memory-hard (16 MiB, tens of milliseconds with the defaults): call it through
    ``asyncio.to_thread``, never on the event loop.
    """
    salt = os.urandom(params.salt_bytes)
    key = _derive(password, salt, params.n, params.r, params.p, params.key_bytes)
    return f"{SCHEME}${params.n}${params.r}${params.p}${_b64(salt)}${_b64(key)}"


def _decode(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    """(n, r, p, salt, key) of a well-formed encoding within the verification limits, or None."""
    if not isinstance(encoded, str):
        return None
    match = _ENCODED.fullmatch(encoded)
    if match is None:
        return None
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    try:
        salt = base64.b64decode(match.group(4), validate=True)
        key = base64.b64decode(match.group(5), validate=True)
    except (binascii.Error, ValueError):
        return None
    if n < 2 or n & (n - 1) or r < 1 or p < 1:
        return None
    if 128 * r * n > MAX_VERIFY_MEMORY_BYTES or n * r * p > MAX_VERIFY_WORK:
        return None
    if not 8 <= len(salt) <= 64 or not 16 <= len(key) <= 64:
        return None
    return n, r, p, salt, key


def params_of(encoded: str) -> ScryptParams | None:
    """The parameters recorded in an encoded hash, or None if it is malformed or out of limits."""
    decoded = _decode(encoded)
    if decoded is None:
        return None
    n, r, p, salt, key = decoded
    return ScryptParams(n, r, p, len(salt), len(key))


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the stored hash ``encoded``, with the parameters it records.

    The comparison is constant-time (``hmac.compare_digest``). A malformed encoding, or one whose
    parameters exceed :data:`MAX_VERIFY_MEMORY_BYTES` / :data:`MAX_VERIFY_WORK`, is simply not a
    match: False, never an exception. Blocking and memory-hard like :func:`hash_password`: call
    it through ``asyncio.to_thread``.
    """
    decoded = _decode(encoded)
    if decoded is None:
        return False
    n, r, p, salt, key = decoded
    try:
        derived = _derive(password, salt, n, r, p, len(key))
    except (ValueError, MemoryError):  # parameters OpenSSL refuses (e.g. N too big for r)
        return False
    return hmac.compare_digest(derived, key)


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    """Whether a stored hash should be replaced by one made with ``params``: true when it is
    malformed or any of its parameters (N, r, p, salt or key length) differs. Cheap (no hashing).
    """
    return params_of(encoded) != params
