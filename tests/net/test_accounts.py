"""Passwords, the login throttle and the account service, each test named after the rule it checks.

The service runs against an in-memory store here (the SQL store is exercised in
``tests/persist/test_accounts.py``) and with cheap scrypt parameters: the production default is
checked once, for its cost and a round trip.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import random
import string
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import net.accounts
from engine.accounts import Account, AccountExists
from net.accounts import AccountService, AuthError, LoginThrottle
from net.passwords import (
    DEFAULT_PARAMS,
    MAX_VERIFY_MEMORY_BYTES,
    ScryptParams,
    hash_password,
    needs_rehash,
    params_of,
    verify_password,
)
from net.protocol import MAX_NAME_CHARS, MAX_PASSWORD_CHARS

#: Cheap parameters for tests only (the production default is never weakened).
CHEAP = ScryptParams(n=2**4, r=1, p=1)
CHEAPER_STILL_DIFFERENT = ScryptParams(n=2**5, r=1, p=1)
T0 = datetime(2024, 10, 31, 23, 0, tzinfo=UTC)

# --------------------------------------------------------------------------- passwords


def test_a_hash_verifies_with_its_password() -> None:
    encoded = hash_password("correct horse", CHEAP)
    assert verify_password("correct horse", encoded)


def test_a_hash_rejects_any_other_password() -> None:
    encoded = hash_password("correct horse", CHEAP)
    assert not verify_password("correct horsE", encoded)
    assert not verify_password("", encoded)
    assert not verify_password("correct horse ", encoded)


def test_equal_passwords_get_different_salts_and_hashes() -> None:
    first, second = hash_password("same", CHEAP), hash_password("same", CHEAP)
    assert first != second
    assert first.split("$")[4] != second.split("$")[4]


def test_a_hash_records_scheme_parameters_salt_and_key() -> None:
    params = ScryptParams(n=2**5, r=2, p=3, salt_bytes=24, key_bytes=40)
    scheme, n, r, p, salt, key = hash_password("pw", params).split("$")
    assert (scheme, n, r, p) == ("scrypt", "32", "2", "3")
    assert len(base64.b64decode(salt)) == 24
    assert len(base64.b64decode(key)) == 40
    assert params_of(hash_password("pw", params)) == params


def test_the_production_default_is_scrypt_n16384_r8_p1_taking_16_mib() -> None:
    assert (DEFAULT_PARAMS.n, DEFAULT_PARAMS.r, DEFAULT_PARAMS.p) == (2**14, 8, 1)
    assert (DEFAULT_PARAMS.salt_bytes, DEFAULT_PARAMS.key_bytes) == (16, 32)
    assert DEFAULT_PARAMS.memory_bytes == 128 * 8 * 2**14 == 16 * 2**20
    encoded = hash_password("a real password")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("a real password", encoded)
    assert not needs_rehash(encoded)


def test_a_hash_made_with_old_parameters_still_verifies() -> None:
    old = hash_password("pw", CHEAPER_STILL_DIFFERENT)
    assert needs_rehash(old, CHEAP)
    assert verify_password("pw", old)


def test_needs_rehash_when_any_parameter_differs_or_the_hash_is_malformed() -> None:
    encoded = hash_password("pw", CHEAP)
    assert not needs_rehash(encoded, CHEAP)
    assert needs_rehash(encoded)  # the production default
    assert needs_rehash(encoded, dataclasses.replace(CHEAP, r=2))
    assert needs_rehash(encoded, dataclasses.replace(CHEAP, p=2))
    assert needs_rehash(encoded, dataclasses.replace(CHEAP, salt_bytes=32))
    assert needs_rehash(encoded, dataclasses.replace(CHEAP, key_bytes=64))
    assert needs_rehash("not a hash", CHEAP)


def _valid_parts() -> list[str]:
    return hash_password("pw", CHEAP).split("$")


def _with(index: int, value: str) -> str:
    parts = _valid_parts()
    parts[index] = value
    return "$".join(parts)


MALFORMED: list[Any] = [
    "",
    "scrypt",
    "plain text password",
    _with(0, "bcrypt"),
    _with(1, "15"),  # n not a power of two
    _with(1, "1"),
    _with(1, "0"),
    _with(2, "0"),
    _with(3, "0"),
    _with(1, "-16"),
    _with(1, "+16"),
    _with(1, "١٦"),  # Arabic-Indic digits: int() would take them
    _with(1, "9" * 5000),
    _with(1, str(2**30)),  # far over the verification memory limit
    _with(3, str(2**20)),  # far over the verification work limit
    _with(4, "not base64!"),
    _with(4, base64.b64encode(b"short").decode()),  # a salt under 8 bytes
    _with(5, base64.b64encode(b"too short").decode()),  # a key under 16 bytes
    _with(5, "a"),  # bad base64 padding
    "$".join(_valid_parts()[:5]),  # a field missing
    "$".join([*_valid_parts(), "extra"]),
    hash_password("pw", CHEAP) + "\n",
    " " + hash_password("pw", CHEAP),
    None,
    b"scrypt$16$1$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA==",
]


@pytest.mark.parametrize("encoded", MALFORMED)
def test_a_malformed_or_out_of_limits_hash_never_matches_and_never_raises(encoded: Any) -> None:
    assert verify_password("pw", encoded) is False
    assert needs_rehash(encoded, CHEAP)
    assert params_of(encoded) is None


def test_verification_refuses_parameters_needing_more_than_the_memory_limit() -> None:
    n = 2**14
    r = MAX_VERIFY_MEMORY_BYTES // (128 * n) * 2  # twice the limit
    assert not verify_password("pw", _with(2, str(r)))


def test_passwords_are_compared_after_unicode_nfkc_normalisation() -> None:
    composed, decomposed = "caf\u00e9 au lait", "cafe\u0301 au lait"
    assert verify_password(decomposed, hash_password(composed, CHEAP))


def test_a_password_with_lone_surrogates_hashes_without_raising() -> None:
    encoded = hash_password("bad \ud800 surrogate", CHEAP)
    assert verify_password("bad \ud800 surrogate", encoded)
    assert not verify_password("bad \ud801 surrogate", encoded)


@pytest.mark.parametrize(
    "kwargs",
    [{"n": 15}, {"n": 1}, {"r": 0}, {"p": 0}, {"salt_bytes": 4}, {"key_bytes": 8}],
)
def test_nonsensical_scrypt_parameters_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ScryptParams(**kwargs)


# --------------------------------------------------------------------------- throttle


def test_five_failures_for_a_name_within_a_minute_throttle_that_name() -> None:
    throttle = LoginThrottle(name_failures=5, window_s=60.0)
    for i in range(4):
        throttle.record_failure("armitage", f"10.0.0.{i}", float(i))
    assert not throttle.is_throttled("armitage", "10.0.0.9", 4.0)
    throttle.record_failure("armitage", "10.0.0.4", 4.0)
    assert throttle.is_throttled("armitage", "10.0.0.9", 5.0)  # from any address
    assert not throttle.is_throttled("wilbur", "10.0.0.9", 5.0)


def test_five_failures_from_an_address_within_a_minute_throttle_that_address() -> None:
    throttle = LoginThrottle()
    for i, name in enumerate(["aa", "bb", "cc", "dd", "ee"]):
        throttle.record_failure(name, "10.6.6.6", float(i))
    assert throttle.is_throttled("wilbur", "10.6.6.6", 5.0)  # for any name
    assert throttle.is_throttled(None, "10.6.6.6", 5.0)
    assert not throttle.is_throttled("wilbur", "10.0.0.1", 5.0)


def test_the_window_slides_a_failure_counts_for_exactly_window_s() -> None:
    throttle = LoginThrottle(name_failures=5, window_s=60.0)
    for t in (0.0, 10.0, 20.0, 30.0, 40.0):
        throttle.record_failure("armitage", "a", t)
    assert throttle.is_throttled("armitage", "b", 40.0)
    assert throttle.is_throttled("armitage", "b", 59.999)
    assert not throttle.is_throttled("armitage", "b", 60.0)  # the failure at 0 has left
    assert throttle.name_failures("armitage", 60.0) == 4
    throttle.record_failure("armitage", "a", 61.0)
    assert throttle.is_throttled("armitage", "b", 61.0)  # 10, 20, 30, 40, 61
    assert not throttle.is_throttled("armitage", "b", 70.0)
    assert throttle.name_failures("armitage", 200.0) == 0


def test_a_success_clears_the_names_failures_but_not_the_addresss() -> None:
    throttle = LoginThrottle()
    for t in range(5):
        throttle.record_failure("armitage", "10.0.0.1", float(t))
    throttle.record_success("armitage", "10.0.0.1")
    assert throttle.name_failures("armitage", 5.0) == 0
    assert not throttle.is_throttled("armitage", "10.0.0.2", 5.0)
    assert throttle.is_throttled("armitage", "10.0.0.1", 5.0)  # the address still is


def test_a_failure_without_a_possible_name_counts_for_the_address_only() -> None:
    throttle = LoginThrottle()
    throttle.record_failure(None, "10.0.0.1", 0.0)
    assert throttle.tracked == (0, 1)
    assert throttle.address_failures("10.0.0.1", 0.0) == 1


def test_a_key_keeps_at_most_its_limits_number_of_timestamps() -> None:
    throttle = LoginThrottle(name_failures=5, address_failures=7)
    for t in range(1000):
        throttle.record_failure("armitage", "a", t / 1000)
    assert throttle.name_failures("armitage", 1.0) == 5
    assert throttle.address_failures("a", 1.0) == 7
    assert all(len(stamps) <= 5 for stamps in throttle._names.values())
    assert all(len(stamps) <= 7 for stamps in throttle._addresses.values())


def test_keys_whose_failures_have_all_expired_are_dropped() -> None:
    throttle = LoginThrottle(window_s=60.0)
    throttle.record_failure("aa", "10.0.0.1", 0.0)
    throttle.record_failure("bb", "10.0.0.2", 30.0)
    throttle.record_failure("cc", "10.0.0.3", 61.0)  # aa's only failure has expired
    assert throttle.tracked == (2, 2)
    throttle.prune(200.0)
    assert throttle.tracked == (0, 0)


def test_when_full_the_least_recently_failed_key_is_evicted() -> None:
    throttle = LoginThrottle(max_tracked=3)
    for t, name in enumerate(["aa", "bb", "cc"]):
        throttle.record_failure(name, "10.0.0.1", float(t))
    throttle.record_failure("aa", "10.0.0.1", 3.0)  # aa failed most recently now
    throttle.record_failure("dd", "10.0.0.1", 4.0)
    assert throttle.tracked == (3, 1)
    assert throttle.name_failures("bb", 4.0) == 0  # evicted
    assert throttle.name_failures("aa", 4.0) == 2
    assert throttle.name_failures("dd", 4.0) == 1


def test_a_flood_of_random_names_and_addresses_cannot_grow_memory_past_the_cap() -> None:
    throttle = LoginThrottle(max_tracked=1000)
    rng = random.Random(7)
    for i in range(50_000):
        name = "".join(rng.choices(string.ascii_lowercase, k=12))
        throttle.record_failure(name, f"10.{i % 251}.{i % 253}.{i % 241}", i / 1000)
    names, addresses = throttle.tracked
    assert names <= 1000
    assert addresses <= 1000


def test_the_throttle_refuses_nonsensical_limits() -> None:
    with pytest.raises(ValueError):
        LoginThrottle(name_failures=0)
    with pytest.raises(ValueError):
        LoginThrottle(address_failures=0)
    with pytest.raises(ValueError):
        LoginThrottle(window_s=0)
    with pytest.raises(ValueError):
        LoginThrottle(max_tracked=0)


# --------------------------------------------------------------------------- account service


class MemoryStore:
    """An in-memory :class:`engine.accounts.AccountStore`: the first account becomes an admin."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.lock = threading.Lock()
        self.threads: set[int] = set()
        self.fail: Exception | None = None
        self.race_on_create = False

    def _enter(self) -> None:
        self.threads.add(threading.get_ident())
        if self.fail is not None:
            raise self.fail

    def get(self, name: str) -> Account | None:
        self._enter()
        with self.lock:
            return self.accounts.get(name.casefold())

    def create(self, account: Account) -> Account:
        self._enter()
        with self.lock:
            if self.race_on_create or account.name.casefold() in self.accounts:
                raise AccountExists(account.name)
            if not self.accounts:
                account = dataclasses.replace(account, role="admin")
            self.accounts[account.name.casefold()] = account
            return account

    def update(self, account: Account) -> None:
        self._enter()
        with self.lock:
            assert account.name.casefold() in self.accounts
            self.accounts[account.name.casefold()] = account

    def set_character(self, name: str, character_sid: int) -> None:
        self._enter()
        with self.lock:
            key = name.casefold()
            self.accounts[key] = dataclasses.replace(
                self.accounts[key], character_sid=character_sid
            )

    def count(self) -> int:
        self._enter()
        return len(self.accounts)


