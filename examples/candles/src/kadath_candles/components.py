"""The candle a character carries: how long it has left to burn, and whether it is lit.

Plain data only. It is persistent, so a candle half burnt when the server stops is half burnt when
it starts again; the engine saves every field write, nobody calls a save function.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import Component, persistent

__all__ = ["Candle"]


@persistent("candles_candle", version=1)
@dataclass(slots=True)
class Candle(Component):
    """A candle, carried by the entity it is attached to (one per bearer).

    The component sits on the character who carries the candle rather than on an entity of its
    own: the commands find "your candle" with one look-up, and no component has to point at another
    entity (a reference that a persistent component would have to store as a stable id).

    ``burn_left_s`` is simulated seconds of flame left; 0 means burnt down, and it never lights
    again. The stable name ``candles_candle`` is what the database knows this type by: never
    change it once a world has been saved.
    """

    burn_left_s: float
    lit: bool = False
