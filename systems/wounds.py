"""Wounds: what damage does to a body, the one way it is dealt (blows and bleeding alike): at 0 dp
or less it falls, out of its fight, helpless and bleeding; at the death threshold it dies.
No I/O, no randomness."""

from __future__ import annotations

from components.body import Bleeding, Player, Posture, PostureState, Vitals
from engine.world import World
from systems import fights
from systems.common import capitalised, display_name
from systems.death import death_settings, die
from systems.whereabouts import room_of

__all__ = ["ALIVE", "DIED", "FELL", "hurt"]

#: What a wound did: the body is still standing, fell mortally wounded, or died.
ALIVE, FELL, DIED = "alive", "fell", "died"

FALL_TEXT = (
    "You collapse, mortally wounded. You will bleed to death unless someone aids you"
    " ('aid <name>')."
)


def hurt(world: World, body: int, damage: int) -> str:
    """Take ``damage`` damage points from ``body`` and apply what follows: ``ALIVE``, ``FELL``
    (mortally wounded by this wound) or ``DIED`` (then an NPC is gone from the world)."""
    vitals = world.get(body, Vitals)
    before = vitals.dp
    vitals.dp -= damage
    settings = death_settings(world)
    if vitals.dp <= settings.dead_at_dp:
        die(world, body)
        return DIED
    if vitals.dp > 0:
        return ALIVE
    if not world.has(body, Bleeding):
        world.add(body, Bleeding(world.clock.seconds + settings.bleed_interval_s))
    if before > 0:
        fall(world, body)
        return FELL
    return ALIVE


def fall(world: World, body: int) -> None:
    """A body just mortally wounded: it falls down, out of its fight (those attacking it turn on
    others, or stop), and everyone sees it."""
    posture = world.try_get(body, Posture)
    if posture is None:
        posture = Posture()
        world.add(body, posture)
    posture.state, posture.resting = PostureState.LYING, False
    room = room_of(world, body)
    name = capitalised(fights.fighter_name(world, body))
    fights.leave(world, body, why=f"{name} is down.")
    data = {
        "kind": "mortally_wounded",
        "id": world.stable_id(body),
        "name": display_name(world, body),
    }
    told = [(body, FALL_TEXT)] if world.has(body, Player) else []
    fights.emit_combat(world, room, data, told, f"{name} collapses, mortally wounded.")
