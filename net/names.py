"""Account names and passwords: what a new character may be called and protected with.

These are the game's rules for accounts, not the wire's: the protocol only bounds the size of the
fields (:mod:`net.protocol`), and the account service (:mod:`net.accounts`) applies these rules
at registration. Pure functions over ``str``: no I/O, no clock, no account store.
"""

from __future__ import annotations

import re
from typing import Final

from net.protocol import (
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    NAME_MAX_LETTERS,
    NAME_MIN_LETTERS,
    ProtocolError,
    quote_input,
)

__all__ = ["RESERVED_NAMES", "name_key", "validate_name", "validate_password"]

RESERVED_NAMES: Final = frozenset(
    {"all", "anyone", "everyone", "myself", "nobody", "self", "someone", "something"}
    | {"admin", "server", "system"}
)
"""Casefolded names no account may take: words the game reads as targets (``get all``, ``look
self``), the name a speaker has in the dark (``someone``), and names that would pass for staff."""

_NAME_RE = re.compile(r"[A-Za-z]+")


def validate_name(name: str) -> str:
    """Return ``name`` if it may name a new character; else ``ProtocolError("bad_name", why)``.

    A name is 3 to 20 letters A-Z or a-z: no digits, spaces, accents or punctuation, so that every
    player can type every other player's name. Words the game reads as targets and names that would
    pass for staff (``RESERVED_NAMES``) are refused, ignoring case. The spelling is kept as given;
    uniqueness ignores case (``name_key``).
    """
    rule = f"a name is {NAME_MIN_LETTERS} to {NAME_MAX_LETTERS} letters A-Z, nothing else"
    if not isinstance(name, str):
        raise ProtocolError("bad_name", f"{rule}; got {type(name).__name__}")
    if len(name) < NAME_MIN_LETTERS:
        raise ProtocolError("bad_name", f"{quote_input(name)} is too short: {rule}")
    if len(name) > NAME_MAX_LETTERS:
        raise ProtocolError(
            "bad_name", f"{quote_input(name)} has {len(name)} characters, too long: {rule}"
        )
    if not _NAME_RE.fullmatch(name):
        first = next(char for char in name if not ("a" <= char <= "z" or "A" <= char <= "Z"))
        raise ProtocolError(
            "bad_name", f"{quote_input(name)} contains {quote_input(first)}: {rule}"
        )
    if name_key(name) in RESERVED_NAMES:
        raise ProtocolError("bad_name", f"{quote_input(name)} is reserved; choose another name")
    return name


def validate_password(password: str, *, name: str | None = None) -> str:
    """Return ``password`` if it may protect a new account; else ``ProtocolError("bad_password")``.

    At least ``MIN_PASSWORD_CHARS`` characters and at most ``MAX_PASSWORD_CHARS``; with ``name``,
    not the name itself (ignoring case). Any characters are allowed, spaces included, and nothing
    is trimmed. The message never repeats the password.
    """
    if not isinstance(password, str):
        raise ProtocolError("bad_password", "a password is text")
    if len(password) < MIN_PASSWORD_CHARS:
        raise ProtocolError(
            "bad_password",
            f"a password needs at least {MIN_PASSWORD_CHARS} characters; that one has "
            f"{len(password)}",
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise ProtocolError(
            "bad_password", f"a password has at most {MAX_PASSWORD_CHARS} characters"
        )
    if name is not None and password.casefold() == name.casefold():
        raise ProtocolError("bad_password", "a password must not be the character's name")
    return password


def name_key(name: str) -> str:
    """The form of ``name`` that must be unique among accounts: ``Alice`` and ``ALICE`` clash."""
    return name.casefold()
