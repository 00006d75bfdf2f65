"""Combat: rounds every combat_round_s per fight, initiative, to-hit and damage, threat, fleeing,
the fight's end, and every refusal changing nothing. Seeded and driven tick by tick."""

from __future__ import annotations

import random
import re

import pytest

from components.body import Characteristics, Posture, PostureState, Vitals
from components.combat import Fighting, Threat
from engine.events import Scope
from engine.world import World
from net.protocol import parse_server_frame
from systems.combat import (
    CombatSettings,
    arms_of,
    flee_chance,
    hit_chance,
    strength_bonus,
)
from systems.dice import parse_dice
from systems.whereabouts import room_of
from systems.wounds import hurt
from tests.net.test_protocol import DOC, doc_blocks
from tests.systems.arena import CHAMPION, WEAKLING, Arena, arena, combat_events, errors

ALWAYS_HIT = CombatSettings(hit_chance_min=100, hit_chance_max=100)
ALWAYS_MISS = CombatSettings(hit_chance_min=0, hit_chance_max=0)


def fighting(world: World) -> dict[int, int | None]:
    """Who fights whom now: entity -> the entity it attacks."""
    return {body: world.entity_of(f.target) for body, f in world.query(Fighting)}


# --------------------------------------------------------------------------------------------------
# The rules as numbers


@pytest.mark.parametrize(
    ("attacker", "defender", "chance"),
    [
        (50, 50, 50),
        (60, 40, 60),
        (40, 60, 40),
        (90, 15, 87),
        (15, 90, 12),
        (250, 1, 95),
        (1, 250, 5),
    ],
)
def test_to_hit_is_50_plus_half_the_dex_difference_within_5_and_95(
    attacker: int, defender: int, chance: int
) -> None:
    assert hit_chance(attacker, defender, CombatSettings()) == chance


@pytest.mark.parametrize(
    ("strength", "bonus"), [(15, 0), (50, 0), (69, 0), (70, 1), (89, 1), (90, 2)]
)
def test_the_strength_bonus_is_a_point_per_20_above_50(strength: int, bonus: int) -> None:
    assert strength_bonus(strength, CombatSettings()) == bonus


@pytest.mark.parametrize(
    ("exits", "opponents", "chance"),
    [(2, 1, 0.6), (0, 1, 0.4), (0, 6, 0.1), (9, 0, 0.95), (3, 3, 0.5)],
)
def test_the_chance_to_flee_grows_with_exits_and_shrinks_with_opponents(
    exits: int, opponents: int, chance: float
) -> None:
    assert flee_chance(exits, opponents, CombatSettings()) == pytest.approx(chance)


def test_a_wielded_weapon_gives_its_dice_and_worn_armour_counts() -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    settings = CombatSettings()
    assert arms_of(stage.world, armitage, settings) == (None, parse_dice("1d3"), 0)
    stage.give(armitage, "rusty_knife", slot="main_hand")
    stage.give(armitage, "leather_coat", slot="torso")
    weapon, dice, armour = arms_of(stage.world, armitage, settings)
    assert (weapon, str(dice), armour) == ("a rusty knife", "1d4", 2)
    ghoul = stage.npc("ghoul")
    assert arms_of(stage.world, ghoul, settings) == (None, parse_dice("1d6"), 1)


# --------------------------------------------------------------------------------------------------
# Starting a fight, rounds and initiative


def test_attack_starts_a_fight_whose_first_round_comes_at_once_and_the_defender_fights_back() -> (
    None
):
    stage = arena()
    armitage = stage.player("Armitage")
    rat = stage.npc("rat")
    events = stage.type(armitage, "attack rat")
    assert fighting(stage.world) == {armitage: rat, rat: armitage}
    engage = combat_events(events, "engage", to=armitage)
    assert [e.text for e in engage] == ["You attack the fat rat!"]
    (round_,) = combat_events(events, "round", to=armitage)
    assert round_.data["round"] == 1
    blows = [e for e in combat_events(events, to=armitage) if e.data["kind"] in ("hit", "miss")]
    assert len(blows) == 2  # each fighter once (the rat's blow and Armitage's)


@pytest.mark.parametrize("verb", ["attack", "kill", "k"])
def test_kill_and_k_are_attack(verb: str) -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    rat = stage.npc("rat")
    stage.type(armitage, f"{verb} rat")
    assert fighting(stage.world)[armitage] == rat


