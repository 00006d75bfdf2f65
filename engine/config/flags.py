"""The command-line flags every ``kadath`` command that needs a configuration shares: ``--config``,
``--set`` and the shortcuts (``--tick-rate``, ``--db``...), read into the same layers as a file.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Collection, Mapping
from typing import Final

from engine.config.layers import (
    CONFIG_FILE_ENV,
    LOCAL_CONFIG_FILE,
    Override,
    load,
    parse_overrides,
)
from engine.config.settings import BY_KEY, Config
from engine.text import plain_text

# --- command line ---------------------------------------------------------------------------------

_SHORTCUTS: Final = (
    ("--tick-rate", "HZ", "engine.tick_rate_hz"),
    ("--seed", "N", "engine.seed"),
    ("--data", "DIR", "world.data_dir"),
    ("--db", "URL", "persist.database_url"),
    ("--host", "ADDR", "net.host"),
    ("--port", "N", "net.port"),
)


def _dest(flag: str) -> str:
    return "config_" + flag.lstrip("-").replace("-", "_")


def add_config_arguments(
    parser: argparse.ArgumentParser, shortcuts: Collection[str] | None = None
) -> None:
    """Give a command the standard configuration flags, so every ``kadath`` command that needs a
    configuration reads it the same way. Values stay strings: ``config_from_args`` checks them,
    with the same messages as every other layer. ``shortcuts`` names the shortcut flags the
    command takes (``("--seed", "--db")``); by default, all of them."""
    known = {flag for flag, _, _ in _SHORTCUTS}
    unknown = set(shortcuts or ()) - known
    if unknown:
        raise ValueError(f"no shortcut flags {sorted(unknown)}; they are {sorted(known)}")
    group = parser.add_argument_group(
        "configuration",
        "Layers: defaults < ./kadath.toml or the --config file < KADATH_<SECTION>__<SETTING>"
        " environment variables < --set and the flags below.",
    )
    group.add_argument(
        "--config",
        metavar="PATH",
        dest="config_file",
        default=None,
        help=f"TOML configuration file (default: the file named by ${CONFIG_FILE_ENV}, else"
        f" ./{LOCAL_CONFIG_FILE} if there is one)",
    )
    group.add_argument(
        "--set",
        metavar="SECTION.SETTING=VALUE",
        dest="config_set",
        action="append",
        default=None,
        help="set any setting, e.g. --set engine.tick_rate_hz=20 (repeatable)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="config_verbose",
        action="store_true",
        default=False,
        help="log everything, tracebacks included (a plugin that fails to import, say); same as"
        " --set log.level=DEBUG",
    )
    for flag, metavar, key in _SHORTCUTS:
        if shortcuts is not None and flag not in shortcuts:
            continue
        doc = plain_text(re.split(r"[.:;] ", BY_KEY[key].spec.doc)[0]).rstrip(".")
        doc = doc.replace("%", "%%")
        group.add_argument(
            flag,
            metavar=metavar,
            dest=_dest(flag),
            default=None,
            help=f"{doc} (same as --set {key}=...)",
        )


def config_from_args(
    ns: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    *,
    rules: Mapping[str, type] | None = None,
) -> Config:
    """The configuration a command was started with: its ``--config`` file (else the file named by
    ``KADATH_CONFIG``, else ``./kadath.toml`` if there is one), the environment, then ``--set``
    flags, then the shortcut flags (the most specific, so they win over ``--set``). ``rules``
    are the installed plugins' rule sections (see ``load_config``)."""
    overrides: list[Override | str] = list(parse_overrides(getattr(ns, "config_set", None) or []))
    if getattr(ns, "config_verbose", False):
        overrides.append(("log.level", "DEBUG", "-v"))
    for flag, _, key in _SHORTCUTS:
        value = getattr(ns, _dest(flag), None)
        if value is not None:
            overrides.append((key, str(value), flag))
    return load(getattr(ns, "config_file", None), env, overrides, local_file=True, rules=rules)
