"""Registration and login: the login throttle and the account service the network server uses.

:class:`LoginThrottle` is pure bookkeeping: it is given the time, never reads a clock, does no I/O,
and keeps bounded memory whatever a client sends. :class:`AccountService` is what the network
server calls: it applies the name and password rules of :mod:`net.protocol`, hashes and verifies
passwords (:mod:`net.passwords`) and talks to the :class:`~engine.accounts.AccountStore`, always
through ``asyncio.to_thread``, so neither the memory-hard hashing nor the database ever blocks the
event loop or the tick.

This module must never import ``persist`` (the store is handed in), log or keep a password, or tell
a client whether a name exists when a login fails.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Literal, NoReturn, TypeVar

from engine.accounts import Account, AccountExists, AccountStore
from net.names import name_key, validate_name, validate_password
from net.passwords import DEFAULT_PARAMS, ScryptParams, hash_password, needs_rehash, verify_password
from net.protocol import MAX_NAME_CHARS, MAX_PASSWORD_CHARS, ProtocolError

__all__ = [
    "MAX_CONCURRENT_HASHES",
    "AccountService",
    "AuthCode",
    "AuthError",
    "LoginThrottle",
]

log = logging.getLogger("kadath.accounts")

#: How many password hashes may run at once. Each takes 16 MiB and a core for tens of
#: milliseconds: this bounds the memory and CPU a burst of logins can take; the rest wait.
MAX_CONCURRENT_HASHES: Final = 4

#: Every way registration or login can fail, as the ``code`` of an :class:`AuthError` (a subset
#: of :data:`net.protocol.AUTH_ERROR_CODES`).
AuthCode = Literal[
    "bad_name", "bad_password", "name_taken", "bad_credentials", "throttled", "unavailable"
]

_BAD_CREDENTIALS = "wrong name or password"

_T = TypeVar("_T")
_A = TypeVar("_A")


class AuthError(Exception):
    """A registration or login that failed; ``code`` for programs, ``message`` for the player.

    Codes: ``bad_name``, ``bad_password``, ``name_taken`` (registration), ``bad_credentials``
    (login: the same message whether the name is unknown or the password wrong), ``throttled``
    (too many failed logins), ``unavailable`` (the account store failed; the cause is logged).
    """

    def __init__(self, code: AuthCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: AuthCode = code
        self.message = message


# --------------------------------------------------------------------------- throttle


class LoginThrottle:
    """Failed logins per name and per address in a sliding window; either one can trip it.

    A name is throttled while it has ``name_failures`` or more failures in the last ``window_s``
    seconds, an address while it has ``address_failures`` or more: a failure at time t counts while
    ``now < t + window_s``. The two limits are separate because they guard different things: the
    name limit one account against guessing, the address limit the server against one source (and
    a classroom behind one NAT, or a load test, needs a higher one). Time is always passed in
    (from a monotonic clock); nothing here reads a clock.

    ``record_success`` clears the failures of the name, not of the address: otherwise an attacker
    who owns one account could log into it between guesses at other names and never be throttled.
    (A shared address, behind NAT, is throttled only by failures, never by successes.)

    Memory is bounded: a key keeps at most its limit's number of timestamps, a key whose newest
    failure has left the window is dropped, and at most ``max_tracked`` names and ``max_tracked``
    addresses are kept. When a table is full, the key whose newest failure is the oldest is evicted
    first (to evict a name under attack, an attacker must fail with ``max_tracked`` other names
    within one window, which the per-address limit makes take ``max_tracked / address_failures``
    addresses).
    """

    def __init__(
        self,
        name_failures: int = 5,
        address_failures: int = 5,
        window_s: float = 60.0,
        max_tracked: int = 10_000,
    ) -> None:
        if name_failures < 1 or address_failures < 1 or window_s <= 0 or max_tracked < 1:
            raise ValueError(
                "name_failures, address_failures, window_s and max_tracked must be positive"
            )
        self.name_failures_limit = name_failures
        self.address_failures_limit = address_failures
        self.window_s = window_s
        self.max_tracked = max_tracked
        # key -> recent failure times, oldest first; ordered by newest failure, oldest first.
        self._names: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._addresses: OrderedDict[str, tuple[float, ...]] = OrderedDict()

    def record_failure(self, name_key: str | None, address: str, now: float) -> None:
        """Count a failed login for the name (None: not a possible name, count the address only)
        and the address."""
        if name_key is not None:
            self._record(self._names, name_key, now, self.name_failures_limit)
        self._record(self._addresses, address, now, self.address_failures_limit)

    def record_success(self, name_key: str | None, address: str) -> None:
        """A successful login: forget the name's failures (the address keeps its own, see above)."""
        if name_key is not None:
            self._names.pop(name_key, None)

    def is_throttled(self, name_key: str | None, address: str, now: float) -> bool:
        """Whether a login for this name or from this address must be refused now."""
        return (
            name_key is not None and self.name_failures(name_key, now) >= self.name_failures_limit
        ) or self.address_failures(address, now) >= self.address_failures_limit

    def name_failures(self, name_key: str, now: float) -> int:
        """The name's failures within the window ending at ``now``."""
        return self._count(self._names.get(name_key, ()), now)

    def address_failures(self, address: str, now: float) -> int:
        """The address's failures within the window ending at ``now``."""
        return self._count(self._addresses.get(address, ()), now)

    @property
    def tracked(self) -> tuple[int, int]:
        """How many (names, addresses) are being kept."""
        return len(self._names), len(self._addresses)

    def prune(self, now: float) -> None:
        """Drop every key whose newest failure has left the window. Amortised O(1) per failure:
        the tables are ordered by newest failure, so only the expired keys in front are read."""
        for table in (self._names, self._addresses):
            self._prune(table, now)

    def _count(self, stamps: tuple[float, ...], now: float) -> int:
        cutoff = now - self.window_s
        return sum(1 for t in stamps if t > cutoff)

    def _record(
        self, table: OrderedDict[str, tuple[float, ...]], key: str, now: float, limit: int
    ) -> None:
        cutoff = now - self.window_s
        recent = tuple(t for t in table.pop(key, ()) if t > cutoff)
        table[key] = (*recent, now)[-limit:]
        self._prune(table, now)
        while len(table) > self.max_tracked:
            table.popitem(last=False)

    def _prune(self, table: OrderedDict[str, tuple[float, ...]], now: float) -> None:
        cutoff = now - self.window_s
        while table:
            oldest = next(iter(table.values()))
            if oldest[-1] > cutoff:
                return
            table.popitem(last=False)


