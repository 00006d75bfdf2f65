"""Plugins' content tables: ``<table>/*.toml`` files of any content folder, each ``[[table]]`` entry
checked against the plugin's model, with the same all-errors report as zones, and handed to rules
by model; ``kadath check-world`` reads them as the server does."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import Field

from components.content import ContentTables
from engine.cli import main
from engine.config import Config, WorldConfig
from engine.core import Engine
from engine.plugins import Plugin, PluginError, PluginKit
from engine.world import World
from systems import plugin as core
from systems.content import cli as check_world_cli
from systems.content.build import build_world
from systems.content.loader import ContentSource, Severity, check_content
from systems.content.tables import ContentId, ContentModel, ContentText, content_table
from tests.systems.content.worlds import one, world, write


class Omen(ContentModel):
    id: ContentId
    text: ContentText
    weight: int = Field(default=1, ge=1)


class Chant(ContentModel):
    words: ContentText  # no id: entries need not be unique


TABLES: dict[str, type] = {"omens": Omen, "chants": Chant}

OMENS = """\
[[omens]]
id = "crow"
text = "A crow watches you."

[[omens]]
id = "moon"
text = \"\"\"The moon is the colour
of old bone.\"\"\"
weight = 3
"""


def test_a_plugins_folder_holds_its_tables_and_they_are_read_in_file_order(tmp_path: Path) -> None:
    main = world(tmp_path / "data")
    plugin = write(
        tmp_path / "omens",
        {"omens/a.toml": OMENS, "omens/b.toml": '[[omens]]\nid = "owl"\ntext = "An owl."\n'},
    )
    check = check_content([ContentSource(main), ContentSource(plugin, "omens")], tables=TABLES)
    assert check.report.ok, check.report.format()
    assert check.content is not None
    (omens, chants) = check.content.tables
    assert (omens.name, omens.model, chants.rows) == ("omens", Omen, ())
    assert omens.rows == (
        Omen(id="crow", text="A crow watches you.", weight=1),
        Omen(id="moon", text="The moon is the colour of old bone.", weight=3),
        Omen(id="owl", text="An owl.", weight=1),
    )


def test_the_worlds_own_folder_may_add_to_a_plugins_table(tmp_path: Path) -> None:
    main = world(tmp_path / "data", {"chants/mine.toml": '[[chants]]\nwords = "Ia! Ia!"\n'})
    check = check_content([main], tables=TABLES)
    assert check.content is not None
    assert check.content.tables[1].rows == (Chant(words="Ia! Ia!"),)


def test_every_problem_of_every_entry_is_reported_at_once_where_it_is(tmp_path: Path) -> None:
    bad = """\
[[omens]]
id = "crow"
text = ""
weight = 0

[[omens]]
id = "Bad Id"
text = "Fine."
colour = "red"