@pytest.mark.parametrize("rate_hz", [5.0, 10.0, 20.0])
def test_a_round_comes_every_combat_round_s_at_any_tick_rate(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz, rules={"combat": CombatSettings(combat_round_s=2.0)})
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    stage.world.get(armitage, Vitals).dp = 10_000
    ghoul = stage.npc("ghoul")
    stage.world.get(ghoul, Vitals).dp = 10_000
    stage.type(armitage, "attack ghoul")
    started = stage.now_s  # the tick the attack was applied in: the first round's
    stage.run_s(7.0)
    rounds = combat_events(stage.log, "round", to=armitage)
    assert [round(e.tick / rate_hz - started, 6) for e in rounds] == [0.0, 2.0, 4.0, 6.0]
    assert [e.data["round"] for e in rounds] == [1, 2, 3, 4]


def test_each_fighter_acts_once_a_round_in_order_of_dex_plus_d10_ties_by_stable_id() -> None:
    stage = arena(rules={"combat": ALWAYS_MISS})
    quick = stage.player("Quick", characteristics=Characteristics(dexterity=90))
    slow = stage.player("Slow", characteristics=Characteristics(dexterity=20))
    stage.type(slow, "attack quick")
    for _ in range(5):
        rounds = combat_events(stage.log, "round", to=quick)
        stage.log.clear()
        assert rounds
        (round_,) = rounds
        order = round_.data["order"]
        # DEX 90 + 1d10 always beats DEX 20 + 1d10.
        assert order == [stage.world.stable_id(quick), stage.world.stable_id(slow)]
        stage.run_s(CombatSettings().combat_round_s)


def test_initiative_draws_dex_plus_d10_from_the_world_rng_in_the_order_fighters_joined() -> None:
    stage = arena(rules={"combat": ALWAYS_MISS})
    a = stage.player("Armitage", characteristics=Characteristics(dexterity=50))
    b = stage.player("Carter", characteristics=Characteristics(dexterity=52))
    replay = random.Random()
    stage.engine.submit_line(a, "attack carter")
    replay.setstate(stage.world.rng.getstate())
    result = stage.tick()
    rolls = {a: 50 + replay.randint(1, 10), b: 52 + replay.randint(1, 10)}
    sids = {a: stage.world.stable_id(a) or 0, b: stage.world.stable_id(b) or 0}
    expected = sorted(rolls, key=lambda e: (-rolls[e], sids[e]))
    (round_,) = combat_events(result.events, "round", to=a)
    assert round_.data["order"] == [sids[e] for e in expected]


def test_a_hit_does_the_dice_plus_the_strength_bonus_less_armour() -> None:
    stage = arena(rules={"combat": ALWAYS_HIT})
    strong = stage.player("Armitage", characteristics=Characteristics(strength=90))
    stage.give(strong, "rusty_knife", slot="main_hand")  # 1d4
    ghoul = stage.npc("ghoul")  # armour 1
    before = stage.world.get(ghoul, Vitals).dp
    events = stage.type(strong, "attack ghoul")
    sid = stage.world.stable_id(strong)
    (hit,) = [e for e in combat_events(events, "hit", to=strong) if e.data["attacker"] == sid]
    assert 1 + 2 - 1 <= hit.data["damage"] <= 4 + 2 - 1
    assert stage.world.get(ghoul, Vitals).dp == before - hit.data["damage"] == hit.data["dp"]
    assert hit.text == f"You hit the ghoul with your rusty knife for {hit.data['damage']} damage."


def test_a_hit_does_at_least_one_point_whatever_the_armour() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=100, unarmed_damage="1d1")})
    weak = stage.player("Armitage", characteristics=WEAKLING)
    rat = stage.npc("rat")
    stage.give(rat, "leather_coat", slot="torso")  # armour 2 against a blow of 1
    events = stage.type(weak, "attack rat")
    sid = stage.world.stable_id(weak)
    blows = [e for e in combat_events(events, "hit", to=weak) if e.data["attacker"] == sid]
    assert [e.data["damage"] for e in blows] == [1]


def test_a_miss_does_nothing_and_everyone_is_told() -> None:
    stage = arena(rules={"combat": ALWAYS_MISS})
    armitage = stage.player("Armitage")
    carter = stage.player("Carter")
    rat = stage.npc("rat")
    events = stage.type(armitage, "attack rat")
    assert stage.world.get(rat, Vitals).dp == 4
    assert [e.text for e in combat_events(events, "miss", to=armitage)] == [
        "The fat rat misses you.",
        "You miss the fat rat.",
    ] or [e.text for e in combat_events(events, "miss", to=armitage)] == [
        "You miss the fat rat.",
        "The fat rat misses you.",
    ]
    seen = [e for e in events if e.scope == Scope.room(stage.room("hall")) and e.type == "combat"]
    assert {e.text for e in seen if e.data["kind"] == "miss"} == {
        "Armitage misses the fat rat.",
        "The fat rat misses Armitage.",
    }
    assert all(carter not in e.exclude for e in seen)


