"""Information about oneself, the other players and the commands: ``who``, ``score`` (with the
characteristics and experience), ``help``.
Pure reads, told to the asker alone (help reads the engine's ``CommandRegistry`` as a world
resource, as a handler cannot reach the Engine); nothing here changes the world or does I/O."""

from __future__ import annotations

from typing import Any

from components.body import CHARACTERISTICS, Experience, Identity, Offline, Player, Posture, Vitals
from components.content import Directory
from components.items import Inventory
from components.mind import Lucidity
from components.place import Room
from engine.commands import Args, Command, CommandRegistry, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.territory import RosterEntry, Rosters
from engine.text import plain_text
from engine.world import World
from systems.characteristics import characteristics_of
from systems.common import View, condition_of, display_name, items_in, worn_items
from systems.lucidity import lucidity_settings, tier_of
from systems.whereabouts import room_of

#: Commands of these roles are listed by a bare ``help``. The handler cannot know the asker's role
#: (the engine's ``role_of`` is not reachable from a world), so builder and admin commands are left
#: out of the listing; ``help <verb>`` still explains any command.
LISTED_ROLES = frozenset({"player"})


def _room_and_zone(world: World, entity: int) -> tuple[Room | None, str]:
    """The room ``entity`` is in (if any) and its zone's display name."""
    room = room_of(world, entity)
    definition = world.try_get(room, Room) if room is not None else None
    if definition is None:
        return None, "nowhere"
    zone = world.resource(Directory).zones.get(definition.zone)
    return definition, zone.name if zone is not None else definition.zone


# --------------------------------------------------------------------------------------------------
# who


def players_here(world: World) -> list[RosterEntry]:
    """Every player character in this process's world, with where it is."""
    found = []
    for entity, (_player, identity) in world.query(Player, Identity, without=(Offline,)):
        sid = world.stable_id(entity)
        if sid is None:
            continue
        room, zone_name = _room_and_zone(world, entity)
        zone, key = (room.zone, room.key) if room is not None else (None, None)
        found.append(RosterEntry(sid, identity.name, zone, zone_name, key))
    return found


def who_view(world: World) -> View:
    """Every player character in the world, by name, with the zone it is in; in a sharded
    world, those on other shards too, as their shards last listed them."""
    entries = players_here(world)
    rosters = world.try_resource(Rosters)
    if rosters is not None:
        here = {entry.sid for entry in entries}
        entries += [entry for entry in rosters.others() if entry.sid not in here]
    players = [
        {"id": e.sid, "name": e.name, "zone": e.zone, "zone_name": e.zone_name} for e in entries
    ]
    players.sort(key=lambda p: (str(p["name"]).casefold(), p["id"]))
    return {"players": players, "count": len(players)}


def who_text(view: View) -> str:
    count = view["count"]
    if not count:
        return "Nobody is in the world."
    width = max(len(p["name"]) for p in view["players"])
    lines = [f"  {p['name']:<{width}}  {p['zone_name']}" for p in view["players"]]
    lines.append(f"{count} player{'s' if count != 1 else ''} in the world.")
    return "\n".join(lines)


def who(world: World, cmd: Command, args: Args) -> None:
    """``who``: the players in the world and where they are."""
    view = who_view(world)
    world.emit("who", Scope.entity(cmd.actor), who_text(view), view)


# --------------------------------------------------------------------------------------------------
# score


def held_items(world: World, body: int) -> tuple[int, int]:
    """``(carried, worn)``: items ``body`` holds in hand or pack, and items it wears or wields.

    A stack counts as one, as it does against the inventory's capacity.
    """
    return len(items_in(world, body)), len(worn_items(world, body))


def score_view(world: World, actor: int) -> View:
    """The actor's own sheet: ``dp``, ``max_dp``, ``state`` (fighting, mortally wounded, dead or
    None), ``posture``, ``lucidity`` and its ``tier`` (None for a body without a mind),
    ``characteristics`` (by their abbreviations), ``experience``, ``room`` (a key) and what it
    carries."""
    vitals = world.try_get(actor, Vitals)
    characteristics = characteristics_of(world, actor)
    experience = world.try_get(actor, Experience)
    posture = world.try_get(actor, Posture)
    inventory = world.try_get(actor, Inventory)
    mind = world.try_get(actor, Lucidity)
    room, zone_name = _room_and_zone(world, actor)
    carried, worn = held_items(world, actor)
    return {
        "name": display_name(world, actor),
        "id": world.stable_id(actor),
        "dp": vitals.dp if vitals is not None else None,
        "max_dp": vitals.max_dp if vitals is not None else None,
        "state": condition_of(world, actor),
        "characteristics": {
            abbreviation: getattr(characteristics, name) for name, abbreviation in CHARACTERISTICS
        },
        "experience": experience.points if experience is not None else 0,
        "posture": str(posture.state) if posture is not None else "standing",
        "resting": posture.resting if posture is not None else False,
        "lucidity": mind.value if mind is not None else None,
        "tier": str(tier_of(mind.value, lucidity_settings(world))) if mind is not None else None,
        "room": room.key if room is not None else None,
        "room_name": room.name if room is not None else None,
        "zone": room.zone if room is not None else None,
        "zone_name": zone_name,
        "carried": carried,
        "worn": worn,
        "capacity": inventory.capacity if inventory is not None else None,
    }


