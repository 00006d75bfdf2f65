"""Rescue: the way back from catatonia. ``ground <player>`` is a few seconds' patient effort by
someone in the same room, broken off by a fight or a step, that lifts a catatonic mind just
back into the world; a mind catatonic for long enough is carried to the start room. Efforts and
catatonia are due points in saved components, scheduled by due time; no I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Dead, Offline, Player
from components.combat import Fighting
from components.content import Directory
from components.mind import Catatonia, Grounding, Lucidity
from components.place import Location
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import component_timers
from engine.world import Additions, World
from systems import fights
from systems.common import bodies_in, capitalised, display_name
from systems.item_finding import handling_room
from systems.look import SELF_WORDS, seen_as, show_room
from systems.lucidity import Tier, set_lucidity, tier_now
from systems.targeting import find, matches, read_target
from systems.whereabouts import move, room_of

__all__ = ["GROUND_EVENT", "RescueSettings", "carry", "ground", "register", "rescue"]

#: The event type of everything about grounding (a ``msg`` with ``data.event`` "ground").
GROUND_EVENT = "ground"
#: The event type of a catatonic player carried to the start room.
CARRIED_EVENT = "carried"


@dataclass(frozen=True, slots=True)
class RescueSettings:
    """How a catatonic mind comes back (the ``[rescue]`` section)."""

    ground_s: float = setting_field(
        10.0,
        "How long 'ground' takes: the rescuer and the catatonic player stay in the room, out of"
        " any fight, for this long.",
        unit="s",
        gt=0,
    )
    grounded_to: int = setting_field(
        1, "The lucidity 'ground' lifts a catatonic player to (at the least).", ge=1, le=100
    )
    catatonia_rescue_s: float = setting_field(
        300.0,
        "How long a player stays catatonic, if nobody grounds them, before they are carried to"
        " the start room.",
        unit="s",
        gt=0,
    )
    carried_to: int = setting_field(
        10, "The lucidity of a catatonic player carried to the start room.", ge=1, le=100
    )


def rescue_settings(world: World) -> RescueSettings:
    return world.try_resource(RescueSettings) or RescueSettings()


@dataclass(slots=True)
class _Rescues:
    """The rule's state (a resource, transient): the feeds it reads. Minds whose lucidity
    changed (catatonia begins or ends), and bodies that moved or came into a fight (an effort
    breaks off)."""

    minds: Additions
    moves: Additions
    fights: Additions


def _rescues(world: World) -> _Rescues:
    found = world.try_resource(_Rescues)
    if found is None:
        world.add_index(Grounding, "patient")
        found = _Rescues(
            world.additions(Lucidity), world.additions(Location), world.additions(Fighting)
        )
        world.insert_resource(found)
        now = world.clock.seconds
        for body, _mind in world.query(Lucidity, without=(Catatonia,)):
            _follow_catatonia(world, body, now)
    return found


@system(phase="rules", every_s=0.0, after=("encounters", "hallucinate", "fight_rounds"))
def rescue(world: World, ctx: SystemContext) -> None:
    """Catatonia begins and ends with the mind's tier; efforts to ground someone break off when
    either of them moves or comes into a fight; those whose time has come bring their patient
    back; the catatonic whose time has come are carried to the start room."""
    state = _rescues(world)
    now = ctx.now_s
    for body in state.minds.drain():
        _follow_catatonia(world, body, now)
    for body in dict.fromkeys((*state.moves.drain(), *state.fights.drain())):
        _break_off(world, body)
    groundings = component_timers(world, Grounding, _done_at)
    for rescuer, effort in groundings.pop_due(world, now):
        _finish(world, rescuer, effort)
    catatonias = component_timers(world, Catatonia, _carry_at)
    for body, _catatonia in catatonias.pop_due(world, now):
        carry(world, body)


def _done_at(effort: Grounding) -> float:
    return effort.done_at_s


def _carry_at(catatonia: Catatonia) -> float:
    return catatonia.carry_at_s


def _follow_catatonia(world: World, body: int, now: float) -> None:
    """A mind catatonic now and not before starts its time; one no longer catatonic is out."""
    if not world.exists(body):
        return
    catatonic = tier_now(world, body) == Tier.CATATONIC
    if catatonic and not world.has(body, Catatonia):
        wait_s = rescue_settings(world).catatonia_rescue_s
        world.add(body, Catatonia(now, now + wait_s))
    elif not catatonic and world.has(body, Catatonia):
        world.remove(body, Catatonia)


# --------------------------------------------------------------------------------------------------
# ground


def ground(world: World, cmd: Command, args: Args) -> None:
    """``ground <player>``: start talking a catatonic player here back to the world; it takes
    ``ground_s``, and a step or a fight (either's) breaks it off."""
    actor = cmd.actor
    room = handling_room(world, actor)
    words = args.text("target")
    if words.casefold() in SELF_WORDS:
        raise Refused("ground_self", "You cannot ground yourself: someone else must reach you.")
    if fights.is_fighting(world, actor):
        raise Refused("fighting", "You cannot ground anyone in the middle of a fight.")
    target = read_target(words, "no_such_target")
    if target.every or (target.count is not None and target.count > 1):
        raise Refused("bad_target", "Ground one mind at a time.")
    found = find(world, bodies_in(world, room, exclude=actor), target)
    if not found and matches(world, actor, target.words):
        raise Refused("ground_self", "You cannot ground yourself: someone else must reach you.")
    if not found:
        text = f"You see no '{target.describe()}' here."
        raise Refused("no_such_target", text, target=target.describe())
    patient = found[0]
    name = capitalised(fights.fighter_name(world, patient))
    if not world.has(patient, Player) or tier_now(world, patient) != Tier.CATATONIC:
        raise Refused("not_catatonic", f"{name} is not catatonic: there is no one to bring back.")
    if fights.is_fighting(world, patient):
        raise Refused("fighting", f"{name} is in the middle of a fight.")
    effort = world.try_get(actor, Grounding)
    if effort is not None:
        busy = world.entity_of(effort.patient)
        busy_name = display_name(world, busy) if busy is not None else "someone"
        raise Refused("already_grounding", f"You are already grounding {busy_name}.")

    patient_sid = world.stable_id(patient)
    assert patient_sid is not None  # players are persistent
    settings = rescue_settings(world)
    world.add(actor, Grounding(patient_sid, world.clock.seconds + settings.ground_s))
    rescuer_name = display_name(world, actor)
    data = {
        "action": "start",
        "rescuer": world.stable_id(actor),
        "patient": patient_sid,
        "name": display_name(world, patient),
        "takes_s": settings.ground_s,
    }
    world.emit(
        GROUND_EVENT,
        Scope.entity(actor),
        f"You kneel beside {name} and begin to talk them back, slowly and steadily.",
        data,
    )
    world.emit(
        GROUND_EVENT,
        Scope.entity(patient),
        f"A voice reaches you through the fog: {rescuer_name} is talking you back.",
        data,
    )
    seen, _ = seen_as(world, room, actor)
    seen_patient, _ = seen_as(world, room, patient)
    world.emit(
        GROUND_EVENT,
        Scope.room(room),
        f"{capitalised(seen)} kneels beside {seen_patient}, speaking low and steady.",
        data,
        exclude=(actor, patient),
    )


def _break_off(world: World, body: int) -> None:
    """``body`` moved or came into a fight: its own effort to ground someone, and everyone's
    effort to ground it, break off."""
    efforts = []
    if world.has(body, Grounding):
        efforts.append(body)
    sid = world.stable_id(body)
    if sid is not None and world.try_resource(_Rescues) is not None:
        efforts.extend(world.lookup(Grounding, "patient", sid))
    for rescuer in dict.fromkeys(efforts):
        _interrupt(world, rescuer)


def _interrupt(world: World, rescuer: int) -> None:
    effort = world.remove(rescuer, Grounding)
    patient = world.entity_of(effort.patient)
    name = display_name(world, patient) if patient is not None else "them"
    data = {"action": "interrupted", "rescuer": world.stable_id(rescuer), "patient": effort.patient}
    world.emit(
        GROUND_EVENT,
        Scope.entity(rescuer),
        f"Your effort to ground {name} is broken off.",
        data,
    )


def _finish(world: World, rescuer: int, effort: Grounding) -> None:
    """An effort whose time has come: its patient, still here, still catatonic and out of any
    fight (and its rescuer too), is lifted back to ``grounded_to``."""
    patient = world.entity_of(effort.patient)
    room = room_of(world, rescuer)
    if (
        patient is None
        or room is None
        or room_of(world, patient) != room
        or world.has(rescuer, Offline)
        or world.has(patient, Offline)
        or fights.is_fighting(world, rescuer)
        or fights.is_fighting(world, patient)
    ):
        _interrupt(world, rescuer)
        return
    world.remove(rescuer, Grounding)
    name = display_name(world, patient)
    data = {"action": "done", "rescuer": world.stable_id(rescuer), "patient": effort.patient}
    if tier_now(world, patient) != Tier.CATATONIC:
        world.emit(
            GROUND_EVENT, Scope.entity(rescuer), f"{capitalised(name)} is back already.", data
        )
        return
    world.emit(
        GROUND_EVENT,
        Scope.entity(rescuer),
        f"{capitalised(name)}'s eyes find yours. They are back, for now.",
        data,
    )
    rescuer_name = display_name(world, rescuer)
    world.emit(
        GROUND_EVENT,
        Scope.entity(patient),
        f"{rescuer_name}'s voice pulls you back into the world.",
        data,
    )
    seen, _ = seen_as(world, room, patient)
    world.emit(
        GROUND_EVENT,
        Scope.room(room),
        f"{capitalised(seen)} blinks and stirs, back from wherever they were.",
        data,
        exclude=(rescuer, patient),
    )
    value = world.get(patient, Lucidity).value
    set_lucidity(world, patient, max(value, rescue_settings(world).grounded_to))


# --------------------------------------------------------------------------------------------------
# Carried away


def carry(world: World, body: int) -> None:
    """``body`` has been catatonic too long: out of any fight, it is carried to the start room
    and wakes there at ``carried_to``. One out of the world wakes there when it comes back; the
    dead wake there anyway."""
    world.discard(body, Catatonia)
    settings = rescue_settings(world)
    directory = world.resource(Directory)
    start = directory.rooms[directory.start_room]
    if world.has(body, Offline):
        start_sid = world.stable_id(start)
        assert start_sid is not None  # rooms are content entities
        world.add(body, Offline(start_sid))
    elif not world.has(body, Dead) and room_of(world, body) is not None:
        room = room_of(world, body)
        assert room is not None
        name = display_name(world, body)
        if fights.is_fighting(world, body):
            fights.leave(world, body, tell=True)
        seen, _ = seen_as(world, room, body)
        data = {"who": seen, "id": world.stable_id(body), "room": directory.start_room}
        world.emit(
            CARRIED_EVENT,
            Scope.room(room),
            f"Figures in white come for {seen}, and carry them away without a word.",
            data,
            exclude=(body,),
        )
        move(world, body, start)
        world.emit(
            CARRIED_EVENT,
            Scope.room(start),
            f"Figures in white carry {name} in and set them down, blinking.",
            {**data, "who": name},
            exclude=(body,),
        )
        world.emit(
            CARRIED_EVENT,
            Scope.entity(body),
            "Hands lift you and carry you somewhere quiet. Slowly, the world comes back.",
            {**data, "who": name},
        )
        show_room(world, body)
    value = world.get(body, Lucidity).value
    set_lucidity(world, body, max(value, settings.carried_to))


def register(kit: PluginKit) -> None:
    """Register ``ground`` and the rescue of catatonic minds."""
    kit.system(rescue)
    kit.command(
        CommandSpec(
            verb="ground",
            handler=ground,
            usage="<target...>",
            help=(
                "Talk a catatonic player here back to the world: it takes a few seconds, and a"
                " step or a fight (yours or theirs) breaks it off."
            ),
            category="lucidity",
        )
    )
