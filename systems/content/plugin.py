"""(being written)"""

from __future__ import annotations

from engine.plugins import PluginKit


def register(kit: PluginKit) -> None:
    """Register the world builder that loads content files."""
