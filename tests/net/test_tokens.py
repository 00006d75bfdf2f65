"""Signed resume tokens: a token vouches for one account until it expires, under one secret;
anything else (another secret, a changed byte, an expired or malformed token) vouches for nobody."""

from __future__ import annotations

import pytest

from net.protocol import MAX_TOKEN_CHARS
from net.tokens import check, mint

SECRET = b"s" * 32
OTHER_SECRET = b"o" * 32
NOW = 1_700_000_000.0


def test_a_minted_token_names_its_account_until_it_expires() -> None:
    token = mint(SECRET, "Armitage", NOW, 60.0)
    assert check(SECRET, token, NOW) == "Armitage"
    assert check(SECRET, token, NOW + 59.9) == "Armitage"
    assert check(SECRET, token, NOW + 60.0) is None


def test_a_token_is_url_safe_and_fits_the_protocol() -> None:
    token = mint(SECRET, "A" * 64, NOW, 86400.0)
    assert len(token) <= MAX_TOKEN_CHARS
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_a_token_signed_with_another_secret_is_rejected() -> None:
    assert check(SECRET, mint(OTHER_SECRET, "Armitage", NOW, 60.0), NOW) is None


def test_a_token_whose_account_or_expiry_was_changed_is_rejected() -> None:
    token = mint(SECRET, "Armitage", NOW, 60.0)
    body, mac = token.split(".")
    longer = mint(SECRET, "Armitage", NOW, 6000.0).split(".")[0]
    other = mint(SECRET, "Wilbur", NOW, 60.0).split(".")[0]
    assert check(SECRET, f"{longer}.{mac}", NOW) is None
    assert check(SECRET, f"{other}.{mac}", NOW) is None
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    assert check(SECRET, f"{body}.{flipped}", NOW) is None


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "a.b.c", "!!!.???", "é.é", "a" * 300, "Zm9v.", ".Zm9v", "Zm9v.Zm9v="],
)
def test_a_malformed_token_is_rejected_without_an_error(token: str) -> None:
    assert check(SECRET, token, NOW) is None


def test_minting_refuses_a_short_secret_an_empty_name_or_no_lifetime() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        mint(b"short", "Armitage", NOW, 60.0)
    with pytest.raises(ValueError, match="empty"):
        mint(SECRET, "", NOW, 60.0)
    with pytest.raises(ValueError, match="positive"):
        mint(SECRET, "Armitage", NOW, 0.0)
