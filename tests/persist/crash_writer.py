"""A server that changes persistent state on every tick, for the crash tests to kill.

Run as ``python -m tests.persist.crash_writer --db URL --tick-rate 50 --set
persist.flush_interval_s=0.2 [--characters N]`` from the repository root. It is ``kadath serve``
(the same tick loop, signal handling and :class:`~persist.service.PersistenceService`) on the
bundled world with the core plugin, plus a ``crash_churn`` plugin whose system rewrites two
persistent components of every player character on every tick, as a function of the tick alone:

- ``Vitals(dp=tick, max_dp=tick)`` (a full-health body: no game rule has a reason to touch it);
- ``Heartbeat(tick=tick)``, a component of this test's own, in a table of its own.

So a saved cut at tick *t* has every character's rows in both tables equal to *t*: any mix of ticks
after a crash means the cut was not consistent. After each tick the server prints one line to
stdout, ``tick <n> <writer state>``, flushed, so the test knows how far it got and when the writer
was in the middle of a flush. The line for tick *n* is printed before tick *n*'s snapshot reaches
the writer, so the saved tick can never be ahead of the last line printed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from components.body import Player, Vitals
from engine.component import Component, persistent
from engine.config import Config, add_config_arguments, config_from_args
from engine.core import Engine, TickResult
from engine.plugins import Plugin, PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from persist.service import PersistenceService
from systems import plugin as core
from systems.characters import create_character

__all__ = ["CHARACTERS", "Heartbeat", "build_engine", "churn_plugin", "main", "players"]

#: Characters the server creates on its first start (later starts find them restored).
CHARACTERS = 1000


@persistent("test_crash_heartbeat")
@dataclass(slots=True)
class Heartbeat(Component):
    """The tick at which the churn system last wrote this entity."""

    tick: int


@system("crash_churn", phase="late")
def churn(world: World, ctx: SystemContext) -> None:
    """Every player character's Vitals and Heartbeat become the current tick."""
    for _entity, (vitals, beat) in world.query(Vitals, Heartbeat):
        vitals.dp = ctx.tick
        vitals.max_dp = ctx.tick
        beat.tick = ctx.tick


def _setup(kit: PluginKit) -> None:
    kit.component(Heartbeat)
    kit.system(churn)


churn_plugin = Plugin(name="crash_churn", setup=_setup, requires=("core",))


def build_engine(config: Config) -> Engine:
    """The engine the crash server runs, with its world built from content (nothing restored)."""
    engine = Engine(config, plugins=[core, churn_plugin])
    engine.build_world()
    return engine


def players(world: World) -> list[int]:
    """The player characters, in entity order."""
    return sorted(entity for entity, _ in world.query(Player))


def _ensure_characters(world: World, count: int) -> None:
    """Create the characters on a fresh database; a restored world has them already."""
    if players(world):
        return
    for number in range(count):
        character = create_character(world, f"Crasher{number}")
        world.add(character, Heartbeat(0))


def main(argv: Sequence[str] | None = None) -> int:
    from engine.cli import serve

    parser = argparse.ArgumentParser(prog="crash_writer", description=__doc__)
    parser.add_argument("--characters", type=int, default=CHARACTERS)
    add_config_arguments(parser)
    ns = parser.parse_args(argv)
    config = config_from_args(ns)
    logging.basicConfig(
        level=config.log.level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    engine = build_engine(config)
    service = PersistenceService(config)

    def report(result: TickResult) -> None:
        # Registered before the service's hand-off, so this line precedes the tick's snapshot.
        state = service.writer.stats().state if service.writer is not None else "none"
        print(f"tick {result.tick} {state}", flush=True)

    engine.on_tick_end(report)
    service.start(engine)
    _ensure_characters(engine.world, ns.characters)
    return asyncio.run(serve(engine, [service]))


if __name__ == "__main__":
    raise SystemExit(main())