_TOO_MANY_AT_ONCE = "too many logins at once from your address: wait a moment and try again"


def _wait(seconds: float) -> str:
    """A throttle window in the words a player reads ("a minute", "90 seconds", "5 minutes")."""
    if seconds == 60:
        return "a minute"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"


# --------------------------------------------------------------------------- service


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AccountService:
    """Registration and login for the network server, on its event loop.

    Every password hash and store call runs in a worker thread (``asyncio.to_thread``); at most
    ``max_concurrent_hashes`` hashes run at once. ``clock`` gives the wall-clock time recorded as
    ``created`` and ``last_login``; throttling uses the monotonic ``now`` each login is given.
    Use one service per event loop.

    Concurrent attempts count against the throttle while they are in flight: a name (or address)
    with f recent failures may have at most its limit minus f logins being checked at once, so
    a burst of parallel guesses cannot slip past the limit before the first result is in. Besides,
    at most ``max_in_flight_per_address`` logins from one address are checked at once, whatever
    the failure limits, since each costs a memory-hard hash.

    A store failure (the database is down) is logged with its cause and raised as
    ``AuthError("unavailable", ...)``; it does not count as a failed login.
    """

    def __init__(
        self,
        store: AccountStore,
        throttle: LoginThrottle | None = None,
        *,
        params: ScryptParams = DEFAULT_PARAMS,
        clock: Callable[[], datetime] = _utc_now,
        max_concurrent_hashes: int = MAX_CONCURRENT_HASHES,
        max_in_flight_per_address: int = 5,
    ) -> None:
        if max_in_flight_per_address < 1:
            raise ValueError("max_in_flight_per_address must be positive")
        self.store = store
        self.throttle = throttle if throttle is not None else LoginThrottle()
        self.max_in_flight_per_address = max_in_flight_per_address
        self.params = params
        self.clock = clock
        self._hashing = asyncio.Semaphore(max_concurrent_hashes)
        self._in_flight: Counter[tuple[str, str]] = Counter()
        self._dummy_hash: str | None = None

    async def register(self, name: str, password: str, address: str) -> Account:
        """Create an account (a player; the very first account becomes an admin).

        Raises :class:`AuthError` with ``bad_name``, ``bad_password``, ``name_taken``,
        ``throttled`` (too many logins and registrations from the address at once: each costs a
        memory-hard hash) or ``unavailable``.
        """
        try:
            validate_name(name)
            validate_password(password, name=name)
        except ProtocolError as exc:
            code: AuthCode = "bad_name" if exc.code == "bad_name" else "bad_password"
            raise AuthError(code, exc.message) from None
        slot = ("address", address)
        if self._in_flight[slot] >= self.max_in_flight_per_address:
            raise AuthError("throttled", _TOO_MANY_AT_ONCE)
        taken = f"the name {name} is taken"
        self._in_flight[slot] += 1
        try:
            # Cheap check first, so a taken name costs no hash; create() still decides races.
            if await self._store(self.store.get, name) is not None:
                raise AuthError("name_taken", taken)
            encoded = await self._hash(password)
            account = Account(name=name, password_hash=encoded, role="player", created=self.clock())
            try:
                created = await self._store(self.store.create, account)
            except AccountExists:
                raise AuthError("name_taken", taken) from None
        finally:
            self._in_flight[slot] -= 1
            if self._in_flight[slot] <= 0:
                del self._in_flight[slot]
        log.info("account %s registered from %s as %s", created.name, address, created.role)
        return created

    async def login(self, name: str, password: str, address: str, now: float) -> Account:
        """The account, with ``last_login`` updated, if ``password`` is right.

        ``now`` is monotonic seconds, for the throttle. Raises :class:`AuthError` with
        ``throttled``, ``bad_credentials`` (an unknown name and a wrong password look the same,
        and take the same time) or ``unavailable``. A hash made with older parameters is
        replaced by one made with the service's parameters.
        """
        # No name rules here, only the protocol's size limit: an account made under older rules
        # (a name since reserved) can still log in, and the throttle never keeps a huge key.
        valid = isinstance(name, str) and 0 < len(name) <= MAX_NAME_CHARS
        key = name_key(name) if valid else None
        slots = [("address", address)] + ([("name", key)] if key is not None else [])
        refusal = self._throttled(key, address, now)
        if refusal is not None:
            log.info("login as %.40r from %s refused: throttled", name, address)
            raise AuthError("throttled", refusal)
        if not valid or not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            # Cannot match any account (the limits are public: answering fast reveals nothing).
            self._fail(key, name, address, now)
        self._in_flight.update(slots)
        try:
            account = await self._store(self.store.get, name)
            if account is None:
                await self._dummy_check(password)  # takes as long as a real check
                self._fail(key, name, address, now)
            if not await self._verify(password, account.password_hash):
                self._fail(key, name, address, now)
        finally:
            self._in_flight.subtract(slots)
            for slot in slots:
                if self._in_flight[slot] <= 0:
                    del self._in_flight[slot]
        self.throttle.record_success(key, address)
        encoded = account.password_hash
        if needs_rehash(encoded, self.params):
            encoded = await self._hash(password)
        updated = dataclasses.replace(account, password_hash=encoded, last_login=self.clock())
        await self._store(self.store.update, updated)
        log.info("%s logged in from %s", updated.name, address)
        return updated

    # ----------------------------------------------------------------------- helpers

    def _throttled(self, key: str | None, address: str, now: float) -> str | None:
        """Why a login must be refused now (None: it may go on), counting the attempts still in
        flight as failures."""
        throttle = self.throttle
        from_address = self._in_flight[("address", address)]
        if from_address >= self.max_in_flight_per_address:
            return _TOO_MANY_AT_ONCE
        failures = (
            throttle.address_failures(address, now) + from_address
            >= throttle.address_failures_limit
        ) or (
            key is not None
            and throttle.name_failures(key, now) + self._in_flight[("name", key)]
            >= throttle.name_failures_limit
        )
        if failures:
            return f"too many failed logins: wait {_wait(throttle.window_s)} and try again"
        return None

    def _fail(self, key: str | None, name: str, address: str, now: float) -> NoReturn:
        self.throttle.record_failure(key, address, now)
        log.info("failed login as %.40r from %s", name, address)
        raise AuthError("bad_credentials", _BAD_CREDENTIALS)

    async def _store(self, method: Callable[[_A], _T], arg: _A) -> _T:
        try:
            return await asyncio.to_thread(method, arg)
        except AccountExists:
            raise
        except Exception as exc:
            log.exception("the account store failed")
            raise AuthError(
                "unavailable", "accounts are unavailable right now: try again later"
            ) from exc

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(hash_password, password, self.params)

    async def _verify(self, password: str, encoded: str) -> bool:
        async with self._hashing:
            return await asyncio.to_thread(verify_password, password, encoded)

    async def _dummy_check(self, password: str) -> None:
        """One scrypt computation with the service's parameters, as a real check costs, so an
        unknown name answers no faster than a wrong password. The first one makes the dummy hash
        (a hash of a random secret, which no password matches); later ones verify against it."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._hash(secrets.token_urlsafe(32))
        else:
            await self._verify(password, self._dummy_hash)
