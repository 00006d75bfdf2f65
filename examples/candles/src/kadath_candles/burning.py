"""Burning candles: the rule that burns them down, and the ``light`` and ``snuff`` commands.

Pure rules over the Candle component: no I/O, no clock of their own (time comes from the system
context), no randomness. Every duration is in simulated seconds, so the rules hold at any tick rate.
"""

from __future__ import annotations

from engine.api import (
    Args,
    Command,
    CommandSpec,
    Event,
    PluginKit,
    Refused,
    Scope,
    SystemContext,
    World,
    system,
)
from kadath_candles.components import Candle

__all__ = [
    "BURN_CHECK_INTERVAL_S",
    "GUTTER_TEXT",
    "LIT_TEXT",
    "LOW_WARNING_S",
    "SNUFFED_TEXT",
    "burn_candles",
    "light",
    "register",
    "render_candle_low",
    "snuff",
]

BURN_CHECK_INTERVAL_S = 1.0
"""Seconds between two burn checks, at any tick rate. A candle burns continuously, but its wax is
accounted once per check, so burn times are accurate to one interval: a candle lit or snuffed
between two checks is charged for the time since the previous check."""

LOW_WARNING_S = 60.0
"""Seconds of flame left at which the bearer is warned, once, that the candle burns low."""

_SPENT_S = 1e-9
"""Flame left below which a candle counts as burnt down (absorbs floating-point rounding)."""

LIT_TEXT = "You light your candle. The shadows draw back, but not far."
SNUFFED_TEXT = "You pinch out your candle. The dark returns, patient as ever."
GUTTER_TEXT = "The candle gutters out; the dark presses closer."


# --------------------------------------------------------------------------------------------------
# The rule


# Ordering: burn before `lucidity` (from another plugin, if installed), so that a mind that loses
# its light this tick already feels the dark this tick. Naming an absent system is allowed.
@system(phase="rules", every_s=BURN_CHECK_INTERVAL_S, before=("lucidity",))
def burn_candles(world: World, ctx: SystemContext) -> None:
    """Lit candles burn down by the time elapsed; a spent one goes out and its bearer is told.

    ``ctx.dt_s`` is the simulated time since this system last ran, so the burn rate is the same at
    5 Hz and at 20 Hz. Each write to ``burn_left_s`` is tracked and saved by the engine.
    """
    for bearer, candle in world.query(Candle):
        if not candle.lit:
            continue
        before = candle.burn_left_s
        left = before - ctx.dt_s
        if left <= _SPENT_S:
            candle.burn_left_s = 0.0
            candle.lit = False
            world.emit("candle_out", Scope.entity(bearer), GUTTER_TEXT, {"burn_left_s": 0.0})
        else:
            candle.burn_left_s = left
            if left <= LOW_WARNING_S < before:
                # No text: plain clients get it from render_candle_low, rich ones use the data.
                world.emit("candle_low", Scope.entity(bearer), data={"burn_left_s": left})


def render_candle_low(event: Event) -> str:
    """The plain-text form of a ``candle_low`` event, made from its data when it is shown."""
    seconds = max(1, round(float(event.data["burn_left_s"])))
    unit = "second" if seconds == 1 else "seconds"
    return f"Your candle burns low: {seconds} {unit} of flame left."


# --------------------------------------------------------------------------------------------------
# The commands


def light(world: World, cmd: Command, args: Args) -> None:
    """Light the candle the actor carries."""
    candle = world.try_get(cmd.actor, Candle)
    if candle is None:
        raise Refused("no_candle", "You carry no candle.")
    if candle.lit:
        raise Refused("already_lit", "Your candle is already lit.")
    if candle.burn_left_s <= _SPENT_S:
        raise Refused("burnt_out", "Your candle is burnt down to nothing; it will not light.")
    candle.lit = True
    data = {"burn_left_s": candle.burn_left_s}
    world.emit("candle_lit", Scope.entity(cmd.actor), LIT_TEXT, data)


def snuff(world: World, cmd: Command, args: Args) -> None:
    """Put out the candle the actor carries, keeping what is left of it for later."""
    candle = world.try_get(cmd.actor, Candle)
    if candle is None:
        raise Refused("no_candle", "You carry no candle.")
    if not candle.lit:
        raise Refused("not_lit", "Your candle is not lit.")
    candle.lit = False
    data = {"burn_left_s": candle.burn_left_s}
    world.emit("candle_snuffed", Scope.entity(cmd.actor), SNUFFED_TEXT, data)


LIGHT: CommandSpec[World] = CommandSpec(
    verb="light",
    handler=light,
    usage="[candle]",
    aliases=("kindle",),
    help="Light the candle you carry. It burns down while lit, and the dark waits for it.",
    category="items",
)

SNUFF: CommandSpec[World] = CommandSpec(
    verb="snuff",
    handler=snuff,
    usage="[candle]",
    aliases=("extinguish", "douse"),
    help="Put out the candle you carry, saving what is left of it.",
    category="items",
)


def register(kit: PluginKit) -> None:
    """Add this module's rule, commands and renderer to the engine."""
    kit.system(burn_candles)
    kit.command(LIGHT)
    kit.command(SNUFF)
    kit.renderer("candle_low", render_candle_low)