# --------------------------------------------------------------------------------------------------
# Threat


def test_an_npc_turns_on_a_rival_only_when_its_threat_exceeds_the_targets_by_ten_percent() -> None:
    stage = arena(rules={"combat": ALWAYS_MISS})
    world = stage.world
    armitage = stage.player("Armitage")
    carter = stage.player("Carter")
    ghoul = stage.npc("ghoul")
    stage.type(armitage, "attack ghoul")
    stage.type(carter, "attack ghoul")
    assert fighting(world)[ghoul] == armitage
    a, c = world.stable_id(armitage) or 0, world.stable_id(carter) or 0
    world.add(ghoul, Threat(((a, 20), (c, 22))))  # 10 % more exactly: not enough
    stage.run_s(CombatSettings().combat_round_s)
    assert fighting(world)[ghoul] == armitage
    world.add(ghoul, Threat(((a, 20), (c, 23))))
    stage.log.clear()
    stage.run_s(CombatSettings().combat_round_s)
    assert fighting(world)[ghoul] == carter
    (switch,) = combat_events(stage.log, "switch", to=carter)
    assert switch.text == "The ghoul turns on you!"


def test_damage_adds_threat_point_for_point() -> None:
    stage = arena(rules={"combat": ALWAYS_HIT})
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    ghoul = stage.npc("ghoul")
    stage.world.get(ghoul, Vitals).dp = 1000
    stage.type(armitage, "attack ghoul")
    stage.run_s(3 * CombatSettings().combat_round_s)
    dealt = sum(
        e.data["damage"]
        for e in combat_events(stage.log, "hit", to=armitage)
        if e.data["attacker"] == stage.world.stable_id(armitage)
    )
    assert stage.world.get(ghoul, Threat).entries == ((stage.world.stable_id(armitage), dealt),)


# --------------------------------------------------------------------------------------------------
# Fleeing and the end of a fight


def test_a_successful_flee_leaves_through_an_open_exit_and_ends_the_fight() -> None:
    stage = arena(
        rules={"combat": CombatSettings(flee_chance_min=1.0, hit_chance_max=0, hit_chance_min=0)}
    )
    world = stage.world
    armitage = stage.player("Armitage")
    ghoul = stage.npc("ghoul")
    stage.type(armitage, "attack ghoul")
    queued = stage.type(armitage, "flee")
    assert [e.text for e in combat_events(queued, "queued", to=armitage)] == [
        "You look for a way out."
    ]
    stage.run_s(CombatSettings().combat_round_s)
    (fled,) = combat_events(stage.log, "flee", to=armitage)
    assert fled.data["direction"] in ("w", "down")  # the hall's open exits (north is a locked door)
    landed = {"w": "ward", "down": "cellar"}[fled.data["direction"]]
    assert room_of(world, armitage) == stage.room(landed)
    assert fighting(world) == {}  # the ghoul is left with nobody: its fight is over too
    assert ghoul in world.entities()


def test_a_failed_flee_wastes_the_round() -> None:
    stage = arena(rules={"combat": CombatSettings(flee_chance_min=0.0, flee_chance_max=0.0)})
    world = stage.world
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    stage.world.get(armitage, Vitals).dp = 1000
    ghoul = stage.npc("ghoul")
    world.get(ghoul, Vitals).dp = 1000
    stage.type(armitage, "attack ghoul")
    stage.log.clear()
    stage.type(armitage, "flee")
    stage.run_s(CombatSettings().combat_round_s)
    assert [e.text for e in combat_events(stage.log, "flee_failed", to=armitage)] == [
        "You try to flee. You cannot get away!"
    ]
    own = [
        e
        for e in combat_events(stage.log, to=armitage)
        if e.data.get("attacker") == world.stable_id(armitage)
    ]
    assert own == []  # no blow this round
    assert room_of(world, armitage) == stage.room("hall")
    assert fighting(world)[armitage] == ghoul


def test_a_sitting_fighter_stands_up_with_the_first_flee() -> None:
    stage = arena(rules={"combat": CombatSettings(flee_chance_min=1.0)})
    world = stage.world
    armitage = stage.player("Armitage")
    stage.npc("rat")
    stage.type(armitage, "attack rat")
    world.get(armitage, Posture).state = PostureState.SITTING
    stage.type(armitage, "flee")
    stage.run_s(CombatSettings().combat_round_s)
    assert [e.text for e in combat_events(stage.log, "stand", to=armitage)] == [
        "You scramble to your feet."
    ]
    assert world.get(armitage, Posture).state == PostureState.STANDING
    assert room_of(world, armitage) == stage.room("hall")  # standing took the round
    stage.type(armitage, "flee")
    stage.run_s(CombatSettings().combat_round_s)
    assert room_of(world, armitage) != stage.room("hall")