def make_service(
    store: MemoryStore | None = None,
    *,
    params: ScryptParams = CHEAP,
    clock: Callable[[], datetime] = lambda: T0,
) -> tuple[AccountService, MemoryStore]:
    store = store if store is not None else MemoryStore()
    return AccountService(store, LoginThrottle(), params=params, clock=clock), store


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def auth_error(coro: Any) -> AuthError:
    with pytest.raises(AuthError) as caught:
        asyncio.run(coro)
    return caught.value


def test_register_creates_a_player_and_the_first_account_becomes_admin() -> None:
    service, store = make_service()
    first = run(service.register("Armitage", "necronomicon", "10.0.0.1"))
    second = run(service.register("Wilbur", "whateley!", "10.0.0.2"))
    assert (first.name, first.role, first.created) == ("Armitage", "admin", T0)
    assert (second.name, second.role) == ("Wilbur", "player")
    assert verify_password("necronomicon", store.accounts["armitage"].password_hash)
    assert params_of(store.accounts["armitage"].password_hash) == CHEAP


@pytest.mark.parametrize("name", ["Al", "A" * 21, "Armitage9", "Ann Marie", "Ärmitage", ""])
def test_register_refuses_a_name_that_is_not_3_to_20_letters(name: str) -> None:
    service, store = make_service()
    error = auth_error(service.register(name, "necronomicon", "10.0.0.1"))
    assert error.code == "bad_name"
    assert "3 to 20 letters" in error.message
    assert not store.accounts


