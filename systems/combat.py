"""Combat: every fight's rounds (each fighter once a round, by initiative) and ``attack``, ``flee``
and ``consider``. Rounds are scheduled by due time and every roll comes from the world's seeded
RNG in a fixed order, so a fight replays exactly; never any I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from components.body import Dead, Npc, Player, Posture, PostureState, Vitals
from components.combat import Fighting, Threat
from components.content import Directory, NpcTemplate
from components.items import Corpse, Item
from components.mind import Lucidity
from components.place import Location, Room, RoomFlag
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems import fights
from systems.characteristics import characteristics_of
from systems.common import (
    View,
    bodies_in,
    capitalised,
    check_able,
    display_name,
    is_phantom,
    items_in,
    seen_by,
    seen_phantoms,
    strip_article,
    the,
    worn_items,
)
from systems.dice import Dice, DiceError, parse_dice
from systems.fights import Fight, Fights, Flee, SwitchTarget, fighter_name
from systems.item_finding import handling_room
from systems.look import SELF_WORDS, SOMEONE, is_dark
from systems.lucidity import lucidity_settings
from systems.madness import panic
from systems.movement import open_ways, walk
from systems.phantoms import wound_phantom
from systems.targeting import Target, find, matches, read_target
from systems.whereabouts import contents, room_of
from systems.wounds import hurt

__all__ = [
    "CombatSettings",
    "arms_of",
    "attack",
    "consider",
    "fight_rounds",
    "flee",
    "flee_chance",
    "hit_chance",
    "register",
    "strength_bonus",
]

#: The slot a weapon is wielded in.
MAIN_HAND = "main_hand"

#: The ``help`` category of the commands of fighting, dying and aiding.
COMBAT_CATEGORY = "combat"


def _dice(text: str) -> str | None:
    try:
        parse_dice(text)
    except DiceError as bad:
        return str(bad)
    return None


@dataclass(frozen=True, slots=True)
class CombatSettings:
    """The numbers of a fight (the ``[combat]`` section). Percentages are of 100."""

    combat_round_s: float = setting_field(
        3.0,
        "Seconds between two rounds of a fight; everyone in it acts once a round.",
        unit="s",
        gt=0,
    )
    unarmed_damage: str = setting_field(
        "1d3",
        "Dice of a blow with bare hands, and of a weapon or NPC template that gives none.",
        check=_dice,
    )
    initiative_die: int = setting_field(
        10,
        "Each round, each fighter's initiative is DEX + 1dN of this N; the highest acts first.",
        ge=1,
    )
    hit_chance_base: int = setting_field(
        50, "Chance to hit between equals (same DEX).", unit="%", ge=0, le=100
    )
    hit_chance_dex_divisor: int = setting_field(
        2,
        "The DEX difference (attacker's minus defender's) is divided by this and added to"
        " the chance to hit.",
        ge=1,
    )
    hit_chance_min: int = setting_field(
        5, "The chance to hit is never less than this.", unit="%", ge=0, le=100
    )
    hit_chance_max: int = setting_field(
        95, "The chance to hit is never more than this.", unit="%", ge=0, le=100
    )
    strength_bonus_from: int = setting_field(50, "STR above which a blow does extra damage.", ge=0)
    strength_bonus_step: int = setting_field(
        20, "Each whole this many STR above strength_bonus_from adds 1 damage to a blow.", ge=1
    )
    minimum_damage: int = setting_field(
        1, "A blow that lands does at least this much, whatever the armour.", ge=0
    )
    threat_switch_margin: float = setting_field(
        0.10,
        "An NPC turns on a rival only when it holds more threat against the rival than against"
        " its target by more than this share (0.10: 10 %).",
        ge=0,
    )
    flee_chance_base: float = setting_field(
        0.5, "Chance to get away, before exits and opponents count.", ge=0, le=1
    )
    flee_chance_per_exit: float = setting_field(
        0.1, "Added to the chance to flee for each open exit.", ge=0, le=1
    )
    flee_chance_per_opponent: float = setting_field(
        0.1, "Taken from the chance to flee for each opponent attacking the fleer.", ge=0, le=1
    )
    flee_chance_min: float = setting_field(
        0.1, "The chance to flee is never less than this (with an open exit).", ge=0, le=1
    )
    flee_chance_max: float = setting_field(
        0.95, "The chance to flee is never more than this.", ge=0, le=1
    )


def combat_settings(world: World) -> CombatSettings:
    return world.try_resource(CombatSettings) or CombatSettings()


# --------------------------------------------------------------------------------------------------
# The rules of a blow: pure functions of numbers


def hit_chance(attacker_dex: int, defender_dex: int, settings: CombatSettings) -> int:
    """Percent chance to hit: ``clamp(50 + (DEX_att - DEX_def) / 2, 5, 95)``."""
    raw = settings.hit_chance_base + (attacker_dex - defender_dex) / settings.hit_chance_dex_divisor
    return int(min(settings.hit_chance_max, max(settings.hit_chance_min, raw)))


def strength_bonus(strength: int, settings: CombatSettings) -> int:
    """Extra damage of a strong arm: ``max(0, (STR - 50) // 20)``."""
    return max(0, (strength - settings.strength_bonus_from) // settings.strength_bonus_step)


def flee_chance(open_exits: int, opponents: int, settings: CombatSettings) -> float:
    """``clamp(0.5 + 0.1 * open_exits - 0.1 * opponents, 0.1, 0.95)``."""
    raw = (
        settings.flee_chance_base
        + settings.flee_chance_per_exit * open_exits
        - settings.flee_chance_per_opponent * opponents
    )
    return min(settings.flee_chance_max, max(settings.flee_chance_min, raw))


# --------------------------------------------------------------------------------------------------
# Weapons and armour


def _npc_template(world: World, body: int) -> NpcTemplate | None:
    npc = world.try_get(body, Npc)
    if npc is None:
        return None
    return world.resource(Directory).npcs.get(npc.template)


# --------------------------------------------------------------------------------------------------
# A round


@system(phase="rules", every_s=0.0)
def fight_rounds(world: World, ctx: SystemContext) -> None:
    """Every fight whose round has come plays it: each fighter acts once, in initiative order
    (DEX + 1d10, ties by stable id), then the next round is due ``combat_round_s`` later."""
    state = fights.fights_of(world)
    due = state.rounds.pop_due(ctx.now_s)
    if not due:
        return
    settings = combat_settings(world)
    for fight_id in due:
        fight = state.by_id.get(fight_id)
        if fight is None:
            continue
        _play_round(world, state, fight, settings)
        if state.by_id.get(fight_id) is fight:
            fight.next_round_s += settings.combat_round_s
            state.rounds.schedule(fight_id, max(fight.next_round_s, ctx.now_s))


@dataclass(slots=True)
class _Sheet:
    """A fighter as one round sees it, looked up once and read by every blow it gives or takes:
    its name, its side of the rules (DEX, strength bonus, the dice of its blows, its armour)."""

    entity: int
    sid: int
    vitals: Vitals
    name: str  # as everyone reads it: "a horror", "Armitage" ("someone" in the dark)
    called: str  # as a sentence calls it after a verb: "the horror", "Armitage", "someone"
    player: bool
    npc: bool
    phantom: bool  # a hallucination: seen by one player only, and its blows do no harm
    frozen: bool  # a catatonic mind: its body does not act
    deranged: bool  # a deranged mind: a big hit may make it flee in panic
    dexterity: int
    bonus: int
    dice: Dice
    weapon: str | None  # the wielded weapon's name, if any
    armour: int


def _sheet(world: World, entity: int, settings: CombatSettings, dark: bool) -> _Sheet:
    characteristics = characteristics_of(world, entity)
    weapon, dice, armour = arms_of(world, entity, settings)
    name = display_name(world, entity)
    player = world.try_get(entity, Player) is not None
    npc = not player and world.try_get(entity, Npc) is not None
    mind = world.try_get(entity, Lucidity) if player else None
    minds = lucidity_settings(world) if mind is not None else None
    return _Sheet(
        entity=entity,
        sid=world.stable_id(entity) or 0,
        vitals=world.get(entity, Vitals),
        name=SOMEONE if dark else name,
        called=SOMEONE if dark else (name if player else the(name)),
        player=player,
        npc=npc,
        phantom=not player and not npc and is_phantom(world, entity),
        frozen=minds is not None and mind is not None and mind.value < minds.deranged_from,
        deranged=minds is not None
        and mind is not None
        and minds.deranged_from <= mind.value < minds.fractured_from,
        dexterity=characteristics.dexterity,
        bonus=strength_bonus(characteristics.strength, settings),
        dice=dice,
        weapon=weapon,
        armour=armour,
    )


def arms_of(world: World, body: int, settings: CombatSettings) -> tuple[str | None, Dice, int]:
    """How ``body`` fights, in one look at what it holds: the name of the weapon it wields (if
    any), the dice of its blows (the weapon's; else an NPC's own; else bare hands') and its
    armour (everything it wears, and an NPC's own hide)."""
    templates = world.resource(Directory).items
    weapon: str | None = None
    dice: Dice | None = None
    armour = 0
    for item in contents(world, body):
        slot = world.get(item, Location).slot
        if not slot:
            continue
        thing = world.try_get(item, Item)
        template = templates.get(thing.template) if thing is not None else None
        if template is None:
            continue
        armour += template.armour
        if slot == MAIN_HAND and template.damage and dice is None:
            weapon, dice = display_name(world, item), parse_dice(template.damage)
    npc = _npc_template(world, body)
    if npc is not None:
        armour += npc.armour
        if dice is None and npc.damage:
            dice = parse_dice(npc.damage)
    return weapon, dice or parse_dice(settings.unarmed_damage), armour


def _play_round(world: World, state: Fights, fight: Fight, settings: CombatSettings) -> None:
    room = fight.room
    room_sid = world.stable_id(room)
    # Whoever is no longer here, alive and in it (moved by staff, gone from the world) leaves it;
    # so does one that attacks nobody and whom nobody attacks.
    targeted = set()
    for member in fight.members:
        fighting = world.try_get(member, Fighting)
        if fighting is not None:
            targeted.add(fighting.target)
    for member in list(fight.members):
        if member not in fight.members:
            continue  # left already, with someone who left
        location = world.try_get(member, Location)
        if (
            location is None
            or (location.holder != room_sid and room_of(world, member) != room)  # a phantom's
            or world.try_get(member, Vitals) is None
            or world.try_get(member, Dead) is not None
            or (world.try_get(member, Fighting) is None and world.stable_id(member) not in targeted)
        ):
            fights.leave(world, member, tell=True)
    if state.by_id.get(fight.id) is not fight:
        return
    fight.round += 1
    dark = is_dark(world, room)
    sheets = {member: _sheet(world, member, settings, dark) for member in fight.members}
    targeting = {m for m in fight.members if world.try_get(m, Fighting) is not None}
    rng = world.rng
    die = settings.initiative_die
    rolls = sorted(
        (-(sheet.dexterity + rng.randint(1, die)), sheet.sid, sheet.entity)
        for sheet in sheets.values()
        if sheet.vitals.dp > 0 and sheet.entity in targeting and not sheet.frozen
    )
    order = [entity for _, _, entity in rolls]
    _tell_round(world, fight, sheets, order, dark)
    for actor in order:
        fighting = world.try_get(actor, Fighting)
        sheet = sheets[actor]
        if fighting is None or state.fight_of.get(actor) != fight.id or sheet.vitals.dp <= 0:
            continue
        action = state.queued.pop(actor, None)
        if isinstance(action, Flee):
            _flee(world, actor, settings, dark)
            continue
        target = world.entity_of(fighting.target)
        if isinstance(action, SwitchTarget) and fights.valid_target(world, actor, action.target):
            fights.join(world, actor, action.target, world.clock.seconds)
            _tell_switch(
                world, room, sheet, _sheet_of(world, sheets, action.target, settings, dark)
            )
            target = action.target
        elif (
            target is None
            or state.fight_of.get(target) != fight.id
            or target not in sheets
            or world.try_get(target, Dead) is not None
        ):
            target = fights.retarget(world, actor)
            if target is None:
                continue
        elif sheet.npc and len(fight.members) > 2:
            target = _threat_choice(world, sheets, sheet, target, settings, room, dark)
        _blow(world, sheet, _sheet_of(world, sheets, target, settings, dark), settings, room)


def _sheet_of(
    world: World, sheets: dict[int, _Sheet], entity: int, settings: CombatSettings, dark: bool
) -> _Sheet:
    """The sheet of ``entity``, made now if it came into the fight during the round."""
    sheet = sheets.get(entity)
    if sheet is None:
        sheet = sheets[entity] = _sheet(world, entity, settings, dark)
    return sheet


def _threat_choice(
    world: World,
    sheets: dict[int, _Sheet],
    npc: _Sheet,
    target: int,
    settings: CombatSettings,
    room: int,
    dark: bool,
) -> int:
    """An NPC turns on the rival it holds the most threat against, when that exceeds its
    target's by the margin; and leaves a helpless target for a foe still standing."""
    rivals = [o for o in fights.opponents(world, npc.entity) if o != target]
    if not rivals:
        return target
    threat = world.try_get(npc.entity, Threat) or Threat()
    best = fights.choose_target(world, npc.entity, rivals)
    assert best is not None
    current = threat.of(world.stable_id(target) or 0)
    rival = threat.of(world.stable_id(best) or 0)
    helpless = world.get(target, Vitals).dp <= 0
    if helpless or rival > current * (1 + settings.threat_switch_margin):
        fights.turn_on(world, npc.entity, best)
        _tell_switch(world, room, npc, _sheet_of(world, sheets, best, settings, dark))
        return best
    return target


def _blow(
    world: World, attacker: _Sheet, defender: _Sheet, settings: CombatSettings, room: int
) -> None:
    """One blow: a roll to hit (d100 against :func:`hit_chance`), then the weapon's dice plus
    the strength bonus, less the defender's armour (at least ``minimum_damage``). An NPC hit
    holds the damage against its attacker (threat, and later its experience)."""
    rng = world.rng
    dark = attacker.name == SOMEONE
    a_called, d_called = attacker.called, defender.called
    a_the = capitalised(a_called)
    data: View = {
        "kind": "miss",
        "attacker": None if dark else attacker.sid,
        "attacker_name": attacker.name,
        "defender": None if dark else defender.sid,
        "defender_name": defender.name,
        "weapon": attacker.weapon,
    }
    told = []
    unseen = attacker.phantom or defender.phantom  # by all but the one who hallucinates it
    if rng.randint(1, 100) > hit_chance(attacker.dexterity, defender.dexterity, settings):
        if attacker.player:
            told.append((attacker.entity, f"You miss {d_called}."))
        if defender.player:
            told.append((defender.entity, f"{a_the} misses you."))
        _emit(
            world,
            room,
            data,
            told,
            (attacker.entity, defender.entity),
            "" if unseen else f"{a_the} misses {d_called}.",
        )
        return
    damage = max(
        settings.minimum_damage, attacker.dice.roll(rng) + attacker.bonus - defender.armour
    )
    if defender.npc:
        _add_threat(world, defender.entity, attacker.sid, damage)
    vitals = defender.vitals
    # A phantom's blow is felt as any other, but takes nothing: the body is as it was.
    dp_after = vitals.dp if attacker.phantom else vitals.dp - damage
    data.update(kind="hit", damage=damage, dp=dp_after, max_dp=vitals.max_dp)
    weapon = attacker.weapon
    with_weapon = f" with {strip_article(weapon)}" if weapon else ""
    if attacker.player:
        your = f" with your {strip_article(weapon)}" if weapon else ""
        told.append((attacker.entity, f"You hit {d_called}{your} for {damage} damage."))
    if defender.player:
        told.append((defender.entity, f"{a_the} hits you{with_weapon} for {damage} damage."))
    seen = "" if unseen else f"{a_the} hits {d_called}{with_weapon}."
    _emit(world, room, data, told, (attacker.entity, defender.entity), seen)
    if defender.phantom:
        wound_phantom(world, defender.entity, damage)
    elif not attacker.phantom:
        hurt(world, defender.entity, damage)
        if defender.deranged:
            panic(world, defender.entity, damage)


def _emit(
    world: World,
    room: int,
    data: View,
    told: list[tuple[int, str]],
    excluded: tuple[int, ...],
    seen: str,
) -> None:
    """A blow's events: each player in it reads its own words, the rest of the room ``seen``
    (nothing when it is empty: a blow only one of them hallucinates)."""
    for entity, text in told:
        world.emit(fights.COMBAT_EVENT, Scope.entity(entity), text, data)
    if seen:
        world.emit(fights.COMBAT_EVENT, Scope.room(room), seen, data, exclude=excluded)


def _add_threat(world: World, body: int, sid: int, amount: int) -> None:
    """``body`` holds ``amount`` more against the attacker of stable id ``sid``."""
    threat = world.try_get(body, Threat)
    entries = threat.entries if threat is not None else ()
    for index, (who, held) in enumerate(entries):
        if who == sid:
            entries = (*entries[:index], (sid, held + amount), *entries[index + 1 :])
            break
    else:
        entries = (*entries, (sid, amount))
    world.add(body, Threat(entries))


def _tell_round(
    world: World, fight: Fight, sheets: dict[int, _Sheet], order: Sequence[int], dark: bool
) -> None:
    """Each player in the fight gets the round's number, who acts in what order, and how
    everyone in it stands (text-free: rich clients draw it, plain ones need not); someone
    else's phantoms are left out."""
    players = [sheet.entity for sheet in sheets.values() if sheet.player]
    if not players:
        return
    combatants = []
    phantoms = False
    for sheet in sheets.values():
        phantoms = phantoms or sheet.phantom
        fighting = world.try_get(sheet.entity, Fighting)
        combatants.append(
            {
                "id": None if dark else sheet.sid,
                "name": sheet.name,
                "dp": sheet.vitals.dp,
                "max_dp": sheet.vitals.max_dp,
                "target": None if dark or fighting is None else fighting.target,
            }
        )
    data = {
        "kind": "round",
        "fight": fight.id,
        "round": fight.round,
        "order": [None if dark else sheets[entity].sid for entity in order],
        "combatants": combatants,
    }
    for player in players:
        if phantoms:
            seen = [seen_by(world, sheet.entity, player) for sheet in sheets.values()]
            data = {
                **data,
                "order": [
                    None if dark else sheets[e].sid for e in order if seen_by(world, e, player)
                ],
                "combatants": [view for view, shown in zip(combatants, seen, strict=True) if shown],
            }
        world.emit(fights.COMBAT_EVENT, Scope.entity(player), "", data)


def _tell_switch(world: World, room: int, actor: _Sheet, target: _Sheet) -> None:
    dark = actor.name == SOMEONE
    data = {
        "kind": "switch",
        "attacker": None if dark else actor.sid,
        "attacker_name": actor.name,
        "defender": None if dark else target.sid,
        "defender_name": target.name,
    }
    told = []
    if actor.player:
        told.append((actor.entity, f"You turn on {target.called}."))
    if target.player:
        told.append((target.entity, f"{capitalised(actor.called)} turns on you!"))
    seen = f"{capitalised(actor.called)} turns on {target.called}."
    unseen = actor.phantom or target.phantom
    _emit(world, room, data, told, (actor.entity, target.entity), "" if unseen else seen)


# --------------------------------------------------------------------------------------------------
# Fleeing


def _flee(world: World, actor: int, settings: CombatSettings, dark: bool) -> None:
    room = room_of(world, actor)
    assert room is not None
    name = capitalised(fighter_name(world, actor, dark=dark))
    base: View = {
        "id": None if dark else world.stable_id(actor),
        "name": SOMEONE if dark else display_name(world, actor),
    }
    posture = world.try_get(actor, Posture)
    if posture is not None and posture.state != PostureState.STANDING:
        posture.state, posture.resting = PostureState.STANDING, False
        fights.emit_combat(
            world,
            room,
            {"kind": "stand", **base},
            [(actor, "You scramble to your feet.")],
            f"{name} scrambles to their feet.",
        )
        return
    ways = [direction for direction, _room in open_ways(world, room)]
    foes = len(fights.opponents(world, actor))
    chance = flee_chance(len(ways), foes, settings)
    if not ways or world.rng.random() >= chance:
        why = "There is nowhere to run!" if not ways else "You cannot get away!"
        fights.emit_combat(
            world,
            room,
            {"kind": "flee_failed", **base, "chance": round(chance, 2) if ways else 0.0},
            [(actor, f"You try to flee. {why}")],
            f"{name} tries to flee, but cannot get away.",
        )
        return
    direction = world.rng.choice(ways)
    fights.emit_combat(
        world,
        room,
        {"kind": "flee", **base, "direction": direction},
        [(actor, "You flee in panic!")],
        f"{name} flees in panic!",
    )
    fights.leave(world, actor, why=f"{name} has fled.")
    walk(world, actor, direction)


# --------------------------------------------------------------------------------------------------
# Commands


def find_foe(world: World, actor: int, room: int, words: str) -> int:
    """The body here that ``words`` names, for a fight; ``Refused`` for yourself, a thing, a
    corpse (one that died), and anyone not here."""
    if words.strip().casefold() in SELF_WORDS:
        raise Refused("attack_self", "You cannot attack yourself.")
    target = read_target(words, "no_such_target")
    if target.every or (target.count is not None and target.count > 1):
        raise Refused("bad_target", "Fight one at a time.")
    here = [*bodies_in(world, room, exclude=actor), *seen_phantoms(world, actor, room)]
    found = find(world, here, target)
    if found:
        return found[0]
    if matches(world, actor, target.words):
        raise Refused("attack_self", "You cannot attack yourself.")
    _refuse_thing(world, actor, room, target)
    raise Refused(
        "no_such_target", f"You see no '{target.describe()}' here.", target=target.describe()
    )


def _refuse_thing(world: World, actor: int, room: int, target: Target) -> None:
    things = [*items_in(world, room), *items_in(world, actor), *worn_items(world, actor)]
    found = find(world, things, target)
    if not found:
        return
    thing = found[0]
    name = display_name(world, thing)
    if world.has(thing, Corpse):
        raise Refused("target_dead", f"{capitalised(name)} is beyond harm: already dead.")
    if world.has(thing, Item):
        raise Refused("not_attackable", f"You cannot fight {the(name)}.")


def _check_combat_allowed(world: World, room: int) -> None:
    if world.get(room, Room).has_flag(RoomFlag.NO_COMBAT):
        raise Refused(
            "no_combat", "A strange calm lies over this place: you cannot bring yourself to fight."
        )


def _check_light(world: World, room: int) -> None:
    if is_dark(world, room):
        raise Refused("too_dark", "It is too dark to make out anyone to fight.")


def attack(world: World, cmd: Command, args: Args) -> None:
    """``attack <target>``: start a fight, or join one; while fighting, turn on another at
    your next turn (one action a round: a second replaces the first)."""
    actor = cmd.actor
    room = handling_room(world, actor)
    _check_combat_allowed(world, room)
    _check_light(world, room)
    target = find_foe(world, actor, room, args.text("target"))
    name = fighter_name(world, target)
    if fights.is_fighting(world, actor):
        if fights.target_of(world, actor) == target:
            raise Refused("already_fighting", f"You are already fighting {name}!")
        state = fights.fights_of(world)
        state.queued[actor] = SwitchTarget(target)
        data = {"kind": "queued", "action": "attack", "defender": world.stable_id(target)}
        world.emit(fights.COMBAT_EVENT, Scope.entity(actor), f"You will turn on {name}.", data)
        return

    fights.join(world, actor, target, world.clock.seconds)
    who = capitalised(fighter_name(world, actor))
    data = {
        "kind": "engage",
        "attacker": world.stable_id(actor),
        "attacker_name": display_name(world, actor),
        "defender": world.stable_id(target),
        "defender_name": display_name(world, target),
    }
    fights.emit_combat(
        world,
        room,
        data,
        [(actor, f"You attack {name}!"), (target, f"{who} attacks you!")],
        "" if is_phantom(world, target) else f"{who} attacks {name}!",
    )


def flee(world: World, cmd: Command, args: Args) -> None:
    """``flee``: try to run at your next turn, through a random open exit."""
    actor = cmd.actor
    check_able(world, actor)
    if not fights.is_fighting(world, actor):
        raise Refused("not_fighting", "You are not fighting anyone.")
    fights.fights_of(world).queued[actor] = Flee()
    standing = world.try_get(actor, Posture)
    first = (
        "You get ready to scramble to your feet."
        if standing is not None and standing.state != PostureState.STANDING
        else "You look for a way out."
    )
    data = {"kind": "queued", "action": "flee"}
    world.emit(fights.COMBAT_EVENT, Scope.entity(actor), first, data)


#: ``consider``'s verdicts: the most a ratio of rounds (yours to win over theirs) may be.
VERDICTS: tuple[tuple[float, str, str], ...] = (
    (0.25, "trivial", "it would be no match for you"),
    (0.6, "easy", "you should win without much trouble"),
    (1.6, "even", "an even match"),
    (3.0, "hard", "a hard fight, and you could lose it"),
    (float("inf"), "deadly", "you would not survive"),
)


def rounds_to_down(world: World, attacker: int, defender: int, settings: CombatSettings) -> float:
    """How many rounds ``attacker`` would likely need to bring ``defender`` down (to 0 dp)."""
    ours, theirs = characteristics_of(world, attacker), characteristics_of(world, defender)
    _weapon, dice, _armour = arms_of(world, attacker, settings)
    _arms, _dice, armour = arms_of(world, defender, settings)
    blow = max(
        float(settings.minimum_damage),
        dice.average + strength_bonus(ours.strength, settings) - armour,
    )
    chance = max(hit_chance(ours.dexterity, theirs.dexterity, settings), 1) / 100
    left = max(world.get(defender, Vitals).dp, 1)
    return left / (blow * chance)


def consider(world: World, cmd: Command, args: Args) -> None:
    """``consider <target>``: how a fight with someone here would likely go."""
    actor = cmd.actor
    room = handling_room(world, actor)
    _check_light(world, room)
    target = find_foe(world, actor, room, args.text("target"))
    settings = combat_settings(world)
    ratio = rounds_to_down(world, actor, target, settings) / rounds_to_down(
        world, target, actor, settings
    )
    verdict, words = next((v, w) for limit, v, w in VERDICTS if ratio <= limit)
    name = fighter_name(world, target)
    data = {
        "action": "consider",
        "target": world.stable_id(target),
        "verdict": verdict,
        "ratio": round(ratio, 2),
    }
    world.emit("consider", Scope.entity(actor), f"You size up {name}: {words}.", data)


def register(kit: PluginKit) -> None:
    """Register the rounds of fights, ``attack``, ``flee`` and ``consider``."""
    kit.system(fight_rounds)
    for spec in (
        CommandSpec(
            verb="attack",
            handler=attack,
            usage="<target...>",
            aliases=("kill", "k"),
            help=(
                "Attack someone or something here ('attack ghoul', 'k 2.rat'): a fight starts,"
                " and you strike every round until it ends. While fighting, turn on another."
            ),
            category=COMBAT_CATEGORY,
        ),
        CommandSpec(
            verb="flee",
            handler=flee,
            help=(
                "Try to run from a fight at your next turn, through a random open exit. The more"
                " ways out and the fewer foes, the better your chance; sitting or lying, the"
                " first 'flee' gets you on your feet."
            ),
            category=COMBAT_CATEGORY,
        ),
        CommandSpec(
            verb="consider",
            handler=consider,
            usage="<target...>",
            aliases=("con",),
            help="Size someone up: how a fight with them would likely go.",
            category=COMBAT_CATEGORY,
        ),
    ):
        kit.command(spec)
