"""Candles: an example Kadath plugin. Characters carry candles that burn down while lit and go out.

It shows every kind of thing a plugin can add: a persistent component, a system with an interval in
seconds and an ordering constraint, commands with usage patterns and help, an event renderer and a
content folder. The engine finds ``plugin`` through the ``kadath.plugins`` entry point.
"""

from __future__ import annotations

from pathlib import Path

from engine.api import Plugin, PluginKit
from kadath_candles import burning
from kadath_candles.components import Candle

__all__ = ["CONTENT_DIR", "Candle", "plugin"]

CONTENT_DIR = Path(__file__).parent / "content"
"""Candle templates for the world loader (see content/items/candles.toml)."""


def setup(kit: PluginKit) -> None:
    """Register everything the candles add; called once, after the plugins this one requires."""
    kit.component(Candle)
    burning.register(kit)
    kit.content(CONTENT_DIR)


plugin = Plugin(
    name="candles",
    setup=setup,
    requires=("core",),
    description="Candles that burn down while lit, and the dark they leave behind.",
    version="0.1.0",
)
