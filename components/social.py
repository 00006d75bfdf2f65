"""Social standing: what staff impose on a character. Plain data only."""

from __future__ import annotations

from dataclasses import dataclass

from engine.component import Component, persistent


@persistent("muted")
@dataclass(frozen=True, slots=True)
class Muted(Component):
    """The character cannot speak to others until ``until_s`` (simulated seconds), by ``by``."""

    until_s: float
    by: str = ""
