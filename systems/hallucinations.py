"""Hallucinations: what a troubled mind sees that is not there. An uneasy mind (or worse) may see
something on entering a room; a fractured one is visited every so often, a deranged one more
often. What it sees is sent exactly like what it imitates: a figure that arrives and stands in
the room, a whisper, or something that attacks and can be fought (it is seen by that player
alone, does no real harm, and goes when struck down, when its player leaves, or in time). Rolls
come from the world's RNG in the tick; visits are scheduled by due time; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.body import Dead, Identity, LinkDead, Offline, Player, Vitals
from components.content import Directory, EncounterCategory
from components.mind import Lucidity, Phantom
from components.place import OPPOSITE, Location, Room, RoomFlag
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import TimerQueue, component_timers
from engine.world import Additions, World
from systems import fights
from systems.common import (
    bodies_in,
    capitalised,
    display_name,
    phantoms_of,
    seen_phantoms,
    the,
)
from systems.fights import is_fighting
from systems.look import is_dark, sorted_exits
from systems.lucidity import Tier, lucidity_settings, tier_of
from systems.movement import arrive_phrase, leave_phrase
from systems.phantoms import conjure, dispel
from systems.speech import whisper_texts
from systems.whereabouts import room_of

__all__ = [
    "APPARITIONS",
    "WHISPERS",
    "HallucinationSettings",
    "hallucinate",
    "register",
    "see_things",
]

#: The most phantoms that haunt one player at once; past it, a mind only hears whispers.
MAX_PHANTOMS = 3

FIGURE, WHISPER, ATTACKER = "figure", "whisper", "attacker"

#: Into how many parts the first interval is cut to spread the minds found at a start.
_SPREAD = 97


@dataclass(frozen=True, slots=True)
class HallucinationSettings:
    """When a troubled mind sees things, and what (the ``[hallucinations]`` section)."""

    entering_chance: float = setting_field(
        0.10,
        "Chance that an uneasy mind (or a worse one, not catatonic) sees something on entering a"
        " room.",
        ge=0,
        le=1,
    )
    fractured_every_s: float = setting_field(
        30.0, "Seconds between two chances of a fractured mind seeing something.", unit="s", gt=0
    )
    fractured_chance: float = setting_field(
        0.25, "Chance, every fractured_every_s, that a fractured mind sees something.", ge=0, le=1
    )
    deranged_every_s: float = setting_field(
        20.0, "Seconds between two chances of a deranged mind seeing something.", unit="s", gt=0
    )
    deranged_chance: float = setting_field(
        0.45, "Chance, every deranged_every_s, that a deranged mind sees something.", ge=0, le=1
    )
    figure_weight: float = setting_field(
        0.4, "How often what is seen is a figure that comes and stands in the room.", ge=0
    )
    whisper_weight: float = setting_field(
        0.3, "How often what is seen is a whisper (it is heard, rather).", ge=0
    )
    attacker_weight: float = setting_field(
        0.3,
        "How often what is seen attacks (where a fight may start, and the mind is not lucid"
        " enough to be only uneasy); otherwise a figure comes.",
        ge=0,
    )
    phantom_lasts_s: float = setting_field(
        60.0,
        "How long a phantom stays before it fades, if nothing dispels it first.",
        unit="s",
        gt=0,
    )
    phantom_dp: int = setting_field(
        6, "The damage points of a phantom: the blows it takes to strike it down.", ge=1
    )


def hallucination_settings(world: World) -> HallucinationSettings:
    return world.try_resource(HallucinationSettings) or HallucinationSettings()


#: The figures a mind conjures besides the world's own creatures: (name, keywords, description).
APPARITIONS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "a hooded figure",
        ("figure", "hooded"),
        "It stands very still. Under the hood there is only a deeper dark.",
    ),
    (
        "a drowned sailor",
        ("sailor", "drowned"),
        "Water runs from his sleeves and pools about his boots, though the floor stays dry.",
    ),
    (
        "a pale child",
        ("child", "pale"),
        "She watches you without blinking, and hums a tune you almost know.",
    ),
    (
        "a man with no face",
        ("man", "faceless"),
        "Where his face should be, the skin is smooth and unbroken.",
    ),
)

#: What the voices say.
WHISPERS: tuple[str, ...] = (
    "They know your name.",
    "Do not look behind you.",
    "It is under the floor. It has always been under the floor.",
    "You left the door open.",
    "We have been waiting for you.",
    "The stars are nearly right.",
    "Nobody else can hear us.",
)


@dataclass(slots=True)
class _Visions:
    """The rule's state (a resource, transient): the feeds it reads, and the troubled minds by
    the time of their next chance of a vision (rebuilt after a start)."""

    arrivals: Additions
    leavings: Additions
    deaths: Additions
    minds: Additions
    visits: TimerQueue[int] = field(default_factory=TimerQueue)


def _visions(world: World) -> _Visions:
    visions = world.try_resource(_Visions)
    if visions is None:
        visions = _Visions(
            world.additions(Location),
            world.additions(Offline),
            world.additions(Dead),
            world.additions(Lucidity),
        )
        world.insert_resource(visions)
        for player, _mind in world.query(Lucidity, without=(Offline, Dead)):
            _schedule(world, visions, player, world.clock.seconds, spread=True)
    return visions


def _every_s(tier: Tier | None, settings: HallucinationSettings) -> float | None:
    if tier == Tier.FRACTURED:
        return settings.fractured_every_s
    if tier == Tier.DERANGED:
        return settings.deranged_every_s
    return None


def _tier(world: World, player: int) -> Tier | None:
    mind = world.try_get(player, Lucidity)
    return None if mind is None else tier_of(mind.value, lucidity_settings(world))


def _schedule(
    world: World, visions: _Visions, player: int, now_s: float, *, spread: bool = False
) -> None:
    """A fractured or deranged mind's next chance of a vision comes one interval of its tier
    from now (unless one is due already); any other mind has none. ``spread`` (the minds found
    at a start): a share of the interval, by stable id, so that they do not all come together
    ever after."""
    every_s = _every_s(_tier(world, player), hallucination_settings(world))
    if every_s is None:
        visions.visits.cancel(player)
    elif player not in visions.visits:
        share = ((world.stable_id(player) or 0) % _SPREAD + 1) / _SPREAD if spread else 1.0
        visions.visits.schedule(player, now_s + every_s * share)


@system(phase="rules", every_s=0.0, after=("encounters", "fight_rounds"))
def hallucinate(world: World, ctx: SystemContext) -> None:
    """Phantoms whose player left their room, the world or life go; a troubled mind that enters
    a room may see something; those whose next chance of a vision has come roll for one; and
    phantoms whose time is up fade."""
    visions = _visions(world)
    now = ctx.now_s
    settings = hallucination_settings(world)
    for player in dict.fromkeys((*visions.leavings.drain(), *visions.deaths.drain())):
        visions.visits.cancel(player)
        for phantom in phantoms_of(world, player):
            dispel(world, phantom)
    for player in visions.minds.drain():
        if world.exists(player):
            _schedule(world, visions, player, now)
    for entity in visions.arrivals.drain():
        if world.has(entity, Player) and world.has(entity, Lucidity):
            _arrived(world, visions, settings, entity, now)
    for player in visions.visits.pop_due(now):
        tier = _tier(world, player)
        every_s = _every_s(tier, settings)
        if every_s is None or not _awake(world, player):
            continue
        chance = settings.fractured_chance if tier == Tier.FRACTURED else settings.deranged_chance
        if world.rng.random() < chance:
            see_things(world, player, now)
        visions.visits.schedule(player, now + every_s)
    for phantom, _phantom in component_timers(world, Phantom, _fades_at).pop_due(world, now):
        _fade(world, phantom)


def _fades_at(phantom: Phantom) -> float:
    return phantom.fades_at_s


def _awake(world: World, player: int) -> bool:
    """In the world, alive and on its feet, connected: someone who can see things."""
    if world.has(player, Offline) or world.has(player, Dead) or world.has(player, LinkDead):
        return False
    vitals = world.try_get(player, Vitals)
    return vitals is not None and vitals.dp > 0 and room_of(world, player) is not None


def _arrived(
    world: World, visions: _Visions, settings: HallucinationSettings, player: int, now: float
) -> None:
    """``player`` came into a room (or into the world): the phantoms it saw elsewhere stay
    behind and go; a troubled mind may see something here."""
    room = room_of(world, player)
    room_sid = world.stable_id(room) if room is not None else None
    for phantom in phantoms_of(world, player):
        if world.get(phantom, Phantom).room != room_sid:
            dispel(world, phantom)
    if room is None or world.has(player, Offline):
        return
    _schedule(world, visions, player, now)
    tier = _tier(world, player)
    if tier in (None, Tier.LUCID, Tier.CATATONIC) or not _awake(world, player):
        return
    if world.rng.random() < settings.entering_chance:
        see_things(world, player, now)


# --------------------------------------------------------------------------------------------------
# Visions


def see_things(world: World, player: int, now: float) -> None:
    """``player`` sees (or hears) something that is not there: a figure, a whisper or an
    attacker, drawn by their weights; in the dark (or for a mind haunted by ``MAX_PHANTOMS``
    already) only a whisper; where no fight can start, or for a mind only uneasy, a figure
    instead of an attacker."""
    room = room_of(world, player)
    if room is None:
        return
    settings = hallucination_settings(world)
    rng = world.rng
    weights = (settings.figure_weight, settings.whisper_weight, settings.attacker_weight)
    roll = rng.random() * sum(weights)
    kind = FIGURE if roll < weights[0] else WHISPER if roll < weights[0] + weights[1] else ATTACKER
    if is_dark(world, room) or len(phantoms_of(world, player)) >= MAX_PHANTOMS:
        kind = WHISPER
    elif kind == ATTACKER and not _may_attack(world, player, room):
        kind = FIGURE
    if kind == WHISPER:
        _whisper(world, player, room)
        return
    name, keywords, description = _apparition(world)
    phantom = conjure(
        world,
        player,
        room,
        Identity(name, keywords, description),
        settings.phantom_dp,
        now + settings.phantom_lasts_s,
        kind,
    )
    _tell_arrival(world, player, room, phantom)
    if kind == ATTACKER:
        fights.join(world, phantom, player, now)
        data = {
            "kind": "engage",
            "attacker": world.stable_id(phantom),
            "attacker_name": name,
            "defender": world.stable_id(player),
            "defender_name": display_name(world, player),
        }
        text = f"{capitalised(the(name))} attacks you!"
        fights.emit_combat(world, room, data, [(player, text)], "")


def _may_attack(world: World, player: int, room: int) -> bool:
    """Phantoms attack only fractured and deranged minds, where a fight may start."""
    if world.get(room, Room).has_flag(RoomFlag.NO_COMBAT):
        return False
    return _tier(world, player) in (Tier.FRACTURED, Tier.DERANGED)


def _apparition(world: World) -> tuple[str, tuple[str, ...], str]:
    """What a phantom looks like: one of the apparitions, or one of the world's own creatures
    that are worse than mundane (so that it cannot be told from the real thing)."""
    directory = world.try_resource(Directory)
    creatures = (
        [
            (t.name, t.keywords, t.description)
            for _key, t in sorted(directory.npcs.items())
            if t.category != EncounterCategory.MUNDANE
        ]
        if directory is not None
        else []
    )
    return world.rng.choice([*APPARITIONS, *creatures])


def _tell_arrival(world: World, player: int, room: int, phantom: int) -> None:
    """The phantom comes in, told to its player as anyone's arrival is, through an exit."""
    exits = sorted_exits(world.get(room, Room))
    name = display_name(world, phantom)
    if not exits:
        text = f"{capitalised(name)} is standing there, as if it had always been."
        world.emit("arrive", Scope.entity(player), text, {"who": name, "id": None, "from": None})
        return
    way_in = world.rng.choice(exits).direction
    moved = OPPOSITE.get(way_in, way_in)
    world.emit(
        "arrive",
        Scope.entity(player),
        f"{capitalised(name)} arrives {arrive_phrase(moved)}.",
        {"who": name, "id": world.stable_id(phantom), "from": way_in},
    )


