"""Built-in game systems and their commands, registered as the ``core`` plugin.

The engine never imports this package: it finds ``plugin`` through the ``kadath.plugins`` entry
point, exactly as it finds a modder's plugin.
"""

from __future__ import annotations

from engine.plugins import Plugin, PluginKit
from systems import meta


def _setup(kit: PluginKit) -> None:
    meta.register(kit)


plugin = Plugin(
    name="core",
    setup=_setup,
    description="Kadath's built-in rules and commands.",
    version="0.1.0",
)
