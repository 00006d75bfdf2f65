"""The account-name rules, without a network or a store: what a new character may be called, what
password may protect it, and which names clash.

Each test is named after the rule it checks; ``net.names`` is driven with plain strings.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net.names import RESERVED_NAMES, name_key, validate_name, validate_password
from net.protocol import AUTH_ERROR_CODES, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, ProtocolError


@pytest.mark.parametrize("name", ["Armitage", "Bob", "A" * 20, "wilmarth", "CARTER"])
def test_a_name_of_three_to_twenty_letters_is_returned_as_given(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Al", "too short"),
        ("", "too short"),
        ("A" * 21, "too long"),
        ("Armitage2", "contains '2'"),
        ("Herbert West", "contains ' '"),
        ("Zoë", "contains 'ë'"),
        ("O'Bannion", 'contains "\'"'),
        ("\u0391lice", "contains '\u0391'"),  # a Greek capital alpha that looks like A
        ("Carter\n", "contains '\\n'"),
    ],
)
def test_a_name_that_breaks_the_rule_is_a_bad_name_saying_why(name: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_name(name)
    assert caught.value.code == "bad_name"
    assert reason in caught.value.message
    assert "3 to 20 letters" in caught.value.message or "reserved" in caught.value.message


@pytest.mark.parametrize("name", ["Someone", "SELF", "all", "Admin", "Nobody"])
def test_a_reserved_name_is_a_bad_name_whatever_its_case(name: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_name(name)
    assert (caught.value.code, "reserved" in caught.value.message) == ("bad_name", True)


def test_reserved_names_are_stored_casefolded_and_would_otherwise_be_valid() -> None:
    for name in RESERVED_NAMES:
        assert name == name_key(name)
        assert re.fullmatch(r"[a-z]{3,20}", name)


def test_a_name_that_is_not_text_is_a_bad_name() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_name(42)  # type: ignore[arg-type]
    assert caught.value.code == "bad_name"


def test_names_are_unique_ignoring_case() -> None:
    assert name_key("Armitage") == name_key("ARMITAGE") == name_key("armitage")
    assert name_key("Armitage") != name_key("Carter")


@pytest.mark.parametrize("password", ["12345678", "correct horse battery", "        ", "ÿ" * 8])
def test_a_password_of_at_least_eight_characters_is_returned_unchanged(password: str) -> None:
    assert validate_password(password) == password


def test_a_short_password_is_a_bad_password_saying_how_long_it_must_be() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_password("hunter2")
    assert caught.value.code == "bad_password"
    assert f"at least {MIN_PASSWORD_CHARS}" in caught.value.message
    assert "hunter2" not in caught.value.message


def test_an_over_long_password_is_a_bad_password() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_password("p" * (MAX_PASSWORD_CHARS + 1))
    assert caught.value.code == "bad_password"


def test_a_password_equal_to_the_name_is_a_bad_password() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_password("armitagE", name="Armitage")
    assert caught.value.code == "bad_password"
    assert validate_password("armitage1", name="Armitage") == "armitage1"


def test_a_password_that_is_not_text_is_a_bad_password() -> None:
    with pytest.raises(ProtocolError) as caught:
        validate_password(None)  # type: ignore[arg-type]
    assert caught.value.code == "bad_password"


def test_name_and_password_codes_are_auth_error_codes() -> None:
    assert {"bad_name", "bad_password"} <= AUTH_ERROR_CODES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_fuzz_name_rules_raise_only_protocol_error(name: str) -> None:
    for check in (validate_name, validate_password):
        try:
            assert check(name) == name
        except ProtocolError as error:
            assert error.code in AUTH_ERROR_CODES
