"""``kadath plugins``: every installed plugin, where it comes from, in which order it loads, and
what it registered, as a table for people or JSON for tools.

Loading the plugins runs their setups (registration only), as a server start would; nothing is
built, opened or served. The report is plain data, so the text and the JSON never disagree.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.config import Config
from engine.core import command_registry
from engine.plugins import (
    PluginError,
    PluginSource,
    Registry,
    discover_sources,
    load_plugins,
)
from engine.scheduler import ScheduleError, order_systems
from engine.text import plain_text, wrapped

__all__ = ["PluginRow", "format_report", "plugin_report", "report_json"]

#: A plugin's state in the report: set up and running with the others, turned off by the
#: configuration (``world.plugins_disabled``), or kept from loading by a problem.
LOADED, DISABLED, FAILED = "loaded", "disabled", "failed"


@dataclass(frozen=True, slots=True)
class PluginRow:
    """One installed plugin in the report."""

    name: str
    state: str
    order: int | None
    """Its place in the load order (1 first), None when it did not load."""
    version: str
    distribution: str | None
    distribution_version: str | None
    entry_point: str
    requires: tuple[str, ...]
    """The plugins it requires (its ``requires``), which load before it."""
    requirements: tuple[str, ...]
    """Its distribution's package requirements, as its metadata declares them (those of optional
    extras left out)."""
    description: str
    registered: dict[str, list[str]] = field(default_factory=dict)
    problem: str | None = None


def plugin_report(config: Config, sources: Sequence[PluginSource] | None = None) -> list[PluginRow]:
    """Every installed plugin (``sources`` defaults to what discovery finds), loaded as a server
    start would load them, in load order, then those that did not load, by name."""
    found = list(discover_sources()) if sources is None else list(sources)
    disabled = set(config.world.plugins_disabled)
    plugins = [s.plugin for s in found if s.plugin is not None]
    import_problems = {s.name: s.problem or "could not be loaded" for s in found if s.problem}
    registry = Registry(config=config)
    problems: dict[str, str] = {}
    try:
        loaded = load_plugins(plugins, registry, disabled=disabled, problems=import_problems)
    except PluginError as exc:
        loaded, problems = exc.loaded, exc.problems
    else:
        try:  # what a server start checks next: the commands and the schedule
            command_registry(registry)
        except PluginError as exc:
            problems = exc.problems
        try:
            order_systems(registry.systems)
        except ScheduleError as exc:
            owners = {s.plugin for s in registry.systems if s.name in str(exc)}
            for owner in sorted(name for name in owners if name):
                problems[owner] = str(exc)
    order = {name: index for index, name in enumerate(loaded, start=1)}
    rows = []
    for source in found:
        plugin = source.plugin
        name = source.name
        if name in problems:
            state = FAILED
        elif name in disabled:
            state = DISABLED
        elif name in order:
            state = LOADED
        else:
            state = FAILED
        rows.append(
            PluginRow(
                name=name,
                state=state,
                order=order.get(name) if state == LOADED else None,
                version=plugin.version if plugin is not None else (source.version or "?"),
                distribution=source.distribution,
                distribution_version=source.version,
                entry_point=source.entry_point,
                requires=plugin.requires if plugin is not None else (),
                requirements=tuple(r for r in source.requirements if "extra ==" not in r),
                description=plain_text(plugin.description) if plugin is not None else "",
                registered=registry.registered_by(name) if name in order else {},
                problem=problems.get(name),
            )
        )
    rows.sort(key=lambda r: (r.order is None, r.order or 0, r.name))
    return rows


def report_json(rows: Sequence[PluginRow]) -> list[dict[str, Any]]:
    """The report as plain JSON-able values, one object per plugin."""
    return [asdict(row) for row in rows]


def _count(kind: str, names: Sequence[str]) -> str:
    singular = {
        "components": "component",
        "systems": "system",
        "commands": "command",
        "events": "event",
        "command gates": "command gate",
        "prefixes": "prefix",
        "world builders": "world builder",
        "content tables": "content table",
        "look contributors": "look contributor",
    }
    if kind == "content":
        return f"{len(names)} content folder{'s' if len(names) != 1 else ''}"
    if kind == "presence":
        return "presence rules"
    word = kind if len(names) != 1 else singular.get(kind, kind)
    return f"{len(names)} {word}"


def format_report(rows: Sequence[PluginRow], *, details: bool = True, width: int = 0) -> str:
    """The report as text: a table (load order, version, package, requirements, state and a
    count of what each registered), then, with ``details``, each plugin's registrations by
    name."""
    width = width or max(80, shutil.get_terminal_size((100, 24)).columns)
    header = f"{'#':>2}  {'plugin':<12} {'version':<8} {'package':<22} {'requires':<10} registered"
    lines = [header]
    indent = len(header) - len("registered")
    for row in rows:
        package = (
            f"{row.distribution} {row.distribution_version or ''}".strip()
            if row.distribution
            else "-"
        )
        if row.state == LOADED:
            summary = ", ".join(_count(k, v) for k, v in row.registered.items()) or "nothing"
        else:
            summary = row.state.upper()
        lines.append(
            f"{row.order if row.order is not None else '-':>2}  {row.name:<12} "
            f"{row.version:<8} {package:<22} {', '.join(row.requires) or '-':<10} "
            + wrapped(summary, width, indent)
        )
    problems = [row for row in rows if row.problem]
    for row in problems:
        lines.append(f"problem: plugin {row.name!r}: {row.problem}")
    if not details:
        return "\n".join(lines)
    for row in rows:
        about = f" ({row.distribution} {row.distribution_version}" if row.distribution else " ("
        about += f"{', ' if row.distribution else ''}entry point {row.entry_point})"
        lines += ["", f"{row.name} {row.version}{about}: {row.state}"]
        if row.description:
            lines.append("  " + wrapped(row.description, width, 2))
        if row.requires:
            lines.append(f"  requires: {', '.join(row.requires)}")
        if row.requirements:
            lines.append("  package requires: " + wrapped(", ".join(row.requirements), width, 20))
        for kind, names in row.registered.items():
            label = f"  {kind}: "
            lines.append(label + wrapped(", ".join(names), width, len(label)))
    return "\n".join(lines)