@pytest.mark.parametrize("name", ["Someone", "ADMIN", "self"])
def test_register_refuses_a_reserved_name_as_the_protocol_rules_say(name: str) -> None:
    service, _ = make_service()
    assert auth_error(service.register(name, "necronomicon", "a")).code == "bad_name"


@pytest.mark.parametrize("password", ["", "1234567", "x" * (MAX_PASSWORD_CHARS + 1), "aRmItAgE"])
def test_register_refuses_a_short_long_or_name_equal_password(password: str) -> None:
    service, store = make_service()
    error = auth_error(service.register("Armitage", password, "a"))
    assert error.code == "bad_password"
    assert password not in error.message or password == ""
    assert not store.accounts


def test_register_refuses_a_name_taken_in_any_case() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    error = auth_error(service.register("armitage", "other password", "b"))
    assert error.code == "name_taken"
    assert "armitage" in error.message


def test_register_reports_a_name_taken_by_a_concurrent_registration_as_name_taken() -> None:
    service, store = make_service()
    store.race_on_create = True  # get() finds nothing, create() then finds the name taken
    assert auth_error(service.register("Armitage", "necronomicon", "a")).code == "name_taken"


def test_login_returns_the_account_with_last_login_updated() -> None:
    later = T0 + timedelta(hours=1)
    service, store = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    service.clock = lambda: later
    account = run(service.login("ARMITAGE", "necronomicon", "a", 0.0))
    assert (account.name, account.role, account.last_login) == ("Armitage", "admin", later)
    assert store.accounts["armitage"].last_login == later


