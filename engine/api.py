"""The public API for plugins: everything a plugin may import, in one module.

A plugin imports from here and nowhere else in Kadath (``from engine.api import ...``); whatever
is not in ``__all__`` is private and may change without notice. This module is the one part of
``engine/`` allowed to import the game (``components/``, ``systems/``): it sits outside the
layers, re-exporting the built-in components and helpers a rule needs, and nothing in the engine
imports it (tests/test_layers.py checks both). It holds no code of its own and does no I/O.
"""

from __future__ import annotations

from components.body import Dead, Identity, Npc, Offline, Player, Posture, PostureState, Vitals
from components.content import Directory, ItemTemplate, NpcTemplate, ZoneDef
from components.items import Container, Item
from components.mind import Lucidity
from components.place import Environment, Exit, Location, Room, RoomFlag
from engine.commands import Args, Command, CommandGate, CommandSpec, Refused
from engine.component import Component, persistent
from engine.config import setting_field
from engine.events import Event, Scope
from engine.plugins import Plugin, PluginKit, SetupError
from engine.scheduler import System, SystemContext, system
from engine.timers import TimerQueue, component_timers
from engine.world import World
from systems.common import capitalised, display_name, listed
from systems.lucidity import change_lucidity
from systems.whereabouts import contents, holder_of, move, room_of

__all__ = [
    "Args",
    "Command",
    "CommandGate",
    "CommandSpec",
    "Component",
    "Container",
    "Dead",
    "Directory",
    "Environment",
    "Event",
    "Exit",
    "Identity",
    "Item",
    "ItemTemplate",
    "Location",
    "Lucidity",
    "Npc",
    "NpcTemplate",
    "Offline",
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
    "Vitals",
    "World",
    "ZoneDef",
    "capitalised",
    "change_lucidity",
    "component_timers",
    "contents",
    "display_name",
    "holder_of",
    "listed",
    "move",
    "persistent",
    "room_of",
    "setting_field",
    "system",
]
