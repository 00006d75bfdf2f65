"""The public API for plugins: everything a plugin may import, in one module.

A plugin imports from here and nowhere else in Kadath (``from engine.api import ...``; its tests
may also use :mod:`engine.testing`); whatever is not in ``__all__`` is private and may change
without notice. ``docs/modding.md`` has the reference table, and a test keeps it equal to
``__all__``.

This module is the one part of ``engine/`` allowed to import the game (``components/``,
``systems/``): it sits outside the layers, re-exporting the built-in components and the helpers a
rule needs, and nothing in Kadath imports it (tests/test_layers.py checks both). It holds no code
of its own and does no I/O.
"""

from __future__ import annotations

from pydantic import Field

from components.body import Dead, Identity, Npc, Offline, Player, Posture, PostureState, Vitals
from components.content import Directory, ItemTemplate, NpcTemplate, ZoneDef
from components.items import Container, Item
from components.mind import LUCIDITY_MAX, LUCIDITY_MIN, Lucidity
from components.place import Environment, Exit, Location, Room, RoomFlag, Zone
from engine.clock import Daypart, GameTime
from engine.commands import Args, Command, CommandGate, CommandSpec, Refused
from engine.component import Component, persistent
from engine.config import setting_field
from engine.events import Event, Scope
from engine.hooks import LookContributor
from engine.ids import plugin_stable_id
from engine.plugins import Plugin, PluginKit, SetupError
from engine.scheduler import System, SystemContext, system
from engine.state import UnknownState, world_state
from engine.timers import TimerQueue, component_timers
from engine.world import World
from systems.common import capitalised, display_name, listed
from systems.content.tables import (
    ContentId,
    ContentModel,
    ContentName,
    ContentText,
    content_table,
)
from systems.dormancy import Pace, behaviour_timers, paced, vigil_of
from systems.lucidity import change_lucidity
from systems.whereabouts import (
    contents,
    holder_of,
    is_outdoors,
    move,
    room_of,
    zone_entity,
    zone_of,
)

__all__ = [
    "LUCIDITY_MAX",
    "LUCIDITY_MIN",
    "Args",
    "Command",
    "CommandGate",
    "CommandSpec",
    "Component",
    "Container",
    "ContentId",
    "ContentModel",
    "ContentName",
    "ContentText",
    "Daypart",
    "Dead",
    "Directory",
    "Environment",
    "Event",
    "Exit",
    "Field",
    "GameTime",
    "Identity",
    "Item",
    "ItemTemplate",
    "Location",
    "LookContributor",
    "Lucidity",
    "Npc",
    "NpcTemplate",
    "Offline",
    "Pace",
    "Player",
    "Plugin",
    "PluginKit",
    "Posture",
    "PostureState",
    "Refused",
    "Room",
    "RoomFlag",
    "Scope",
    "SetupError",
    "System",
    "SystemContext",
    "TimerQueue",
    "UnknownState",
    "Vitals",
    "World",
    "Zone",
    "ZoneDef",
    "behaviour_timers",
    "capitalised",
    "change_lucidity",
    "component_timers",
    "content_table",
    "contents",
    "display_name",
    "holder_of",
    "is_outdoors",
    "listed",
    "move",
    "paced",
    "persistent",
    "plugin_stable_id",
    "room_of",
    "setting_field",
    "system",
    "vigil_of",
    "world_state",
    "zone_entity",
    "zone_of",
]
