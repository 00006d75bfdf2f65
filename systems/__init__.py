"""Built-in game systems and their commands, registered as the ``core`` plugin.

The engine never imports this package: it finds ``plugin`` through the ``kadath.plugins`` entry
point, exactly as it finds a modder's plugin. Each module registers its own systems and commands.
"""

from __future__ import annotations

from engine.plugins import Plugin, PluginKit
from systems import info, items, look, meta, movement, npc_spawn, posture, speech
from systems.content import plugin as content


def _setup(kit: PluginKit) -> None:
    for module in (content, meta, look, movement, posture, speech, info, items, npc_spawn):
        module.register(kit)


plugin = Plugin(
    name="core",
    setup=_setup,
    description="Kadath's built-in rules and commands.",
    version="0.1.0",
)
