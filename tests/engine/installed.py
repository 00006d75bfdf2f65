"""Plugins installed for a test only: a package and its distribution metadata (a ``.dist-info``
folder with ``entry_points.txt``) written into a folder that the test puts on ``sys.path`` (or on
``PYTHONPATH`` for a child process), found by discovery exactly as a pip-installed plugin is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from engine.plugins import ENTRY_POINT_GROUP


def install(
    folder: Path,
    distribution: str,
    version: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
    *,
    requires: tuple[str, ...] = (),
) -> Path:
    """Write ``modules`` (relative path -> source) and the metadata of ``distribution`` into
    ``folder``; ``entry_points`` maps plugin names to ``module:attribute``. Returns ``folder``."""
    for relative, source in modules.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    info = folder / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = ["Metadata-Version: 2.1", f"Name: {distribution}", f"Version: {version}"]
    metadata += [f"Requires-Dist: {requirement}" for requirement in requires]
    (info / "METADATA").write_text("\n".join(metadata) + "\n")
    lines = [
        f"[{ENTRY_POINT_GROUP}]",
        *(f"{name} = {value}" for name, value in entry_points.items()),
    ]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return folder


#: A plugin whose ``rules`` module raises KeyError at import time, on its line 2.
HOO_MODULES = {
    "kadath_hoo/__init__.py": (
        "from engine.plugins import Plugin\n"
        "from kadath_hoo import rules\n\n"
        "plugin = Plugin(name='hoo', setup=rules.setup, requires=('core',))\n"
    ),
    "kadath_hoo/rules.py": (
        "OMENS = {'owl': 'death'}\nHOOT = OMENS['hoo']\n\n\ndef setup(kit):\n    pass\n"
    ),
}


def install_hoo(folder: Path) -> Path:
    """The broken ``hoo`` plugin, installed as the distribution ``kadath-hoo`` 0.2.0; returns the
    file of the module that fails."""
    install(folder, "kadath-hoo", "0.2.0", HOO_MODULES, {"hoo": "kadath_hoo:plugin"})
    return folder / "kadath_hoo" / "rules.py"
