"""Rules of the command layer: typed lines, argument patterns, the registry, dispatch, the inbox."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from engine.commands import (
    MAX_ARG_WORDS,
    Args,
    BadArguments,
    Command,
    CommandInbox,
    CommandRegistry,
    CommandSpec,
    DuplicateCommandError,
    InboxFull,
    Input,
    Refused,
    UsageError,
    UsagePattern,
)
from engine.events import Event, Scope
from engine.inputs import EnterWorld, LeaveWorld

# --------------------------------------------------------------------------------------------------
# Helpers


@dataclass
class FakeWorld:
    """Records what handlers and the registry emit; implements ``CommandWorld``."""

    events: list[Event] = field(default_factory=list)

    def emit(
        self,
        type: str,
        scope: Scope,
        text: str = "",
        data: Mapping[str, Any] | None = None,
        exclude: Iterable[int] = (),
    ) -> None:
        self.events.append(Event(type, scope, text, dict(data or {}), exclude=frozenset(exclude)))

    def errors(self) -> list[Event]:
        return [event for event in self.events if event.type == "error"]


@dataclass
class Recorder:
    """A handler that remembers what it was called with."""

    calls: list[tuple[Command, Args]] = field(default_factory=list)

    def __call__(self, world: FakeWorld, cmd: Command, args: Args) -> None:
        self.calls.append((cmd, args))


def spec(verb: str, usage: str = "", **kwargs: Any) -> CommandSpec[Any]:
    kwargs.setdefault("handler", Recorder())
    return CommandSpec(verb=verb, usage=usage, **kwargs)


def parse(usage: str, args: str) -> dict[str, Any]:
    return dict(UsagePattern.compile(usage, "test").match(args))


def run(registry: CommandRegistry, line: str, actor: int = 7, role: str = "player") -> FakeWorld:
    world = FakeWorld()
    registry.dispatch(world, registry.parse_line(actor, line, received_tick=1, role=role))
    return world


# --------------------------------------------------------------------------------------------------
# Typed lines


def test_a_line_splits_into_a_lower_case_verb_and_the_raw_rest() -> None:
    cmd = Command.from_line(3, "  GET   Rusty  Knife  ", received_tick=12)
    assert cmd == Command(actor=3, verb="get", args="Rusty  Knife", received_tick=12)


def test_a_verb_alone_has_empty_args() -> None:
    assert Command.from_line(3, "look", 0).args == ""


def test_a_blank_line_gives_the_empty_verb_and_dispatches_to_nothing() -> None:
    cmd = Command.from_line(3, "   ", 0)
    assert cmd.verb == ""
    world = FakeWorld()
    assert CommandRegistry().dispatch(world, cmd) is False
    assert world.events == []


def test_a_quote_means_say_and_a_colon_means_emote() -> None:
    assert Command.from_line(1, "'Hello there", 0) == Command(1, "say", "Hello there", 0)
    assert Command.from_line(1, "  : waves slowly", 0) == Command(1, "emote", "waves slowly", 0)


def test_prefix_aliases_are_a_registry_mechanism_not_a_special_case() -> None:
    registry = CommandRegistry(prefix_aliases={})
    assert registry.parse_line(1, "'hi", 0).verb == "'hi"
    registry.add_prefix_alias("!", "shout")
    registry.add_prefix_alias("!", "shout")  # the same pair again is harmless
    assert registry.parse_line(1, "!RUN", 0) == Command(1, "shout", "RUN", 0)
    assert dict(registry.prefix_aliases) == {"!": "shout"}


def test_a_prefix_cannot_be_rebound_or_be_a_letter() -> None:
    registry = CommandRegistry()
    with pytest.raises(ValueError, match="already means 'say'"):
        registry.add_prefix_alias("'", "shout")
    for bad in ("a", "", "!!", " "):
        with pytest.raises(ValueError, match="one punctuation character"):
            registry.add_prefix_alias(bad, "shout")


def test_a_prefix_alias_line_dispatches_to_its_verb() -> None:
    registry = CommandRegistry()
    say = Recorder()
    registry.register(spec("say", "<message...>", handler=say))
    run(registry, "'the stars are right")
    assert say.calls[0][1] == {"message": "the stars are right"}


# --------------------------------------------------------------------------------------------------
# Argument patterns


def test_get_splits_item_from_container_at_the_literal() -> None:
    usage = "<item...> [from <container...>]"
    assert parse(usage, "rusty knife from old chest") == {
        "item": "rusty knife",
        "container": "old chest",
    }


def test_an_absent_optional_group_gives_none() -> None:
    assert parse("<item...> [from <container...>]", "rusty knife") == {
        "item": "rusty knife",
        "container": None,
    }


def test_a_rest_argument_stops_at_the_first_literal_that_can_match() -> None:
    assert parse("<item...> [from <container...>]", "box from shelf from room") == {
        "item": "box",
        "container": "shelf from room",
    }


def test_a_literal_that_cannot_match_is_absorbed_into_the_rest_argument() -> None:
    assert parse("<item...> [from <container...>]", "knife from") == {
        "item": "knife from",
        "container": None,
    }


def test_literals_match_case_insensitively_and_words_keep_their_case() -> None:
    assert parse("<item...> [from <container...>]", "Rusty Knife FROM Old Chest") == {
        "item": "Rusty Knife",
        "container": "Old Chest",
    }


def test_rest_arguments_join_words_with_single_spaces() -> None:
    assert parse("<message...>", "  the   stars\tare  right ") == {"message": "the stars are right"}


def test_whisper_takes_one_target_word_and_the_rest_as_message() -> None:
    assert parse("<target> <message...>", "Nyarlathotep meet me at the gate") == {
        "target": "Nyarlathotep",
        "message": "meet me at the gate",
    }


def test_say_needs_at_least_one_word() -> None:
    with pytest.raises(BadArguments, match=r"Missing <message>\."):
        parse("<message...>", "")


def test_mute_converts_minutes_to_an_integer_when_given() -> None:
    assert parse("<target> [<minutes:int>]", "Wilbur 15") == {"target": "Wilbur", "minutes": 15}
    assert parse("<target> [<minutes:int>]", "Wilbur -3") == {"target": "Wilbur", "minutes": -3}
    assert parse("<target> [<minutes:int>]", "Wilbur") == {"target": "Wilbur", "minutes": None}


def test_a_non_integer_where_an_integer_is_expected_says_so() -> None:
    with pytest.raises(BadArguments, match=r"<minutes> must be a whole number, not 'ten'\."):
        parse("<target> [<minutes:int>]", "Wilbur ten")
    with pytest.raises(BadArguments, match="<minutes> is too large"):
        parse("<target> [<minutes:int>]", "Wilbur " + "9" * 40)


def test_go_takes_exactly_one_direction() -> None:
    assert parse("<direction>", "north") == {"direction": "north"}
    with pytest.raises(BadArguments, match=r"Missing <direction>\."):
        parse("<direction>", "")
    with pytest.raises(BadArguments, match=r"Unexpected 'east'\."):
        parse("<direction>", "north east")


def test_a_verb_with_empty_usage_takes_no_arguments() -> None:
    assert parse("", "") == {}
    with pytest.raises(BadArguments, match="'test' takes no arguments"):
        parse("", "at the sky")


def test_look_takes_an_optional_target_of_any_length() -> None:
    assert parse("[<target...>]", "") == {"target": None}
    assert parse("[<target...>]", "the shoggoth") == {"target": "the shoggoth"}


def test_optional_groups_nest() -> None:
    usage = "<item...> [in <container...> [on <shelf...>]]"
    assert parse(usage, "ring") == {"item": "ring", "container": None, "shelf": None}
    assert parse(usage, "ring in iron box") == {
        "item": "ring",
        "container": "iron box",
        "shelf": None,
    }
    assert parse(usage, "ring in iron box on top shelf") == {
        "item": "ring",
        "container": "iron box",
        "shelf": "top shelf",
    }


def test_a_rest_argument_stops_at_a_literal_inside_a_following_group() -> None:
    usage = "<item...> [[with] <count:int>] [to <target>]"
    assert parse(usage, "old coin to Armitage") == {
        "item": "old coin",
        "count": None,
        "target": "Armitage",
    }
    assert parse(usage, "old coin with 3 to Armitage") == {
        "item": "old coin",
        "count": 3,
        "target": "Armitage",
    }


def test_a_rest_argument_with_no_literal_after_it_is_greedy() -> None:
    assert parse("<words...> [<last>]", "a b c") == {"words": "a b c", "last": None}


def test_matching_backtracks_to_leave_words_for_required_arguments() -> None:
    assert parse("<words...> <last>", "a b c") == {"words": "a b", "last": "c"}
    assert parse("<item...> to <target>", "the silver key to Carter") == {
        "item": "the silver key",
        "target": "Carter",
    }


def test_a_missing_required_literal_is_named() -> None:
    with pytest.raises(BadArguments, match=r"Missing 'to'\."):
        parse("<item> to <target>", "key")
    with pytest.raises(BadArguments, match=r"Expected 'to', not 'for'\."):
        parse("<item> to <target>", "key for Carter")


def test_more_words_than_the_cap_are_refused() -> None:
    line = " ".join(["word"] * (MAX_ARG_WORDS + 1))
    with pytest.raises(BadArguments, match=f"at most {MAX_ARG_WORDS}"):
        parse("<message...>", line)
    assert parse("<message...>", " ".join(["word"] * MAX_ARG_WORDS))["message"].count("word") == 64


def test_a_pathological_pattern_still_matches_quickly() -> None:
    pattern = UsagePattern.compile("<a...> <b...> [x] <c...> [x] <d...> y", "slow")
    started = time.perf_counter()
    with pytest.raises(BadArguments):
        pattern.match(" ".join(["x"] * MAX_ARG_WORDS))
    assert time.perf_counter() - started < 1.0


def test_args_are_read_only_with_typed_getters() -> None:
    args = UsagePattern.compile("<target> [<minutes:int>]", "mute").match("Wilbur 5")
    assert args.text("target") == "Wilbur"
    assert args.number("minutes") == 5
    assert args.opt_number("minutes") == 5
    with pytest.raises(TypeError):
        args["target"] = "other"  # type: ignore[index]
    with pytest.raises(TypeError):
        args.number("target")
    with pytest.raises(KeyError):
        args.text("victim")
    absent = UsagePattern.compile("<target> [<minutes:int>]", "mute").match("Wilbur")
    assert absent.opt_number("minutes") is None
    with pytest.raises(TypeError):
        absent.number("minutes")


@pytest.mark.parametrize(
    "usage",
    [
        "<item",
        "item>",
        "[from <container>",
        "from <container>]",
        "<item> []",
        "<target> <target>",
        "<count:int...>",
        "<bad name>",
        "<1st>",
        "<count:float>",
        "<>",
    ],
)
def test_a_malformed_pattern_is_refused_at_registration_naming_the_verb(usage: str) -> None:
    with pytest.raises(UsageError, match="malformed usage for command 'broken'"):
        CommandRegistry().register(spec("broken", usage, plugin="mymod"))


def test_a_usage_that_repeats_the_verb_is_refused() -> None:
    with pytest.raises(UsageError, match="repeats the verb"):
        CommandRegistry().register(spec("get", "get <item...>"))


def test_a_refused_registration_leaves_the_registry_unchanged() -> None:
    registry = CommandRegistry()
    with pytest.raises(UsageError):
        registry.register(spec("get", "<item", aliases=("take",)))
    assert registry.resolve("get") is None
    assert registry.resolve("take") is None


# --------------------------------------------------------------------------------------------------
# The registry


def test_verbs_and_aliases_resolve_case_insensitively() -> None:
    registry = CommandRegistry()
    look = spec("look", "[<target...>]", aliases=("l", "examine"))
    registry.register(look)
    assert registry.resolve("look") is look
    assert registry.resolve("LOOK") is look
    assert registry.resolve("Examine") is look
    assert registry.resolve("l") is look


def test_an_alias_dispatches_to_its_verb() -> None:
    registry = CommandRegistry()
    get = Recorder()
    registry.register(
        spec("get", "<item...> [from <container...>]", aliases=("take",), handler=get)
    )
    run(registry, "TAKE lamp from altar")
    assert get.calls[0][1] == {"item": "lamp", "container": "altar"}
    assert get.calls[0][0].verb == "take"


def test_a_unique_prefix_abbreviates_a_verb() -> None:
    registry = CommandRegistry()
    inventory = spec("inventory", aliases=("invent",))
    registry.register(inventory)
    registry.register(spec("look"))
    assert registry.resolve("inv") is inventory
    assert registry.resolve("i") is inventory


def test_an_ambiguous_prefix_resolves_to_nothing() -> None:
    registry = CommandRegistry()
    registry.register(spec("look"))
    registry.register(spec("list"))
    assert registry.resolve("l") is None
    assert registry.resolve("") is None


def test_a_verb_that_is_not_abbreviable_is_found_only_whole_and_leaves_prefixes_to_others() -> None:
    registry = CommandRegistry()
    look = spec("look")
    registry.register(look)
    loot = spec("loot", abbreviable=False)
    registry.register(loot)
    assert registry.resolve("loo") is look
    assert registry.resolve("loot") is loot
    assert "loot" in registry.suggest("loto")  # still offered for a typo


def test_an_exact_name_beats_a_longer_verb_it_abbreviates() -> None:
    registry = CommandRegistry()
    look = spec("look", aliases=("l",))
    registry.register(look)
    registry.register(spec("list"))
    assert registry.resolve("l") is look


def test_registering_a_verb_twice_names_both_plugins() -> None:
    registry = CommandRegistry()
    registry.register(spec("look", plugin="core"))
    with pytest.raises(DuplicateCommandError) as caught:
        registry.register(spec("look", plugin="mymod"))
    message = str(caught.value)
    assert "'look'" in message
    assert "plugin 'core'" in message
    assert "plugin 'mymod'" in message


def test_an_alias_that_clashes_with_another_command_is_refused() -> None:
    registry = CommandRegistry()
    registry.register(spec("get", aliases=("take",), plugin="core"))
    with pytest.raises(DuplicateCommandError, match=r"'take'.*alias of command 'get'.*'core'"):
        registry.register(spec("grab", aliases=("take",), plugin="mymod"))
    with pytest.raises(DuplicateCommandError, match="verb of command 'get'"):
        registry.register(spec("fetch", aliases=("get",), plugin="mymod"))
    assert registry.resolve("grab") is None


def test_a_name_repeated_within_one_spec_is_refused() -> None:
    with pytest.raises(DuplicateCommandError, match="appears twice"):
        CommandRegistry().register(spec("look", aliases=("l", "l")))


def test_verbs_must_be_single_lower_case_words() -> None:
    for verb in ("Look", "look around", "", "<look>"):
        with pytest.raises(ValueError, match="verb or alias"):
            CommandRegistry().register(spec(verb))


def test_an_unknown_minimum_role_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown role 'god'"):
        CommandRegistry().register(spec("smite", role="god"))


def test_suggestions_offer_close_spellings() -> None:
    registry = CommandRegistry()
    for verb in ("look", "lock", "inventory", "say"):
        registry.register(spec(verb))
    assert set(registry.suggest("lok")[:2]) == {"look", "lock"}
    assert "inventory" in registry.suggest("invetory")
    assert registry.suggest("xyzzy") == []


def test_suggestions_for_an_ambiguous_prefix_list_its_candidates_first() -> None:
    registry = CommandRegistry()
    for verb in ("look", "list", "say"):
        registry.register(spec(verb))
    assert registry.suggest("l")[:2] == ["list", "look"]


def test_help_shows_usage_aliases_and_text() -> None:
    registry = CommandRegistry()
    registry.register(
        spec("get", "<item...> [from <container...>]", aliases=("take",), help="Pick it up.")
    )
    assert registry.help_for("take") == (
        "Usage: get <item...> [from <container...>]\nAliases: take\nPick it up."
    )
    assert registry.help_for("nothing") is None


def test_help_text_is_shown_without_markup() -> None:
    registry = CommandRegistry()
    registry.register(spec("gaze", help="Watch the sky for ``gaze_s`` seconds (see :func:`x`)."))
    assert registry.help_for("gaze") == "Usage: gaze\nWatch the sky for gaze_s seconds (see x)."


def test_specs_are_listed_by_category_then_verb_whatever_the_load_order() -> None:
    registry = CommandRegistry()
    for verb, category in (("say", "talk"), ("look", "general"), ("emote", "talk"), ("go", "")):
        registry.register(spec(verb, category=category))
    assert [s.verb for s in registry.specs()] == ["go", "look", "emote", "say"]


# --------------------------------------------------------------------------------------------------
# Dispatch


def test_dispatch_runs_the_handler_with_the_parsed_arguments() -> None:
    registry = CommandRegistry()
    get = Recorder()
    registry.register(spec("get", "<item...> [from <container...>]", handler=get))
    world = FakeWorld()
    cmd = Command(actor=5, verb="get", args="rusty knife from old chest", received_tick=9)
    assert registry.dispatch(world, cmd) is True
    assert get.calls == [(cmd, Args({"item": "rusty knife", "container": "old chest"}))]
    assert world.events == []


def test_handlers_emit_events_through_the_world() -> None:
    def say(world: FakeWorld, cmd: Command, args: Args) -> None:
        world.emit("say", Scope.room(100), f"Someone says '{args.text('message')}'.")

    registry = CommandRegistry()
    registry.register(CommandSpec(verb="say", handler=say, usage="<message...>"))
    world = run(registry, "'Ia! Ia!")
    assert [(e.type, e.scope, e.text) for e in world.events] == [
        ("say", Scope.room(100), "Someone says 'Ia! Ia!'.")
    ]


def test_an_unknown_verb_tells_only_the_actor_with_suggestions() -> None:
    registry = CommandRegistry()
    registry.register(spec("look"))
    world = run(registry, "lok around", actor=42)
    [error] = world.events
    assert error.type == "error"
    assert error.scope == Scope.entity(42)
    assert error.text == "Unknown command 'lok'. Did you mean: look?"
    assert dict(error.data) == {
        "code": "unknown_command",
        "message": "Unknown command 'lok'. Did you mean: look?",
        "suggestions": ["look"],
    }


def test_an_unknown_verb_with_no_close_match_points_to_help() -> None:
    registry = CommandRegistry()
    registry.register(spec("help"))
    [error] = run(registry, "xyzzy").events
    assert error.text == "Unknown command 'xyzzy'. Type 'help' for a list of commands."
    assert error.data["suggestions"] == []


def test_bad_arguments_reply_with_the_usage_line() -> None:
    registry = CommandRegistry()
    get = Recorder()
    registry.register(spec("get", "<item...> [from <container...>]", handler=get))
    world = FakeWorld()
    assert registry.dispatch(world, Command(1, "get", "", 0)) is False
    [error] = world.events
    assert error.data["code"] == "bad_args"
    assert error.text == "Missing <item>. Usage: get <item...> [from <container...>]"
    assert error.data["message"] == error.text
    assert error.data["usage"] == "get <item...> [from <container...>]"
    assert get.calls == []


def test_a_no_argument_verb_given_arguments_is_bad_args() -> None:
    registry = CommandRegistry()
    registry.register(spec("quit"))
    [error] = run(registry, "quit now").events
    assert error.data["code"] == "bad_args"
    assert error.text == "'quit' takes no arguments. Usage: quit"


def test_an_integer_error_reaches_the_player() -> None:
    registry = CommandRegistry()
    registry.register(spec("mute", "<target> [<minutes:int>]", role="builder"))
    [error] = run(registry, "mute Wilbur soon", role="admin").events
    assert error.text == (
        "<minutes> must be a whole number, not 'soon'. Usage: mute <target> [<minutes:int>]"
    )


def test_a_command_is_a_players_unless_its_role_says_otherwise() -> None:
    registry = CommandRegistry()
    dig = Recorder()
    registry.register(spec("dig", "<direction>", role="builder", handler=dig))
    [error] = run(registry, "dig north").events
    assert error.data == {"code": "forbidden", "message": "You are not allowed to use 'dig'."}
    assert dig.calls == []


def test_a_role_may_use_commands_of_its_own_and_lower_roles() -> None:
    registry = CommandRegistry()
    registry.register(spec("dig", "<direction>", role="builder"))
    registry.register(spec("shutdown", role="admin"))
    registry.register(spec("look"))
    roles = {1: "player", 2: "builder", 3: "admin"}
    world = FakeWorld()
    outcomes = {
        (actor, verb): registry.dispatch(world, Command(actor, verb, args, 0, roles[actor]))
        for actor in roles
        for verb, args in (("dig", "up"), ("shutdown", ""), ("look", ""))
    }
    assert outcomes == {
        (1, "dig"): False,
        (1, "shutdown"): False,
        (1, "look"): True,
        (2, "dig"): True,
        (2, "shutdown"): False,
        (2, "look"): True,
        (3, "dig"): True,
        (3, "shutdown"): True,
        (3, "look"): True,
    }
    assert {e.data["code"] for e in world.events} == {"forbidden"}


def test_role_is_checked_before_arguments_so_usage_is_not_revealed() -> None:
    registry = CommandRegistry()
    registry.register(spec("ban", "<target> <minutes:int>", role="admin"))
    [error] = run(registry, "ban").events
    assert error.data["code"] == "forbidden"


def test_an_unknown_role_counts_as_player(caplog: pytest.LogCaptureFixture) -> None:
    registry = CommandRegistry()
    registry.register(spec("dig", "<direction>", role="builder"))
    with caplog.at_level(logging.WARNING, logger="kadath.commands"):
        [error] = run(registry, "dig up", role="wizard").events
    assert error.data["code"] == "forbidden"
    assert "unknown role 'wizard'" in caplog.text


def test_players_are_not_offered_commands_above_their_role() -> None:
    registry = CommandRegistry()
    registry.register(spec("shutdown", role="admin"))
    registry.register(spec("shout"))
    [error] = run(registry, "shutdwn").events
    assert error.data["suggestions"] == ["shout"]
    [error] = run(registry, "shutdwn", role="admin").events
    assert error.data["suggestions"][0] == "shutdown"


def test_a_crashing_handler_is_logged_counted_and_reported_politely(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(world: FakeWorld, cmd: Command, args: Args) -> None:
        raise ZeroDivisionError("the void stares back")

    registry = CommandRegistry()
    registry.register(spec("gaze", handler=broken, plugin="mymod"))
    world = FakeWorld()
    with caplog.at_level(logging.ERROR, logger="kadath.commands"):
        assert registry.dispatch(world, Command(4, "gaze", "", 0)) is False
        assert registry.dispatch(world, Command(4, "gaze", "", 1)) is False
    assert registry.failure_counts["gaze"] == 2
    assert [e.data["code"] for e in world.events] == ["internal_error", "internal_error"]
    assert world.events[0].scope == Scope.entity(4)
    assert "void" not in world.events[0].text  # the player is not shown internals
    assert "ZeroDivisionError" in caplog.text  # the operator sees the traceback
    assert caplog.records[0].exc_info is not None


def test_a_crashing_handler_does_not_affect_other_commands() -> None:
    def broken(world: FakeWorld, cmd: Command, args: Args) -> None:
        raise RuntimeError("boom")

    registry = CommandRegistry()
    look = Recorder()
    registry.register(spec("gaze", handler=broken))
    registry.register(spec("look", handler=look))
    world = FakeWorld()
    results = [
        registry.dispatch(world, Command(1, verb, "", 0)) for verb in ("gaze", "look", "gaze")
    ]
    assert results == [False, True, False]
    assert len(look.calls) == 1
    assert dict(registry.failure_counts) == {"gaze": 2}


def test_the_role_travels_with_the_command_from_the_typed_line() -> None:
    registry = CommandRegistry()
    command = registry.parse_line(7, "'hello", received_tick=3, role="admin")
    assert command == Command(7, "say", "hello", 3, role="admin")
    assert Command.from_line(7, "look", 3).role == "player"


def test_failure_counts_are_read_only() -> None:
    counts = CommandRegistry().failure_counts
    with pytest.raises(TypeError):
        counts["look"] = 1  # type: ignore[index]


# --------------------------------------------------------------------------------------------------
# Refusals: a handler raises Refused, dispatch tells the actor


@dataclass
class Candle:
    lit: bool = False


def light_handler(candle: Candle) -> Any:
    """A rule read straight down: every check raises before the one change is made."""

    def light(world: FakeWorld, cmd: Command, args: Args) -> None:
        if candle.lit:
            raise Refused("already_lit", "Your candle is already lit.", burn_left_s=12.5)
        if args.opt_text("how") == "underwater":
            raise Refused("wet", "Water will not let it burn.")
        candle.lit = True
        world.emit("candle_lit", Scope.entity(cmd.actor), "You light your candle.")

    return light


def test_a_refused_command_tells_only_the_actor_its_code_text_and_data() -> None:
    registry = CommandRegistry()
    registry.register(spec("light", "[<how>]", handler=light_handler(Candle(lit=True))))
    world = FakeWorld()
    assert registry.dispatch(world, Command(9, "light", "", 0)) is False
    [error] = world.events
    assert error.type == "error"
    assert error.scope == Scope.entity(9)
    assert error.text == "Your candle is already lit."
    assert list(error.data.items()) == [
        ("code", "already_lit"),
        ("message", "Your candle is already lit."),
        ("burn_left_s", 12.5),
    ]


def test_a_refusal_is_a_reply_not_a_failure_and_the_world_stays_as_it_was(
    caplog: pytest.LogCaptureFixture,
) -> None:
    candle = Candle()
    registry = CommandRegistry()
    registry.register(spec("light", "[<how>]", handler=light_handler(candle)))
    world = FakeWorld()
    with caplog.at_level(logging.DEBUG, logger="kadath.commands"):
        assert registry.dispatch(world, Command(9, "light", "underwater", 0)) is False
    assert candle == Candle(lit=False)
    assert [(e.type, dict(e.data)) for e in world.events] == [
        ("error", {"code": "wet", "message": "Water will not let it burn."})
    ]
    assert dict(registry.failure_counts) == {}
    assert caplog.records == []
    assert registry.dispatch(world, Command(9, "light", "", 1)) is True
    assert candle == Candle(lit=True)
    assert world.events[-1].type == "candle_lit"


def test_a_refusal_carries_its_reason_as_text_and_its_message_is_that_text() -> None:
    refused = Refused("no_exit", "You cannot go north.", direction="n")
    assert (refused.code, refused.text, refused.data) == (
        "no_exit",
        "You cannot go north.",
        {"direction": "n"},
    )
    assert str(refused) == "You cannot go north."
    assert repr(refused) == "Refused('no_exit', 'You cannot go north.', direction='n')"
    with pytest.raises(TypeError, match="message"):
        Refused("no_exit", "You cannot go north.", message="another text")


def test_gates_are_asked_in_order_once_the_arguments_fit_and_may_refuse_any_command() -> None:
    candle = Candle()
    registry = CommandRegistry()
    registry.register(spec("light", "[<how>]", handler=light_handler(candle)))
    asked: list[tuple[str, str, int]] = []

    def calm(world: FakeWorld, cmd: Command, found: CommandSpec[Any]) -> None:
        asked.append(("calm", found.verb, cmd.actor))

    def shaking(world: FakeWorld, cmd: Command, found: CommandSpec[Any]) -> None:
        asked.append(("shaking", found.verb, cmd.actor))
        if cmd.actor == 9:
            raise Refused("misfire", "Your hands shake too much.", verb=found.verb)

    registry.add_gate(calm)
    registry.add_gate(shaking)
    world = FakeWorld()
    assert registry.dispatch(world, Command(9, "light", "in the dark please", 0)) is False
    assert asked == []  # bad arguments are told as such: no gate is asked
    assert registry.dispatch(world, Command(9, "lig", "", 0)) is False
    assert asked == [("calm", "light", 9), ("shaking", "light", 9)]
    assert candle == Candle(lit=False)  # the handler never ran
    assert [dict(e.data) for e in world.errors()][-1] == {
        "code": "misfire",
        "message": "Your hands shake too much.",
        "verb": "light",
    }
    assert registry.dispatch(world, Command(4, "light", "", 1)) is True
    assert candle == Candle(lit=True)


# --------------------------------------------------------------------------------------------------
# The inbox


def test_the_inbox_keeps_arrival_order() -> None:
    inbox = CommandInbox()
    commands = [Command(actor, "look", "", 0) for actor in (3, 1, 2, 1)]
    for cmd in commands:
        inbox.put(cmd)
    assert len(inbox) == 4
    assert inbox.drain() == commands


def test_drain_empties_the_inbox() -> None:
    inbox = CommandInbox()
    inbox.put(Command(1, "look", "", 0))
    inbox.drain()
    assert len(inbox) == 0
    assert inbox.drain() == []


def test_commands_put_while_a_batch_is_dispatched_wait_for_the_next_tick() -> None:
    inbox = CommandInbox()
    registry = CommandRegistry()

    def echo(world: FakeWorld, cmd: Command, args: Args) -> None:
        inbox.put(Command(cmd.actor, "look", "", cmd.received_tick + 1))

    registry.register(spec("echo", handler=echo))
    registry.register(spec("look"))
    inbox.put(Command(1, "echo", "", 0))
    world = FakeWorld()
    first_batch = verbs(inbox.drain())
    for cmd in first_batch:
        registry.dispatch(world, cmd)
    assert [c.verb for c in first_batch] == ["echo"]
    assert [c.verb for c in verbs(inbox.drain())] == ["look"]


def verbs(batch: list[Input]) -> list[Command]:
    """The commands of a drained batch (every input in these tests is one)."""
    assert all(isinstance(item, Command) for item in batch)
    return [item for item in batch if isinstance(item, Command)]


def test_a_full_inbox_refuses_with_inbox_full_and_counts_it() -> None:
    inbox = CommandInbox(capacity=2)
    inbox.put(Command(1, "a", "", 0))
    inbox.put(Command(1, "b", "", 0))
    with pytest.raises(InboxFull) as caught:
        inbox.put(Command(1, "c", "", 0))
    assert caught.value.capacity == 2
    assert inbox.rejected == 1
    assert [c.verb for c in verbs(inbox.drain())] == ["a", "b"]
    inbox.put(Command(1, "d", "", 1))  # room again after a drain
    assert len(inbox) == 1


def test_presence_inputs_are_never_refused_and_keep_their_place_among_commands() -> None:
    inbox = CommandInbox(capacity=1)
    inbox.put(Command(1, "a", "", 0))
    inbox.put(LeaveWorld(42, "shutdown"))  # the bound is for typed commands only
    with pytest.raises(InboxFull):
        inbox.put(Command(1, "b", "", 0))
    inbox.put(EnterWorld("Armitage", None))
    assert inbox.drain() == [
        Command(1, "a", "", 0),
        LeaveWorld(42, "shutdown"),
        EnterWorld("Armitage", None),
    ]


def test_the_inbox_is_bounded_by_default_and_needs_a_positive_capacity() -> None:
    assert CommandInbox().capacity == 10_000
    with pytest.raises(ValueError):
        CommandInbox(capacity=0)
