"""Staff commands: only admins may use them, each does what it says and is logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from components.body import Npc
from components.combat import Fighting
from components.content import Directory
from components.place import Room
from components.social import Muted
from engine.config import Config, EngineConfig
from engine.core import Engine, StopRequest, TickResult
from engine.events import Event
from engine.inputs import ASK_ELSEWHERE_EVENT, Relocate
from engine.plugins import Plugin, PluginKit
from engine.scheduler import SystemContext, SystemStats, system
from engine.territory import RosterEntry, Rosters
from engine.testing import Stage, world_from_toml
from engine.world import World
from systems.admin import KICK_EVENT, SHUTDOWN_EVENT
from systems.characters import create_character
from systems.presence import in_world
from systems.whereabouts import contents, room_of
from tests.systems.world_fixture import make_engine

#: Roles of the staffed engines' characters, by entity (each test's engine starts afresh).
ROLES: dict[int, str] = {}


def staffed_engine() -> tuple[Engine, int, int]:
    """An engine where Nyarla is an admin and Carter a player, both in the ward."""
    engine = make_engine()
    ROLES.clear()
    admin = create_character(engine.world, "Nyarla")
    player = create_character(engine.world, "Carter")
    ROLES[admin] = "admin"
    return engine, admin, player


def run(engine: Engine, actor: int, line: str) -> TickResult:
    """``line`` typed by ``actor``, with the role the shell would give it (admins are staffed)."""
    engine.submit_line(actor, line, role=ROLES.get(actor, "player"))
    return engine.tick()


def errors(result: TickResult, actor: int) -> list[str]:
    return [
        str(e.data["code"]) for e in result.events if e.type == "error" and e.scope.target == actor
    ]


@pytest.mark.parametrize(
    "line",
    [
        "teleport carter hall",
        "goto hall",
        "summon carter",
        "kick carter",
        "mute carter",
        "shutdown",
        "stats",
        "spawn ghoul",
        "despawn orderly",
        "system list",
        "system disable bleed",
        "reload candles",
    ],
)
def test_players_may_not_use_staff_commands(line: str) -> None:
    engine, _admin, player = staffed_engine()
    assert errors(run(engine, player, line), player) == ["forbidden"]


def test_teleport_moves_a_player_and_shows_them_the_room(caplog: pytest.LogCaptureFixture) -> None:
    engine, admin, player = staffed_engine()
    with caplog.at_level(logging.INFO, logger="kadath.admin"):
        result = run(engine, admin, "teleport carter gate")
    world = engine.world
    assert room_of(world, player) == world.resource(Directory).rooms["gate"]
    assert any(e.type == "room" and e.scope.target == player for e in result.events)
    assert "Nyarla teleported Carter to gate" in caplog.text


def test_teleport_to_an_unknown_room_suggests_close_keys() -> None:
    engine, admin, _player = staffed_engine()
    result = run(engine, admin, "teleport carter hal")
    (event,) = [e for e in result.events if e.type == "error"]
    assert event.data["code"] == "no_such_room" and "hall" in event.text


def test_goto_and_summon() -> None:
    engine, admin, player = staffed_engine()
    world = engine.world
    rooms = world.resource(Directory).rooms
    run(engine, admin, "goto street")
    assert room_of(world, admin) == rooms["street"]
    run(engine, admin, "summon carter")
    assert room_of(world, player) == rooms["street"]
    run(engine, player, "n")  # Carter wanders off; goto finds him by name
    run(engine, admin, "goto carter")
    assert room_of(world, admin) == room_of(world, player)


def _pickman_on_another_shard(engine: Engine) -> None:
    pickman = RosterEntry(4242, "Pickman", "innsmouth", "Innsmouth", "innsmouth.marsh_road")
    engine.world.insert_resource(Rosters(elsewhere={"b": (pickman,)}))


def test_teleport_and_summon_of_a_player_on_another_shard_ask_the_shard_holding_them() -> None:
    engine, admin, _player = staffed_engine()
    _pickman_on_another_shard(engine)
    sent = run(engine, admin, "teleport pickman gate")
    assert [e.data["input"] for e in sent.events if e.type == ASK_ELSEWHERE_EVENT] == [
        Relocate(4242, "gate", "vanishes", "appears out of thin air")
    ]
    assert [e.text for e in sent.events if e.type == "admin"] == ["You send Pickman to The Gate."]
    summoned = run(engine, admin, "summon pick")
    here = engine.world.get(room_of(engine.world, admin) or 0, Room).key
    assert [e.data["input"] for e in summoned.events if e.type == ASK_ELSEWHERE_EVENT] == [
        Relocate(4242, here, "is pulled away", "is pulled in from elsewhere")
    ]


def test_teleport_or_summon_of_no_one_online_anywhere_is_refused() -> None:
    engine, admin, _player = staffed_engine()
    _pickman_on_another_shard(engine)
    for line in ("teleport lavinia gate", "summon lavinia"):
        result = run(engine, admin, line)
        assert errors(result, admin) == ["no_such_player"]
        assert not [e for e in result.events if e.type == ASK_ELSEWHERE_EVENT]


def test_kick_tells_the_shell_to_disconnect_and_takes_the_character_out() -> None:
    engine, admin, player = staffed_engine()
    result = run(engine, admin, "kick carter")
    assert [e.scope.target for e in result.events if e.type == KICK_EVENT] == [player]
    assert engine.world.exists(player) and not in_world(engine.world, player)


def test_a_muted_player_cannot_speak_until_the_mute_ends() -> None:
    engine, admin, player = staffed_engine()
    run(engine, admin, "mute carter 1")
    assert engine.world.has(player, Muted)
    assert errors(run(engine, player, "say hello"), player) == ["muted"]
    assert errors(run(engine, player, ":waves"), player) == ["muted"]
    engine.run_ticks(engine.world.clock.ticks_for(60.0))
    result = run(engine, player, "say hello")
    assert errors(result, player) == []
    assert any(e.type == "say" for e in result.events)
    assert not engine.world.has(player, Muted)


def test_unmute_lifts_a_mute_at_once() -> None:
    engine, admin, player = staffed_engine()
    run(engine, admin, "mute carter")
    run(engine, admin, "unmute carter")
    assert errors(run(engine, player, "say hi"), player) == []


def test_shutdown_counts_down_with_warnings_then_asks_the_server_to_stop() -> None:
    engine, admin, _player = staffed_engine()
    ordered = run(engine, admin, "shutdown 5")
    warnings = [int(e.data["seconds"]) for e in ordered.events if e.type == "shutdown_warning"]
    ticks = 0
    while engine.world.try_resource(StopRequest) is None and ticks < 200:
        result = engine.tick()
        ticks += 1
        warnings += [int(e.data["seconds"]) for e in result.events if e.type == "shutdown_warning"]
        if any(e.type == SHUTDOWN_EVENT for e in result.events):
            break
    assert warnings == [5, 4, 3, 2, 1]
    request = engine.world.try_resource(StopRequest)
    assert request is not None and "Nyarla" in request.reason
    # Five seconds after the order, at any tick rate (checked every second).
    assert engine.world.clock.seconds == pytest.approx(6.0, abs=1.0)


def test_stats_shows_the_cost_table_and_players_online() -> None:
    engine, admin, _player = staffed_engine()
    engine.run_ticks(3)
    result = run(engine, admin, "stats")
    (event,) = [e for e in result.events if e.type == "stats"]
    assert "commands" in event.text and "players online: 2" in event.text


# --------------------------------------------------------------------------------------------------
# spawn and despawn: staging fights


def test_spawn_makes_an_npc_from_its_template_where_the_admin_stands() -> None:
    engine, admin, _player = staffed_engine()
    world = engine.world
    run(engine, admin, "goto hall")
    result = run(engine, admin, "spawn ghoul")
    assert errors(result, admin) == []
    hall = world.resource(Directory).rooms["hall"]
    ghouls = [e for e, npc in world.query(Npc) if npc.template == "ghoul"]
    assert [room_of(world, g) for g in ghouls] == [hall]
    assert [e.text for e in result.events if e.type == "arrive"] == ["A ghoul appears."]
    assert errors(run(engine, admin, "spawn shoggoth"), admin) == ["no_such_template"]
    assert errors(run(engine, admin, "spawn ghuol"), admin) == ["no_such_template"]


def test_despawn_takes_an_npc_and_what_it_holds_out_of_the_world_ending_its_fight() -> None:
    engine, admin, player = staffed_engine()
    world = engine.world
    run(engine, admin, "goto hall")
    run(engine, admin, "summon carter")
    run(engine, admin, "spawn ghoul")
    (ghoul,) = [e for e, npc in world.query(Npc) if npc.template == "ghoul"]
    coins = list(contents(world, ghoul))
    assert coins
    run(engine, player, "attack ghoul")
    assert world.has(player, Fighting)
    result = run(engine, admin, "despawn ghoul")
    assert errors(result, admin) == []
    assert not world.exists(ghoul) and not any(world.exists(c) for c in coins)
    assert not world.has(player, Fighting)


def test_despawn_refuses_players_and_what_is_not_here() -> None:
    engine, admin, _player = staffed_engine()
    assert errors(run(engine, admin, "despawn carter"), admin) == ["not_despawnable"]
    assert errors(run(engine, admin, "despawn shoggoth"), admin) == ["no_such_target"]


# --------------------------------------------------------------------------------------------------
# system: switching systems off and back on, tick by tick


@dataclass(slots=True)
class Omens:
    """A world resource the test systems read and write: whether ``portents`` fails, what the
    systems saw."""

    failing: bool = True
    portent_ticks: list[int] = field(default_factory=list)
    tally_dts: list[float] = field(default_factory=list)


@system(every_s=0)
def portents(world: World, ctx: SystemContext) -> None:
    """Fails while the omens say so; notes the tick it ran at otherwise."""
    omens = world.resource(Omens)
    if omens.failing:
        raise RuntimeError("the stars are wrong")
    omens.portent_ticks.append(ctx.tick)


@system(every_s=1.0)
def tally(world: World, ctx: SystemContext) -> None:
    """Notes the game time since it last ran, as a rate-based rule would use it."""
    world.resource(Omens).tally_dts.append(ctx.dt_s)


def _omens_setup(kit: PluginKit) -> None:
    kit.system(portents)
    kit.system(tally)


OMENS_PLUGIN = Plugin("omens", _omens_setup, requires=("core",))
HAMLET = """\
[zone]
id = "hamlet"
name = "The Hamlet"