def test_a_second_queued_action_replaces_the_first() -> None:
    stage = arena(
        rules={"combat": CombatSettings(flee_chance_min=1.0, hit_chance_max=0, hit_chance_min=0)}
    )
    world = stage.world
    armitage = stage.player("Armitage")
    rat = stage.npc("rat")
    ghoul = stage.npc("ghoul")
    stage.type(armitage, "attack rat")
    stage.type(armitage, "flee")
    stage.type(armitage, "attack ghoul")  # replaces the flee
    stage.run_s(CombatSettings().combat_round_s)
    assert room_of(world, armitage) == stage.room("hall")
    assert fighting(world)[armitage] == ghoul
    assert fighting(world)[ghoul] == armitage  # it fights back
    assert fighting(world)[rat] == armitage


def test_nobody_stays_fighting_when_the_other_side_is_gone() -> None:
    stage = arena(rules={"combat": ALWAYS_MISS})
    world = stage.world
    armitage = stage.player("Armitage")
    staff = stage.player("Wilmarth")
    stage.npc("rat")
    stage.type(armitage, "attack rat")
    stage.engine.submit_line(staff, "despawn rat", role="admin")
    result = stage.tick()
    assert fighting(world) == {}
    (end,) = combat_events(result.events, "end", to=armitage)
    assert end.text == "The fat rat is gone. The fight is over."


# --------------------------------------------------------------------------------------------------
# Where and whom one may fight: refusals that change nothing


def refused_changes_nothing(stage: Arena, actor: int, line: str) -> str:
    """``line``'s error code, after checking that the command itself changed nothing."""
    stage.world.collect_changes()  # the set-up's changes are not the command's
    stage.engine.submit_line(actor, line)
    result = stage.engine.tick(trace=True)
    ((item, changes), *_rest) = result.trace
    assert item is not None and len(changes) == 0 and not changes.spawned and not changes.destroyed
    codes = errors(e for e in result.events if e.scope == Scope.entity(actor))
    assert len(codes) == 1, codes
    return codes[0]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("attack me", "attack_self"),
        ("attack self", "attack_self"),
        ("attack armitage", "attack_self"),
        ("attack knife", "not_attackable"),
        ("attack key", "not_attackable"),
        ("attack carter", "no_such_target"),  # in the ward, not here
        ("attack dragon", "no_such_target"),
        ("attack all", "bad_target"),
        ("flee", "not_fighting"),
        ("consider dragon", "no_such_target"),
    ],
)
def test_bad_targets_are_refused_and_change_nothing(line: str, code: str) -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    stage.player("Carter", room="ward")
    assert refused_changes_nothing(stage, armitage, line) == code


def test_a_target_that_died_is_refused_as_dead() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=100, unarmed_damage="20d6")})
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    carter = stage.player("Carter")
    stage.npc("rat")
    stage.type(armitage, "attack rat")  # one blow: dead
    assert refused_changes_nothing(stage, carter, "attack rat") == "target_dead"


def test_a_no_combat_room_refuses_attack() -> None:
    stage = arena()
    armitage = stage.player("Armitage", room="ward")  # where the orderly stands
    assert refused_changes_nothing(stage, armitage, "attack orderly") == "no_combat"


def test_the_dark_refuses_attack() -> None:
    stage = arena()
    armitage = stage.player("Armitage", room="cellar")
    stage.npc("rat", room="cellar")
    assert refused_changes_nothing(stage, armitage, "attack rat") == "too_dark"


def test_a_fighter_cannot_walk_away_or_quit() -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    stage.npc("rat")
    stage.type(armitage, "attack rat")
    assert errors(stage.type(armitage, "west")) == ["fighting"]
    assert errors(stage.type(armitage, "quit")) == ["fighting"]


def test_attacking_the_same_target_again_is_refused() -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    stage.npc("rat")
    stage.type(armitage, "attack rat")
    assert refused_changes_nothing(stage, armitage, "attack rat") == "already_fighting"


# --------------------------------------------------------------------------------------------------
# consider