def score_text(view: View) -> str:
    lines = [view["name"], "  ".join(f"{k} {v}" for k, v in view["characteristics"].items())]
    if view["dp"] is not None:
        state = view["state"]
        condition = f" ({state.replace('_', ' ')})" if state else ""
        lines.append(f"Damage points: {view['dp']}/{view['max_dp']}{condition}")
    lines.append(f"Experience: {view['experience']}")
    if view["lucidity"] is not None:
        lines.append(f"Lucidity: {view['lucidity']} ({view['tier']})")
    lines.append(f"Posture: {view['posture']}{', resting' if view['resting'] else ''}")
    if view["room_name"] is not None:
        lines.append(f"Location: {view['room_name']}, {view['zone_name']}")
    else:
        lines.append("Location: nowhere")
    capacity = f" (of {view['capacity']})" if view["capacity"] is not None else ""
    items = "item" if view["carried"] == 1 else "items"
    lines.append(f"Carrying: {view['carried']} {items}{capacity}; wearing: {view['worn']}")
    return "\n".join(lines)


def score(world: World, cmd: Command, args: Args) -> None:
    """``score``: the actor's name, damage points, posture, location and load."""
    view = score_view(world, cmd.actor)
    world.emit("score", Scope.entity(cmd.actor), score_text(view), view)


# --------------------------------------------------------------------------------------------------
# help


def help_index(specs: list[CommandSpec[Any]]) -> View:
    """Commands open to players, grouped by category (in the registry's order)."""
    categories: dict[str, list[View]] = {}
    for spec in specs:
        if spec.role not in LISTED_ROLES:
            continue
        categories.setdefault(spec.category, []).append(
            {"verb": spec.verb, "aliases": list(spec.aliases), "usage": spec.usage_line}
        )
    return {"categories": [{"name": name, "commands": cmds} for name, cmds in categories.items()]}


def help_index_text(view: View) -> str:
    lines = ["Commands (type 'help <command>' for more):"]
    for category in view["categories"]:
        names = [
            f"{c['verb']} ({', '.join(c['aliases'])})" if c["aliases"] else c["verb"]
            for c in category["commands"]
        ]
        lines.append(f"  {category['name'].capitalize()}: {', '.join(names)}")
    return "\n".join(lines)


def help_topic(spec: CommandSpec[Any]) -> View:
    return {
        "verb": spec.verb,
        "usage": spec.usage_line,
        "aliases": list(spec.aliases),
        "help": plain_text(spec.help),
        "category": spec.category,
        "role": spec.role,
    }


def help_command(world: World, cmd: Command, args: Args) -> None:
    """``help``: the commands by category; ``help <command>``: its usage, aliases and help."""
    registry = world.try_resource(CommandRegistry)
    if registry is None:
        raise Refused("help_unavailable", "Help is not available right now.")
    topic = args.opt_text("topic")
    if topic is None:
        view = help_index(registry.specs())
        world.emit("help", Scope.entity(cmd.actor), help_index_text(view), view)
        return
    spec = registry.resolve(topic)
    if spec is None:
        suggestions = registry.suggest(topic, role="player")
        text = f"There is no command '{topic[:40]}'."
        if suggestions:
            text += f" Did you mean: {', '.join(suggestions)}?"
        else:
            text += " Type 'help' for a list of commands."
        raise Refused("unknown_command", text, suggestions=suggestions)
    text = registry.help_for(spec.verb) or spec.usage_line
    world.emit("help", Scope.entity(cmd.actor), text, help_topic(spec))


def register(kit: PluginKit) -> None:
    """Register ``who``, ``score`` and ``help``."""
    kit.command(
        CommandSpec(
            verb="who",
            handler=who,
            help="List the players in the world and the region each is in.",
            category="information",
        )
    )
    kit.command(
        CommandSpec(
            verb="score",
            handler=score,
            aliases=("status",),
            help=(
                "Show your name, characteristics, damage points, experience, lucidity and how"
                " far gone your mind is, posture, where you are and what you carry."
            ),
            category="information",
        )
    )
    kit.command(
        CommandSpec(
            verb="help",
            handler=help_command,
            usage="[<topic>]",
            aliases=("?",),
            help="List the commands, or explain one: 'help look'. Abbreviations work: 'help l'.",
            category="information",
        )
    )
