"""Staff commands: only admins may use them, each does what it says and is logged."""

from __future__ import annotations

import logging

import pytest

from components.body import Npc
from components.combat import Fighting
from components.content import Directory
from components.social import Muted
from engine.core import Engine, StopRequest, TickResult
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
