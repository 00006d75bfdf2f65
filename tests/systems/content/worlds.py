"""A small valid world as TOML text, and helpers to write it (or a broken copy) to a folder.

Map: [town.square] --n (gate, closed)--> [town.hall] --e--> [town.cellar]; the square is the start
room. Tests change one file at a time to make exactly the problem they are about.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from systems.content.loader import Problem, Report, Severity, check_content

WORLD = """\
[world]
name = "Test Town"
start_room = "town.square"
"""

TOWN = """\
[zone]
id = "town"
name = "A Town"
description = "Small and quiet."

[[subzones]]
id = "market"
name = "The Market"

[[doors]]
id = "gate"
name = "an iron gate"
closed = true
locked = false
key = "iron_key"

[[rooms]]
id = "town.square"
name = "The Square"
subzone = "market"
environment = "street"
flags = ["safe"]
description = "Cobbles and pigeons."
items = [{ template = "coin", quantity = 3 }]

[rooms.exits]
n = { to = "town.hall", door = "gate" }

[[rooms]]
id = "town.hall"
name = "The Hall"
environment = "indoors"
description = "A draughty hall."

[rooms.exits]
s = { to = "town.square", door = "gate" }
e = "town.cellar"

[[rooms.containers]]
id = "chest"
template = "chest"
contents = [{ template = "knife" }]

[[rooms]]
id = "town.cellar"
name = "The Cellar"
environment = "haunted"
flags = ["dark"]
description = "Damp stone."

[rooms.exits]
w = "town.hall"

[[spawns]]
npc = "rat"
room = "town.cellar"
max = 2
respawn_s = 60
"""

THINGS = """\
[[items]]
id = "coin"
name = "a copper coin"
keywords = ["coin", "copper"]
description = "Green with age."
kind = "currency"
stackable = true

[[items]]
id = "knife"
name = "a knife"
keywords = ["knife"]
description = "Sharp."
kind = "weapon"
slot = "main_hand"
weight = 0.5
damage = "1d4"

[[items]]
id = "iron_key"
name = "an iron key"
keywords = ["key", "iron"]
description = "Heavy."
kind = "key"

[[items]]
id = "chest"
name = "a wooden chest"
keywords = ["chest"]
description = "Iron bands."
kind = "container"
portable = false
capacity = 2
closed = true
lock = "locked"
key = "iron_key"
"""

FOLK = """\
[[npcs]]
id = "rat"
name = "a rat"
keywords = ["rat"]
description = "Fat and bold."
behaviour = "aggressive"
category = "mundane"
dp = 3
carries = [{ template = "coin" }]
damage = "1d2"
"""

FILES: dict[str, str] = {
    "world.toml": WORLD,
    "zones/town.toml": TOWN,
    "items/things.toml": THINGS,
    "npcs/folk.toml": FOLK,
}


def write(folder: Path, files: Mapping[str, str | None]) -> Path:
    """Write ``files`` (relative path -> text; None leaves a file out) under ``folder``."""
    for name, text in files.items():
        if text is None:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def world(folder: Path, changes: Mapping[str, str | None] | None = None) -> Path:
    """Write the small world under ``folder`` with some files replaced, added or (None) left out."""
    return write(folder, {**FILES, **(changes or {})})


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced by ``new``; ``old`` must be there (no stale test)."""
    assert old in text, f"{old!r} is not in the text"
    return text.replace(old, new, 1)


def check(folder: Path) -> Report:
    return check_content([folder]).report


def one(
    report: Report,
    file: str,
    entry: str,
    field: str,
    severity: Severity = Severity.ERROR,
) -> Problem:
    """The one problem of ``report`` at that place (fails the test with the report otherwise)."""
    found = [
        p
        for p in report.problems
        if (p.severity, p.file, p.entry, p.field) == (severity, file, entry, field)
    ]
    assert len(found) == 1, f"expected one {severity} at {file}: {entry}: {field} in\n" + (
        report.format()
    )
    return found[0]
