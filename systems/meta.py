"""Commands about the game itself rather than the world: the game time (help lives in info).

They read the command registry and the clock; they change nothing.
"""

from __future__ import annotations

from engine.commands import Args, Command, CommandSpec
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World


def time_of_day(world: World, cmd: Command, args: Args) -> None:
    """Tell the actor the game date and time of day, which some rules (darkness) depend on."""
    now = world.clock.now
    world.emit(
        "msg",
        Scope.entity(cmd.actor),
        f"It is {now.daypart}, {now.hour:02d}:{now.minute:02d} on day {now.day}.",
        {"day": now.day, "hour": now.hour, "minute": now.minute, "daypart": str(now.daypart)},
    )


def register(kit: PluginKit) -> None:
    kit.command(
        CommandSpec(
            verb="time",
            handler=time_of_day,
            help="Show the game's date and time of day.",
            category="information",
        )
    )
