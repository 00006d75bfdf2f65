"""Built-in game systems and their commands, registered as the ``core`` plugin.

The engine never imports this package: it finds ``plugin`` through the ``kadath.plugins`` entry
point, exactly as it finds a modder's plugin. Each module registers its own systems and commands.
"""

from __future__ import annotations

import components.body
import components.combat
import components.items
import components.mind
import components.npc
import components.place
import components.social
from engine.component import Component
from engine.plugins import Plugin, PluginKit
from systems import (
    admin,
    aggression,
    bleeding,
    borders,
    carrying,
    combat,
    corpses,
    cowardice,
    death,
    decay,
    dormancy,
    emotes,
    encounters,
    equipment,
    greeting,
    hallucinations,
    info,
    latches,
    linkdead,
    look,
    lucidity,
    madness,
    meta,
    movement,
    npc_spawn,
    posture,
    presence,
    recovery,
    regeneration,
    rescue,
    rosters,
    speech,
    wander,
)
from systems.content import plugin as content_plugin

#: Modules whose component types the core plugin registers (persistent ones get tables).
COMPONENT_MODULES = (
    components.place,
    components.body,
    components.items,
    components.social,
    components.combat,
    components.npc,
    components.mind,
)


def _setup(kit: PluginKit) -> None:
    for module_ in COMPONENT_MODULES:
        for value in vars(module_).values():
            if (
                isinstance(value, type)
                and issubclass(value, Component)
                and value is not Component
                and value.__module__ == module_.__name__
            ):
                kit.component(value)
    for module in (
        content_plugin,
        meta,
        look,
        movement,
        posture,
        speech,
        info,
        carrying,
        equipment,
        latches,
        npc_spawn,
        dormancy,
        presence,
        linkdead,
        admin,
        combat,
        aggression,
        wander,
        emotes,
        greeting,
        cowardice,
        bleeding,
        death,
        corpses,
        decay,
        regeneration,
        lucidity,
        encounters,
        hallucinations,
        madness,
        rescue,
        recovery,
        borders,
        rosters,
    ):
        module.register(kit)


#: The rule settings of the core plugin, by configuration section (see ``docs/rules.md``).
SETTINGS: dict[str, type] = {
    "combat": combat.CombatSettings,
    "aggression": aggression.AggressionSettings,
    "wander": wander.WanderSettings,
    "emotes": emotes.EmoteSettings,
    "death": death.DeathSettings,
    "corpses": corpses.CorpseSettings,
    "decay": decay.DecaySettings,
    "regeneration": regeneration.RegenerationSettings,
    "look": look.LookSettings,
    "lucidity": lucidity.LuciditySettings,
    "encounters": encounters.EncounterSettings,
    "hallucinations": hallucinations.HallucinationSettings,
    "madness": madness.MadnessSettings,
    "rescue": rescue.RescueSettings,
    "recovery": recovery.RecoverySettings,
}

plugin = Plugin(
    name="core",
    setup=_setup,
    description="Kadath's built-in rules and commands.",
    version="0.1.0",
    settings=SETTINGS,
)