def test_login_with_a_wrong_password_or_an_unknown_name_says_the_same_thing() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    wrong = auth_error(service.login("Armitage", "wrong password", "a", 0.0))
    unknown = auth_error(service.login("Nobody", "necronomicon", "a", 1.0))
    not_a_name = auth_error(service.login("No Body 9", "necronomicon", "a", 2.0))
    assert wrong.code == unknown.code == not_a_name.code == "bad_credentials"
    assert wrong.message == unknown.message == not_a_name.message


def test_login_applies_no_name_rules_so_an_account_made_under_older_rules_still_logs_in() -> None:
    service, store = make_service()
    encoded = hash_password("necronomicon", CHEAP)
    store.create(Account(name="Admin", password_hash=encoded, role="player", created=T0))
    assert run(service.login("admin", "necronomicon", "a", 0.0)).name == "Admin"


def test_a_login_name_over_the_protocol_limit_counts_against_the_address_only() -> None:
    service, store = make_service()
    error = auth_error(service.login("A" * (MAX_NAME_CHARS + 1), "necronomicon", "a", 0.0))
    assert error.code == "bad_credentials"
    assert not store.threads  # no lookup, no hash
    assert service.throttle.tracked == (0, 1)


def test_an_unknown_name_costs_one_scrypt_computation_like_a_wrong_password() -> None:
    service, _ = make_service()
    computations: list[tuple[str, ScryptParams | None]] = []

    def spy_hash(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
        computations.append(("hash", params))
        return hash_password(password, params)

    def spy_verify(password: str, encoded: str) -> bool:
        computations.append(("verify", params_of(encoded)))
        return verify_password(password, encoded)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(net.accounts, "hash_password", spy_hash)
        mp.setattr(net.accounts, "verify_password", spy_verify)
        for t in range(3):
            assert auth_error(service.login("Nobody", "necronomicon", f"{t}", 0.0)).code == (
                "bad_credentials"
            )
    assert computations == [("hash", CHEAP), ("verify", CHEAP), ("verify", CHEAP)]


def test_login_is_throttled_after_five_failures_for_a_name_even_with_the_right_password() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    for i in range(5):
        auth_error(service.login("Armitage", "wrong password", f"10.0.0.{i}", float(i)))
    error = auth_error(service.login("armitage", "necronomicon", "10.0.0.9", 5.0))
    assert error.code == "throttled"
    assert "wait" in error.message
    # Refused attempts are not failures: the window still ends a minute after the first ones.
    assert run(service.login("Armitage", "necronomicon", "10.0.0.9", 61.0)).name == "Armitage"


def test_login_is_throttled_after_five_failures_from_an_address_whatever_the_name() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    for i, name in enumerate(["Nobody", "Noone", "Nemo", "Nix", "Nil"]):
        auth_error(service.login(name, "guess guess", "10.6.6.6", float(i)))
    assert auth_error(service.login("Armitage", "necronomicon", "10.6.6.6", 5.0)).code == (
        "throttled"
    )
    assert run(service.login("Armitage", "necronomicon", "10.0.0.1", 5.0)).name == "Armitage"


def test_a_successful_login_clears_the_names_failures() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    for i in range(4):
        auth_error(service.login("Armitage", "wrong password", f"10.0.0.{i}", float(i)))
    run(service.login("Armitage", "necronomicon", "10.0.0.9", 4.0))
    assert service.throttle.name_failures("armitage", 4.0) == 0
    auth_error(service.login("Armitage", "wrong password", "10.0.0.8", 5.0))
    run(service.login("Armitage", "necronomicon", "10.0.0.9", 6.0))  # not throttled


def test_parallel_guesses_cannot_slip_past_the_throttle_before_results_are_in() -> None:
    service, _ = make_service()
    run(service.register("Armitage", "necronomicon", "a"))

    async def burst() -> list[BaseException | Account]:
        attempts = [service.login("Armitage", f"guess {i}", f"10.0.{i}.1", 0.0) for i in range(20)]
        return await asyncio.gather(*attempts, return_exceptions=True)

    results = run(burst())
    codes = [r.code for r in results if isinstance(r, AuthError)]
    assert len(codes) == 20
    assert codes.count("bad_credentials") == 5
    assert codes.count("throttled") == 15
    assert not service._in_flight  # nothing left behind


def test_the_name_and_address_limits_are_separate() -> None:
    throttle = LoginThrottle(name_failures=2, address_failures=4)
    throttle.record_failure("armitage", "10.0.0.1", 0.0)
    throttle.record_failure("armitage", "10.0.0.2", 1.0)
    assert throttle.is_throttled("armitage", "10.0.0.3", 2.0)  # the name's limit is 2
    assert not throttle.is_throttled("wilbur", "10.0.0.1", 2.0)
    for i, name in enumerate(["aa", "bb", "cc"]):
        throttle.record_failure(name, "10.6.6.6", 3.0 + i)
    assert not throttle.is_throttled("wilbur", "10.6.6.6", 6.0)  # 3 of 4
    throttle.record_failure("dd", "10.6.6.6", 6.0)
    assert throttle.is_throttled("wilbur", "10.6.6.6", 7.0)


def test_a_classroom_behind_one_address_logs_in_at_once_with_raised_limits() -> None:
    store = MemoryStore()
    throttle = LoginThrottle(address_failures=100)
    service = AccountService(
        store, throttle, params=CHEAP, clock=lambda: T0, max_in_flight_per_address=40
    )
    names = [f"Student{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(30)]
    for name in names:
        run(service.register(name, "necronomicon", "10.1.1.1"))

    async def everyone() -> list[BaseException | Account]:
        logins = [service.login(n, "necronomicon", "10.1.1.1", 0.0) for n in names]
        return await asyncio.gather(*logins, return_exceptions=True)

    assert [getattr(r, "name", r) for r in run(everyone())] == names
    # With the default limits the same burst is mostly refused.
    default, _ = make_service(store)

    async def again() -> list[BaseException | Account]:
        logins = [default.login(n, "necronomicon", "10.1.1.1", 0.0) for n in names]
        return await asyncio.gather(*logins, return_exceptions=True)

    results = run(again())
    assert sum(isinstance(r, Account) for r in results) == 5
    refused = [r for r in results if isinstance(r, AuthError)]
    assert {r.code for r in refused} == {"throttled"}
    assert "too many logins at once from your address" in refused[0].message


def test_logins_in_flight_per_address_are_capped_even_below_the_failure_limits() -> None:
    store = MemoryStore()
    service = AccountService(
        store,
        LoginThrottle(address_failures=100),
        params=CHEAP,
        clock=lambda: T0,
        max_in_flight_per_address=2,
    )
    for name in ("Armitage", "Carter", "Wilbur"):
        run(service.register(name, "necronomicon", "a"))

    async def burst() -> list[BaseException | Account]:
        logins = [
            service.login(n, "necronomicon", "10.0.0.1", 0.0)
            for n in ("Armitage", "Carter", "Wilbur")
        ]
        return await asyncio.gather(*logins, return_exceptions=True)

    results = run(burst())
    assert [type(r).__name__ for r in results] == ["Account", "Account", "AuthError"]
    assert not service._in_flight
    with pytest.raises(ValueError):
        AccountService(store, max_in_flight_per_address=0)


def test_registrations_count_against_the_logins_in_flight_from_an_address() -> None:
    """Each registration costs a memory-hard hash too: a burst from one address is capped."""
    store = MemoryStore()
    service = AccountService(store, params=CHEAP, clock=lambda: T0, max_in_flight_per_address=2)

    async def burst() -> list[BaseException | Account]:
        names = ("Armitage", "Carter", "Wilbur", "Lavinia")
        return await asyncio.gather(
            *(service.register(n, "necronomicon", "10.0.0.1") for n in names),
            return_exceptions=True,
        )

    results = run(burst())
    assert [type(r).__name__ for r in results] == ["Account", "Account", "AuthError", "AuthError"]
    assert {r.code for r in results if isinstance(r, AuthError)} == {"throttled"}
    assert not service._in_flight
    assert store.count() == 2
    run(service.register("Lavinia", "necronomicon", "10.0.0.1"))  # one at a time is fine


def test_a_hash_with_old_parameters_is_replaced_at_the_next_login() -> None:
    old_service, store = make_service(params=CHEAPER_STILL_DIFFERENT)
    run(old_service.register("Armitage", "necronomicon", "a"))
    service, _ = make_service(store, params=CHEAP)
    run(service.login("Armitage", "necronomicon", "a", 0.0))
    stored = store.accounts["armitage"].password_hash
    assert params_of(stored) == CHEAP
    assert verify_password("necronomicon", stored)


def test_an_overlong_password_at_login_is_refused_without_hashing() -> None:
    service, store = make_service()
    run(service.register("Armitage", "necronomicon", "a"))
    store.threads.clear()
    error = auth_error(service.login("Armitage", "x" * 10_000, "a", 0.0))
    assert error.code == "bad_credentials"
    assert not store.threads  # not even a store lookup
    assert service.throttle.address_failures("a", 0.0) == 1


def test_a_store_failure_is_unavailable_and_not_a_failed_login() -> None:
    service, store = make_service()
    store.fail = RuntimeError("database is down")
    assert auth_error(service.register("Armitage", "necronomicon", "a")).code == "unavailable"
    assert auth_error(service.login("Armitage", "necronomicon", "a", 0.0)).code == "unavailable"
    assert service.throttle.tracked == (0, 0)


def test_hashing_and_store_calls_never_run_on_the_event_loop_thread() -> None:
    service, store = make_service()
    hash_threads: set[int] = set()
    real_hash, real_verify = hash_password, verify_password

    def spy_hash(password: str, params: ScryptParams = DEFAULT_PARAMS) -> str:
        hash_threads.add(threading.get_ident())
        return real_hash(password, params)

    def spy_verify(password: str, encoded: str) -> bool:
        hash_threads.add(threading.get_ident())
        return real_verify(password, encoded)

    async def scenario() -> int:
        await service.register("Armitage", "necronomicon", "a")
        await service.login("Armitage", "necronomicon", "a", 0.0)
        with pytest.raises(AuthError):
            await service.login("Nobody", "necronomicon", "a", 0.0)
        return threading.get_ident()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(net.accounts, "hash_password", spy_hash)
        mp.setattr(net.accounts, "verify_password", spy_verify)
        loop_thread = run(scenario())
    assert hash_threads
    assert store.threads
    assert loop_thread not in hash_threads | store.threads
