"""Phantoms: the hallucinations that have a body. A phantom is a transient, referable entity held
in the mind of the one player who sees it (its ``Location`` is that player, in the phantom slot),
so nobody else finds it in the room; it is seen there, looked at and fought by that player alone
(``systems.common`` finds them), and a blow that strikes it down dispels it. Nothing here is
saved, rolls dice or does I/O."""

from __future__ import annotations

from components.body import Identity, Vitals
from components.mind import Phantom
from components.place import Location
from engine.events import Scope
from engine.world import World
from systems import fights
from systems.common import PHANTOM_SLOT, capitalised, the

__all__ = ["DISPEL_EVENT", "conjure", "dispel", "wound_phantom"]

#: The event type of a phantom that goes (a ``msg`` with ``data.event`` "dispel").
DISPEL_EVENT = "dispel"


def conjure(
    world: World,
    player: int,
    room: int,
    identity: Identity,
    dp: int,
    fades_at_s: float,
    kind: str,
) -> int:
    """A phantom of ``identity`` haunting ``player`` in ``room``, with ``dp`` damage points,
    until ``fades_at_s``."""
    player_sid, room_sid = world.stable_id(player), world.stable_id(room)
    assert player_sid is not None and room_sid is not None  # players and rooms are persistent
    return world.spawn(
        identity,
        Vitals(dp, dp),
        Phantom(player_sid, room_sid, fades_at_s, kind),
        Location(player_sid, PHANTOM_SLOT),
        referable=True,
    )


def wound_phantom(world: World, phantom: int, damage: int) -> bool:
    """A blow of ``damage`` lands on ``phantom``: it loses damage points, and at 0 it is struck
    down and dispelled (its player told). True if it went."""
    vitals = world.get(phantom, Vitals)
    vitals.dp -= damage
    if vitals.dp > 0:
        return False
    name = capitalised(the(world.get(phantom, Identity).name))
    dispel(world, phantom, f"{name} comes apart like smoke at your blow: there was nothing there.")
    return True


def dispel(world: World, phantom: int, text: str = "") -> None:
    """The phantom goes: out of any fight (its foe told the fight is over), and ``text`` (if
    any) told to the player it haunted."""
    haunted = world.try_get(phantom, Phantom)
    player = world.entity_of(haunted.haunts) if haunted is not None else None
    if player is not None and text:
        data = {"id": world.stable_id(phantom), "name": world.get(phantom, Identity).name}
        world.emit(DISPEL_EVENT, Scope.entity(player), text, data)
    fights.leave(world, phantom)
    world.destroy(phantom)