[[omens]]
text = "No id."
"""
    report = check_content([world(tmp_path, {"omens/bad.toml": bad})], tables=TABLES).report
    assert [str(p) for p in report.errors] == [
        "omens/bad.toml: omens crow: text: must not be empty",
        "omens/bad.toml: omens crow: weight: Input should be greater than or equal to 1 (got 0)",
        "omens/bad.toml: omens Bad Id: id: 'Bad Id' is not a valid id: use lower-case letters,"
        " digits and '_', with '.' between words (as in 'arkham.square')",
        "omens/bad.toml: omens Bad Id: colour: unknown key; the keys here are id, text, weight",
        "omens/bad.toml: omens #3: id: missing (required)",
    ]


def test_ids_are_unique_within_a_table_across_folders(tmp_path: Path) -> None:
    main = world(tmp_path / "data", {"omens/mine.toml": '[[omens]]\nid = "crow"\ntext = "Mine."\n'})
    plugin = write(tmp_path / "omens", {"omens/a.toml": OMENS})
    report = check_content(
        [ContentSource(main), ContentSource(plugin, "omens")], tables=TABLES
    ).report
    problem = one(report, "omens:omens/a.toml", "omens crow", "id")
    assert problem.message == "duplicate omens id 'crow': also defined in omens/mine.toml"


def test_a_misnamed_table_in_a_table_file_suggests_the_right_name(tmp_path: Path) -> None:
    folder = world(tmp_path, {"omens/a.toml": '[[omen]]\nid = "crow"\ntext = "A crow."\n'})
    problem = one(check_content([folder], tables=TABLES).report, "omens/a.toml", "", "omen")
    assert problem.message == "unknown table; did you mean 'omens'?"


def test_a_table_folder_no_installed_plugin_declares_is_warned_about_not_read(
    tmp_path: Path,
) -> None:
    report = check_content([world(tmp_path, {"omens/a.toml": OMENS})]).report
    problem = one(report, "omens/a.toml", "", "", Severity.WARNING)
    assert problem.message.startswith("not read: data files are world.toml, zones/*.toml")
    assert "a plugin's content table is read only while the plugin is installed" in problem.message
    assert report.ok


def test_a_table_may_not_take_a_name_the_worlds_own_files_use(tmp_path: Path) -> None:
    report = check_content([world(tmp_path)], tables={"items": Omen, "room": Omen}).report
    assert [p.message for p in report.errors] == [
        "a plugin declares content table 'items', a name the world's own files use: the plugin"
        " must give its table another name",
        "a plugin declares content table 'room', a name the world's own files use: the plugin"
        " must give its table another name",
    ]


def test_the_built_world_hands_rules_each_tables_entries_by_model(tmp_path: Path) -> None:
    content = check_content([world(tmp_path, {"omens/a.toml": OMENS})], tables=TABLES).require()
    world_ = World()
    build_world(world_, content)
    assert [omen.id for omen in content_table(world_, Omen)] == ["crow", "moon"]
    assert content_table(world_, Chant) == ()
    assert world_.resource(ContentTables).rows.keys() == {Omen, Chant}


def test_asking_for_a_table_nobody_declared_says_how_to_declare_it() -> None:
    with pytest.raises(KeyError, match=r"kit.content_table\(name, Omen\)"):
        content_table(World(), Omen)


def test_entries_are_frozen_so_a_rule_cannot_change_content() -> None:
    omen = Omen(id="crow", text="A crow.")
    with pytest.raises(ValueError, match="frozen"):
        omen.weight = 2  # the mistake under test


# --------------------------------------------------------------------------------------------------
# Declaring tables


def declaring(*tables: tuple[str, type]) -> Plugin:
    def setup(kit: PluginKit) -> None:
        for name, model in tables:
            kit.content_table(name, model)

    return Plugin("omens", setup, requires=("core",))


def test_the_server_builds_a_plugins_tables_with_the_world(tmp_path: Path) -> None:
    folder = tmp_path / "omens"
    write(folder, {"omens/a.toml": OMENS})

    def setup(kit: PluginKit) -> None:
        kit.content_table("omens", Omen)
        kit.content(folder)

    config = Config(world=WorldConfig(str(world(tmp_path / "data"))))
    engine = Engine(config, plugins=[core, Plugin("omens", setup, requires=("core",))])
    engine.build_world()
    assert [omen.id for omen in content_table(engine.world, Omen)] == ["crow", "moon"]


@pytest.mark.parametrize(
    ("name", "model", "reason"),
    [
        ("Omens", Omen, "content table name 'Omens' is not a lower-case word"),
        ("omens", dict, "must be a pydantic model"),
    ],
)
def test_a_bad_table_declaration_is_a_plugin_problem(name: str, model: type, reason: str) -> None:
    with pytest.raises(PluginError, match=reason):
        Engine(Config(), plugins=[core, declaring((name, model))])


def test_two_plugins_may_not_declare_one_table() -> None:
    def other(kit: PluginKit) -> None:
        kit.content_table("omens", Chant)

    plugins = [core, declaring(("omens", Omen)), Plugin("portents", other, requires=("omens",))]
    with pytest.raises(PluginError, match="content table 'omens' is already declared by plugin"):
        Engine(Config(), plugins=plugins)


def test_check_world_checks_the_tables_of_installed_plugins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KADATH_CONFIG", raising=False)
    monkeypatch.setattr(
        check_world_cli, "discover_plugins", lambda: ([core, declaring(("omens", Omen))], {})
    )
    folder = world(
        tmp_path, {"omens/bad.toml": '[[omens]]\nid = "crow"\ntext = "A crow."\nweight = -1\n'}
    )
    assert main(["check-world", str(folder)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "error: omens/bad.toml: omens crow: weight: Input should be greater than or equal to 1"
        " (got -1)",
        "1 error, 0 warnings in 5 files",
    ]