def test_consider_says_how_a_fight_would_likely_go() -> None:
    stage = arena()
    weak = stage.player("Weakling", characteristics=WEAKLING)
    strong = stage.player("Champion", characteristics=CHAMPION)
    stage.give(strong, "silver_knife", slot="main_hand")
    stage.npc("ghoul")
    stage.npc("rat")
    (doomed,) = [e for e in stage.type(weak, "consider ghoul") if e.type == "consider"]
    assert doomed.text == "You size up the ghoul: you would not survive."
    assert doomed.data["verdict"] == "deadly"
    (easy,) = [e for e in stage.type(strong, "consider rat") if e.type == "consider"]
    assert easy.data["verdict"] in ("trivial", "easy")
    twin = stage.player("Twin", characteristics=CHAMPION)
    stage.give(twin, "silver_knife", slot="main_hand")
    (even,) = [e for e in stage.type(strong, "consider twin") if e.type == "consider"]
    assert even.text == "You size up Twin: an even match."


# --------------------------------------------------------------------------------------------------
# The same fight at any tick rate


def a_fight_to_the_death(rate_hz: float) -> list[tuple[float, str, str]]:
    """A weak player against the ghoul until one of them is dead and the player wakes again:
    every event the player and the room get, with its game time."""
    stage = arena(rate_hz=rate_hz)
    armitage = stage.player("Armitage", characteristics=WEAKLING)
    stage.give(armitage, "rusty_knife", slot="main_hand")
    stage.npc("ghoul")
    hall = stage.room("hall")
    stage.ready_at(3.0)
    stage.type(armitage, "attack ghoul")
    stage.run_s(200.0)
    return [
        (round(e.tick / rate_hz, 6), e.type, e.text)
        for e in stage.log
        if e.scope in (Scope.entity(armitage), Scope.room(hall))
    ]


def test_a_fight_plays_the_same_at_5_hz_and_at_20_hz() -> None:
    slow, fast = a_fight_to_the_death(5.0), a_fight_to_the_death(20.0)
    assert slow == fast
    texts = [text for _, _, text in slow]
    assert any(t.startswith("You collapse, mortally wounded.") for t in texts)
    assert any(t.startswith("You have died.") for t in texts)
    assert any(t.startswith("You wake with a gasp") for t in texts)


# --------------------------------------------------------------------------------------------------
# What the protocol documents is what a fight sends


def every_kind_of_combat_event() -> dict[str, set[str]]:
    """Staged fights that produce every kind of ``combat`` event: kind -> the keys of its data."""
    seen: dict[str, set[str]] = {}
    # A fight to the ghoul's death, with a switch of target, a stand, a failed and a good flee.
    stage = arena(rules={"combat": CombatSettings(flee_chance_min=0.0, flee_chance_max=0.0)})
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    stage.give(armitage, "rusty_knife", slot="main_hand")
    carter = stage.player("Carter", characteristics=CHAMPION)
    stage.npc("rat")
    stage.npc("ghoul")
    stage.type(armitage, "attack ghoul")
    stage.type(armitage, "attack rat")  # queued: a switch at the next turn
    stage.world.get(carter, Posture).state = PostureState.SITTING
    stage.type(carter, "attack ghoul")
    stage.type(carter, "flee")  # stands up
    stage.run_s(3.0)
    stage.type(carter, "flee")  # cannot get away
    stage.run_until(lambda: stage.world.count(Fighting) == 0, limit_s=600)
    stage.run_s(60.0)  # whoever is down bleeds to death
    # A fight fled for good, and a player bleeding.
    away = arena(rules={"combat": CombatSettings(flee_chance_min=1.0)})
    dyer = away.player("Dyer")
    away.npc("rat")
    away.type(dyer, "attack rat")
    away.type(dyer, "flee")
    away.run_s(3.0)
    hurt(away.world, dyer, away.world.get(dyer, Vitals).dp)
    away.run_s(4.0)
    for event in [*stage.log, *away.log]:
        if event.type == "combat":
            seen.setdefault(str(event.data["kind"]), set()).update(event.data)
    return seen


def test_the_protocol_documents_every_kind_of_combat_message_with_the_keys_a_fight_sends() -> None:
    seen = every_kind_of_combat_event()
    table = set(re.findall(r"^\| `([a-z_]+)` \| ", DOC.read_text(encoding="utf-8"), re.MULTILINE))
    assert set(seen) <= table
    assert set(seen) == {
        "engage",
        "round",
        "hit",
        "miss",
        "switch",
        "queued",
        "stand",
        "flee",
        "flee_failed",
        "mortally_wounded",
        "bleed",
        "death",
        "experience",
        "end",
    }
    examples = [parse_server_frame(b.body) for b in doc_blocks("server")]
    combat = [m for m in examples if m.type == "combat"]
    assert combat
    for message in combat:
        kind = str(message.data["kind"])
        assert set(message.data) == seen[kind], kind