def _whisper(world: World, player: int, room: int) -> None:
    """A voice at ``player``'s ear, from someone here (real or not) or, with nobody, from
    someone unseen: a whisper as any other is told."""
    rng = world.rng
    here = (
        []
        if is_dark(world, room)
        else [
            *bodies_in(world, room, exclude=player),
            *seen_phantoms(world, player, room),
        ]
    )
    speaker = rng.choice(here) if here else None
    name = display_name(world, speaker) if speaker is not None else "someone"
    sid = world.stable_id(speaker) if speaker is not None else None
    message = rng.choice(WHISPERS)
    listener = display_name(world, player)
    _, heard, _ = whisper_texts(name, listener, message)
    data = {
        "from": name,
        "from_id": sid,
        "to": listener,
        "to_id": world.stable_id(player),
        "text": message,
    }
    world.emit("whisper", Scope.entity(player), heard, data)


def _fade(world: World, phantom: int) -> None:
    """A phantom's time is up: one in a fight is simply gone (the fight is over); another
    leaves, as anyone leaves, through an exit."""
    haunted = world.get(phantom, Phantom)
    player = world.entity_of(haunted.haunts)
    name = display_name(world, phantom)
    if player is None:
        dispel(world, phantom)
        return
    if is_fighting(world, phantom):
        dispel(world, phantom, f"{capitalised(the(name))} is simply gone, as if it had never been.")
        return
    room = world.entity_of(haunted.room)
    exits = sorted_exits(world.get(room, Room)) if room is not None else []
    if exits and room == room_of(world, player):
        way = world.rng.choice(exits).direction
        world.emit(
            "leave",
            Scope.entity(player),
            f"{capitalised(name)} leaves {leave_phrase(way)}.",
            {"who": name, "id": world.stable_id(phantom), "direction": way},
        )
    dispel(world, phantom)


def register(kit: PluginKit) -> None:
    """Register the visions of troubled minds."""
    kit.system(hallucinate)
