"""(being written)"""

from __future__ import annotations

from engine.plugins import PluginKit


def register(kit: PluginKit) -> None:
    """Register this module's systems and commands."""
