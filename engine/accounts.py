"""Accounts as the engine sees them: plain records and the store interface the shell talks to.

The network shell registers and logs players in; the persistence layer keeps the accounts. Neither
may import the other, so they meet here: ``persist`` provides an :class:`AccountStore`, the server
hands it to ``net``. Store methods do I/O and must never be called on the tick path (the shell runs
them in a worker thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["ROLES", "Account", "AccountExists", "AccountStore"]

#: Roles in increasing power; the command registry checks a command's minimum role against them.
ROLES: tuple[str, ...] = ("player", "builder", "admin")


@dataclass(frozen=True, slots=True)
class Account:
    """A player account. ``name`` keeps the player's spelling; uniqueness ignores case."""

    name: str
    password_hash: str
    role: str
    created: datetime
    last_login: datetime | None = None
    character_sid: int | None = None


class AccountExists(ValueError):
    """The name is taken (ignoring case)."""


class AccountStore(Protocol):
    """Where accounts live. Every method may block on I/O: call it off the event loop."""

    def get(self, name: str) -> Account | None:
        """The account with this name, ignoring case, or None."""
        ...

    def create(self, account: Account) -> Account:
        """Store a new account. The first account ever created becomes an admin (the returned
        record says which role it got). Raises :class:`AccountExists` if the name is taken."""
        ...

    def update(self, account: Account) -> None:
        """Save changed fields (last login, character, role) of an existing account."""
        ...

    def set_character(self, name: str, character_sid: int) -> None:
        """Record the character the world made for account ``name``, changing nothing else (a
        role granted meanwhile stays)."""
        ...

    def count(self) -> int: ...