[[rooms]]
id = "hamlet.well"
name = "The Well"
description = "A mossy well."
"""
FAILURE_LIMIT = 3


def omens_stage() -> tuple[Stage, int, Omens]:
    """A world with the omens plugin (at 10 Hz), an admin in it, and the omens resource."""
    config = Config(engine=EngineConfig(system_failure_limit=FAILURE_LIMIT))
    stage = world_from_toml(zones=[HAMLET], plugins=[OMENS_PLUGIN], config=config)
    omens = Omens()
    stage.world.insert_resource(omens)
    return stage, stage.player("Nyarla"), omens


def state_of(stage: Stage, name: str) -> SystemStats:
    (row,) = [row for row in stage.engine.scheduler.stats() if row.name == name]
    return row


def admin_says(stage: Stage, admin: int, line: str) -> list[Event]:
    """The admin types ``line``; one tick runs; what the admin was told."""
    events = stage.type(admin, line, role="admin")
    return [e for e in events if e.scope.target == admin and e.type in ("admin", "error")]


def test_a_system_disabled_after_repeated_failures_is_brought_back_by_an_admin_tick_by_tick(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stage, admin, omens = omens_stage()
    with caplog.at_level(logging.CRITICAL, logger="kadath.scheduler"):
        stage.run_ticks(FAILURE_LIMIT)
    assert stage.world.clock.tick == FAILURE_LIMIT
    row = state_of(stage, "portents")
    assert not row.enabled and row.runs == FAILURE_LIMIT
    assert row.disabled_reason == f"disabled at tick 3 after {FAILURE_LIMIT} consecutive failures"
    stage.tick()  # tick 4: off, so not run
    assert state_of(stage, "portents").runs == FAILURE_LIMIT

    (listing,) = admin_says(stage, admin, "system list")  # tick 5
    (line,) = [line for line in listing.text.splitlines() if " portents " in line]
    assert line.endswith(f"OFF: disabled at tick 3 after {FAILURE_LIMIT} consecutive failures")
    (data,) = [row for row in listing.data["systems"] if row["name"] == "portents"]
    assert data["enabled"] is False and data["plugin"] == "omens"

    omens.failing = False  # the fix
    (note,) = admin_says(stage, admin, "system enable portents")  # tick 6
    assert note.type == "admin" and note.text.startswith("portents is on again, from this tick")
    assert omens.portent_ticks == [6]  # enabled in the tick's commands, run in its systems
    stage.run_ticks(2)
    assert omens.portent_ticks == [6, 7, 8]
    row = state_of(stage, "portents")
    assert row.enabled and row.disabled_reason == "" and row.consecutive_failures == 0
    assert row.failures == FAILURE_LIMIT  # the record of what went wrong is kept


def test_an_admin_switches_a_system_off_and_on_and_it_does_not_make_up_for_the_time_off() -> None:
    stage, admin, omens = omens_stage()
    omens.failing = False
    stage.run_s(2.0)  # tally ran at 1 s and 2 s
    assert omens.tally_dts == pytest.approx([1.0, 1.0])
    (note,) = admin_says(stage, admin, "system disable tally")
    assert note.text == "tally is off: it will not run until enabled."
    assert state_of(stage, "tally").disabled_reason == "disabled by Nyarla at tick 21"
    stage.run_s(10.0)
    assert len(omens.tally_dts) == 2
    enabled_at = stage.world.clock.tick + 1
    admin_says(stage, admin, "system enable tally")
    stage.run_s(1.0)  # next due one interval after it was enabled, over that interval only
    assert omens.tally_dts == pytest.approx([1.0, 1.0, 1.0])
    assert stage.world.clock.tick == enabled_at + 10


@pytest.mark.parametrize(
    ("line", "code", "text"),
    [
        ("system", "bad_args", "Missing <action>."),
        ("system start tally", "bad_args", "Use system list | enable | disable [<name>]."),
        ("system disable", "bad_args", "Name the system to disable: system disable <name>."),
        (
            "system disable tallly",
            "no_such_system",
            "There is no system 'tallly'. Did you mean: tally?",
        ),
        ("system enable tally", "not_disabled", "tally is running already."),
    ],
)
def test_the_system_command_refuses_what_it_cannot_do_and_changes_nothing(
    line: str, code: str, text: str
) -> None:
    stage, admin, omens = omens_stage()
    omens.failing = False
    (error,) = admin_says(stage, admin, line)
    assert error.type == "error" and error.data["code"] == code
    assert error.text.startswith(text)
    assert all(row.enabled for row in stage.engine.scheduler.stats())


def test_a_system_switched_off_twice_is_refused_the_second_time() -> None:
    stage, admin, omens = omens_stage()
    omens.failing = False
    admin_says(stage, admin, "system disable tally")
    (error,) = admin_says(stage, admin, "system disable tally")
    assert error.data["code"] == "already_disabled"
    assert error.text == "tally is off already (disabled by Nyarla at tick 1)."
