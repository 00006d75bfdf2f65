"""Staging fights in the fixture world: players and creatures placed where a test wants them, with
the characteristics, weapons and settings it wants, and the engine driven tick by tick.

Everything is seeded (the world's RNG, seed 0 unless a config says otherwise), so a fight staged
the same way plays the same way. Test helpers only: nothing here is imported by the server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from components.body import Characteristics, Vitals
from components.content import Directory
from components.items import Item
from components.place import Location
from engine.config import Config, EngineConfig
from engine.events import Event, Scope
from engine.testing import Stage
from engine.world import World
from systems.characteristics import max_dp_for
from systems.npc_spawn import spawn_npc
from systems.stacks import item_components
from systems.whereabouts import move
from tests.systems.walk import SETTLE_S
from tests.systems.world_fixture import make_engine

#: A body that wins the rolls: it strikes first and hits hard (as far as the rules allow).
CHAMPION = Characteristics(90, 90, 90, 90, 50, 50)
#: A body that loses them.
WEAKLING = Characteristics(15, 15, 15, 15, 50, 50)


class Arena(Stage):
    """An engine over the fixture world and what the test put in it (the public test stage, with
    what fights need besides)."""

    def player(
        self, name: str, room: str | None = "hall", characteristics: Characteristics | None = None
    ) -> int:
        """A player character in ``room``; with ``characteristics``, whole for them."""
        body = super().player(name, room)
        if characteristics is not None:
            self.world.add(body, dataclasses.replace(characteristics))  # an instance of its own
            whole = max_dp_for(characteristics)
            vitals = self.world.get(body, Vitals)
            vitals.dp = vitals.max_dp = whole
        return body

    def npc(self, template: str, room: str = "hall") -> int:
        """A creature made from ``template`` in ``room`` (no spawn rule counts it)."""
        directory = self.world.resource(Directory)
        return spawn_npc(self.world, directory.npcs[template], self.room(room), "")

    def give(self, holder: int, template: str, quantity: int = 1, slot: str = "") -> int:
        """A new item held by ``holder`` (worn or wielded in ``slot``)."""
        directory = self.world.resource(Directory)
        item = self.world.spawn(
            *item_components(directory.items[template], quantity), persistent=True
        )
        move(self.world, item, holder, slot)
        return item

    def ready_at(self, seconds: float) -> None:
        """Run until the next tick is the one at ``seconds`` of game time, so that a command
        typed now is applied then: the same moment at any tick rate."""
        clock = self.world.clock
        while clock.seconds + clock.dt < seconds - 1e-9:
            self.tick()

    def run_until(self, done: Callable[[], bool], *, limit_s: float = 600.0) -> float:
        """Tick until ``done()`` holds (at most ``limit_s``); return the game time it took."""
        started = self.now_s
        while not done():
            if self.now_s - started > limit_s:
                raise AssertionError(f"not done after {limit_s} s of game time")
            self.tick()
        return self.now_s - started


def arena(
    config: Config | None = None, *, rate_hz: float = 10.0, rules: Mapping[str, Any] | None = None
) -> Arena:
    """The fixture world at rest (the orderly spawned), at ``rate_hz`` with these rule settings."""
    base = config or Config(engine=EngineConfig(tick_rate_hz=rate_hz))
    if rules:
        base = Config(engine=base.engine, rules=dict(rules))
    stage = Arena(make_engine(base))
    stage.run_s(SETTLE_S)
    stage.log.clear()
    return stage


def combat_events(
    events: Iterable[Event], kind: str | None = None, *, to: int | None = None
) -> list[Event]:
    """The ``combat`` events (of ``kind``), those addressed to the entity ``to`` if given."""
    return [
        event
        for event in events
        if event.type == "combat"
        and (kind is None or event.data.get("kind") == kind)
        and (to is None or event.scope == Scope.entity(to))
    ]


def errors(events: Iterable[Event]) -> list[str]:
    """The codes of the ``error`` events."""
    return [str(event.data["code"]) for event in events if event.type == "error"]


def items_held(world: World, holder: int) -> dict[str, int]:
    """Template -> quantity of the items directly inside ``holder`` (carried, worn or in it)."""
    held: dict[str, int] = {}
    for entity, item in world.query(Item):
        location = world.try_get(entity, Location)
        if location is not None and location.holder == world.stable_id(holder):
            held[item.template] = held.get(item.template, 0) + item.quantity
    return held
