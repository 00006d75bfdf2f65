"""Player commands: the typed line, the verb registry, argument patterns, the inbox and dispatch.

Commands wait in the inbox and are dispatched, in arrival order at the start of the next tick,
to the handler their verb is registered to. Nothing here may do I/O or block, and nothing a player
types may raise out of ``dispatch``: every mistake (unknown verb, bad arguments, missing role, a
refusal a handler raises as ``Refused``, a handler that crashes) becomes an ``error`` event
addressed to that player alone.
"""

from __future__ import annotations

import bisect
import difflib
import logging
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

from engine.events import Scope
from engine.inputs import Arrival, PresenceInput, ReloadPlugin
from engine.text import plain_text

__all__ = [
    "DEFAULT_PREFIX_ALIASES",
    "MAX_ARG_WORDS",
    "ROLES",
    "ArgValue",
    "Args",
    "BadArguments",
    "Command",
    "CommandGate",
    "CommandInbox",
    "CommandRegistry",
    "CommandSpec",
    "CommandWorld",
    "DuplicateCommandError",
    "Handler",
    "InboxFull",
    "Input",
    "Refused",
    "UsageError",
    "UsagePattern",
]

logger = logging.getLogger("kadath.commands")

ROLES: tuple[str, ...] = ("player", "builder", "admin")
"""Roles from least to most trusted; a command is open to its ``role`` and every role after it."""

_ROLE_RANK: Mapping[str, int] = MappingProxyType({role: rank for rank, role in enumerate(ROLES)})

MAX_ARG_WORDS = 64
"""Most words a command's arguments may have. Lines are at most a few hundred characters, so this is
never a limit for a person; it bounds the work one line can cost the matcher (which backtracks)."""

DEFAULT_PREFIX_ALIASES: Mapping[str, str] = MappingProxyType({"'": "say", ":": "emote"})
"""The classic one-character shortcuts: ``'hi`` is ``say hi``, ``:waves`` is ``emote waves``."""

_CLIP_LIMIT = 40  # characters of a player's own input quoted back in an error message
_INT_DIGITS_LIMIT = 18  # keeps integer arguments inside a signed 64-bit database column
_INT_RE = re.compile(r"[+-]?[0-9]+")
_NAME_RE = re.compile(r"[^\s\[\]<>]+")
_PATTERN_TOKEN_RE = re.compile(r"\[|\]|<[^<>\[\]]*>|[^\s\[\]<>]+")
_VAR_RE = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)(:int)?(\.\.\.)?>")


def _clipped(text: str) -> str:
    """Player input quoted back in an error, cut short so that a long line cannot flood a screen."""
    return text if len(text) <= _CLIP_LIMIT else text[: _CLIP_LIMIT - 1] + "…"


# --------------------------------------------------------------------------------------------------
# The command itself


@dataclass(frozen=True, slots=True)
class Command:
    """One line a player typed, already split into verb and raw arguments.

    ``args`` stays raw text so that the command log replays exactly; the registry parses it against
    the verb's usage pattern only when the command is dispatched. ``role`` is the role of the
    account that typed it, as the shell knew it on arrival: carried with the command rather than
    looked up at dispatch, so a journal of commands replays the same refusals and permissions.
    """

    actor: int
    verb: str
    args: str
    received_tick: int
    role: str = "player"

    @staticmethod
    def from_line(
        actor: int,
        line: str,
        received_tick: int,
        prefix_aliases: Mapping[str, str] = DEFAULT_PREFIX_ALIASES,
        *,
        role: str = "player",
    ) -> Command:
        """Split a typed line into verb and arguments; never raises, whatever the player sent.

        A line that starts with one of ``prefix_aliases`` (``'hello``) becomes that verb with the
        rest of the line as arguments. The verb is lower-cased (verbs are case-insensitive); the
        arguments keep their case and inner spacing. A blank line gives the empty verb, which
        ``dispatch`` ignores, so the network layer need not special-case it.
        """
        text = line.strip()
        if text and text[0] in prefix_aliases:
            return Command(actor, prefix_aliases[text[0]], text[1:].strip(), received_tick, role)
        parts = text.split(maxsplit=1)
        if not parts:
            return Command(actor, "", "", received_tick, role)
        args = parts[1].strip() if len(parts) > 1 else ""
        return Command(actor, parts[0].casefold(), args, received_tick, role)


Input: TypeAlias = "Command | PresenceInput | ReloadPlugin | Arrival"
"""Anything the tick consumes from its inbox."""


class CommandWorld(Protocol):
    """All that the command layer needs of a world; the real ``World`` satisfies it."""

    def emit(
        self,
        type: str,
        scope: Scope,
        text: str = "",
        data: Mapping[str, Any] | None = None,
        exclude: Iterable[int] = (),
    ) -> None: ...


# --------------------------------------------------------------------------------------------------
# Parsed arguments

ArgValue: TypeAlias = str | int | None


class Args(Mapping[str, ArgValue]):
    """The named arguments of one command, read-only; absent optional arguments are ``None``.

    Every name in the usage pattern is present, so a typo in a handler's argument name is a
    ``KeyError`` on the first test rather than a silent ``None``. The typed getters exist so that
    handlers checked with ``mypy --strict`` need no casts.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, ArgValue] | None = None) -> None:
        self._values: dict[str, ArgValue] = dict(values or {})

    def __getitem__(self, name: str) -> ArgValue:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Args({self._values!r})"

    def text(self, name: str) -> str:
        """A required word or words; ``TypeError`` if the pattern made it optional or an integer."""
        value = self._values[name]
        if not isinstance(value, str):
            raise TypeError(f"argument {name!r} is {value!r}, not text: check the usage pattern")
        return value

    def opt_text(self, name: str) -> str | None:
        value = self._values[name]
        if value is not None and not isinstance(value, str):
            raise TypeError(f"argument {name!r} is {value!r}, not text: check the usage pattern")
        return value

    def number(self, name: str) -> int:
        """A required ``<name:int>``; ``TypeError`` if the pattern made it optional or text."""
        value = self._values[name]
        if not isinstance(value, int):
            raise TypeError(f"argument {name!r} is {value!r}, not an integer: check the pattern")
        return value

    def opt_number(self, name: str) -> int | None:
        value = self._values[name]
        if value is not None and not isinstance(value, int):
            raise TypeError(f"argument {name!r} is {value!r}, not an integer: check the pattern")
        return value


# --------------------------------------------------------------------------------------------------
# Usage patterns


class UsageError(ValueError):
    """A usage pattern is malformed; raised when the command is registered, never at play time."""


class BadArguments(ValueError):
    """A player's arguments do not fit the usage pattern; ``reason`` is written for the player."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(Exception):
    """The rules refuse a command: ``code`` for clients, ``text`` for the player, ``data`` besides.

    A handler, or any rule it calls, raises this the moment it knows why the command cannot be
    done, so that a rule reads straight down: look-ups, refusals, then changes and events. Dispatch
    catches it, as it catches ``BadArguments``, and tells the actor alone with an ``error`` event
    whose data is ``{"code": code, "message": text, **data}``.

    There is no rollback: a handler must make every check, and so raise any refusal, before it
    changes a component or emits an event. Whatever it did before raising would stay done.
    """

    def __init__(self, code: str, text: str, **data: Any) -> None:
        if "message" in data:
            raise TypeError("Refused: the message is the text; give no 'message' data")
        super().__init__(text)
        self.code = code
        self.text = text
        self.data = data

    def __repr__(self) -> str:
        extra = "".join(f", {key}={value!r}" for key, value in self.data.items())
        return f"Refused({self.code!r}, {self.text!r}{extra})"


@dataclass(frozen=True, slots=True)
class _Literal:
    word: str  # casefolded


@dataclass(frozen=True, slots=True)
class _Word:
    name: str


@dataclass(frozen=True, slots=True)
class _Int:
    name: str


@dataclass(frozen=True, slots=True)
class _Rest:
    name: str
    stop_words: frozenset[str]  # literals that may come next: the words this one stops before


@dataclass(frozen=True, slots=True)
class _Optional:
    end: int  # index of the first step after the group


@dataclass(frozen=True, slots=True)
class _End:
    pass


_Step: TypeAlias = _Literal | _Word | _Int | _Rest | _Optional | _End


class UsagePattern:
    """A compiled usage pattern such as ``<item...> [from <container...>]``.

    The mini-language: ``<name>`` is one word; ``<name:int>`` one integer; ``<name...>`` one or more
    words, joined with single spaces; any other word is a literal matched case-insensitively;
    ``[ ... ]`` is an optional group (groups nest). The pattern is compiled once, to a flat list of
    steps, and matched by backtracking with memoised dead ends, so a line costs at most
    steps x words x words work (``MAX_ARG_WORDS`` caps the words).

    Where several readings fit, the first in this order wins: an optional group is taken if it can
    be; a ``<name...>`` first stops before the earliest word that is a literal the pattern allows
    next (``rusty knife`` | ``from old chest``), then takes as many words as it can.
    """

    __slots__ = ("_steps", "names", "usage", "verb")

    def __init__(self, usage: str, verb: str, steps: tuple[_Step, ...], names: tuple[str, ...]):
        self.usage = usage
        self.verb = verb
        self.names = names
        self._steps = steps

    def __repr__(self) -> str:
        return f"UsagePattern({self.usage!r}, verb={self.verb!r})"

    @classmethod
    def compile(cls, usage: str, verb: str = "?") -> UsagePattern:
        """Parse ``usage``; a malformed one raises ``UsageError`` naming ``verb`` and the fault."""

        def fail(detail: str) -> UsageError:
            return UsageError(f"malformed usage for command {verb!r}: {detail} in {usage!r}")

        steps: list[_Step] = []
        names: list[str] = []
        open_groups: list[int] = []
        pos = 0
        while pos < len(usage):
            if usage[pos].isspace():
                pos += 1
                continue
            found = _PATTERN_TOKEN_RE.match(usage, pos)
            if found is None:
                raise fail(f"unexpected {usage[pos]!r} at column {pos + 1}")
            token = found.group()
            pos = found.end()
            if token == "[":
                open_groups.append(len(steps))
                steps.append(_Optional(end=-1))
            elif token == "]":
                if not open_groups:
                    raise fail("']' without a matching '['")
                start = open_groups.pop()
                if start == len(steps) - 1:
                    raise fail("empty optional group '[]'")
                steps[start] = _Optional(end=len(steps))
            elif token.startswith("<"):
                var = _VAR_RE.fullmatch(token)
                if var is None:
                    raise fail(f"bad argument {token!r}: write <name>, <name:int> or <name...>")
                name, is_int, is_rest = var.groups()
                if is_int and is_rest:
                    raise fail(f"bad argument {token!r}: an integer is a single word")
                if name in names:
                    raise fail(f"argument name {name!r} used twice")
                names.append(name)
                if is_int:
                    steps.append(_Int(name))
                elif is_rest:
                    steps.append(_Rest(name, frozenset()))
                else:
                    steps.append(_Word(name))
            else:
                steps.append(_Literal(token.casefold()))
        if open_groups:
            raise fail("'[' without a matching ']'")
        steps.append(_End())
        for index, step in enumerate(steps):
            if isinstance(step, _Rest):
                steps[index] = _Rest(step.name, frozenset(_first_literals(steps, index + 1)))
        return cls(usage, verb, tuple(steps), tuple(names))

    @property
    def takes_no_arguments(self) -> bool:
        return len(self._steps) == 1

    def match(self, args: str) -> Args:
        """Bind ``args`` to the pattern's names, or raise ``BadArguments`` saying what is wrong."""
        words = args.split()
        if len(words) > MAX_ARG_WORDS:
            raise BadArguments(f"Too many words: at most {MAX_ARG_WORDS}.")
        if words and self.takes_no_arguments:
            raise BadArguments(f"'{self.verb}' takes no arguments.")
        matcher = _Matcher(self._steps, words)
        found = matcher.at(0, 0)
        if found is None:
            raise BadArguments(matcher.failure or "Those arguments do not fit.")
        values: dict[str, ArgValue] = dict.fromkeys(self.names)
        values.update(found)
        return Args(values)


def _first_literals(steps: list[_Step], index: int) -> set[str]:
    """Literal words that can be the next word when matching resumes at ``steps[index]``."""
    step = steps[index]
    if isinstance(step, _Literal):
        return {step.word}
    if isinstance(step, _Optional):
        return _first_literals(steps, index + 1) | _first_literals(steps, step.end)
    return set()


class _Matcher:
    """One match attempt: backtracking over the steps, remembering dead ends and the best excuse."""

    __slots__ = ("_dead", "_failure_at", "_steps", "_words", "failure")

    def __init__(self, steps: tuple[_Step, ...], words: list[str]) -> None:
        self._steps = steps
        self._words = words
        self._dead: set[tuple[int, int]] = set()
        self._failure_at: tuple[int, int] = (-1, -1)
        self.failure = ""

    def _fail(self, pos: int, rank: int, message: str) -> None:
        """Keep the failure furthest into the line; at a tie, the more specific (higher rank)."""
        if (pos, rank) > self._failure_at:
            self._failure_at = (pos, rank)
            self.failure = message

    def at(self, index: int, pos: int) -> dict[str, ArgValue] | None:
        """Match steps from ``index`` against words from ``pos``; the bindings, or None."""
        if (index, pos) in self._dead:
            return None
        found = self._step(index, pos)
        if found is None:
            self._dead.add((index, pos))
        return found

    def _step(self, index: int, pos: int) -> dict[str, ArgValue] | None:
        words = self._words
        step = self._steps[index]
        if isinstance(step, _End):
            if pos == len(words):
                return {}
            self._fail(pos, 0, f"Unexpected '{_clipped(' '.join(words[pos:]))}'.")
            return None
        if isinstance(step, _Optional):
            found = self.at(index + 1, pos)
            return found if found is not None else self.at(step.end, pos)
        if isinstance(step, _Literal):
            if pos < len(words) and words[pos].casefold() == step.word:
                return self.at(index + 1, pos + 1)
            if pos == len(words):
                self._fail(pos, 2, f"Missing '{step.word}'.")
            else:
                self._fail(pos, 2, f"Expected '{step.word}', not '{_clipped(words[pos])}'.")
            return None
        if pos == len(words):
            self._fail(pos, 1, f"Missing <{step.name}>.")
            return None
        if isinstance(step, _Word):
            found = self.at(index + 1, pos + 1)
            if found is not None:
                found[step.name] = words[pos]
            return found
        if isinstance(step, _Int):
            word = words[pos]
            if not _INT_RE.fullmatch(word):
                self._fail(pos, 3, f"<{step.name}> must be a whole number, not '{_clipped(word)}'.")
                return None
            if len(word.lstrip("+-")) > _INT_DIGITS_LIMIT:
                self._fail(pos, 3, f"<{step.name}> is too large: '{_clipped(word)}'.")
                return None
            found = self.at(index + 1, pos + 1)
            if found is not None:
                found[step.name] = int(word)
            return found
        for end in self._rest_ends(pos, step.stop_words):
            found = self.at(index + 1, end)
            if found is not None:
                found[step.name] = " ".join(words[pos:end])
                return found
        return None

    def _rest_ends(self, pos: int, stop_words: frozenset[str]) -> list[int]:
        """Where a ``<name...>`` starting at ``pos`` may end, most preferred first."""
        words = self._words
        stops = [end for end in range(pos + 1, len(words)) if words[end].casefold() in stop_words]
        seen = set(stops)
        return stops + [end for end in range(len(words), pos, -1) if end not in seen]


# --------------------------------------------------------------------------------------------------
# Specs and the registry


W = TypeVar("W", bound=CommandWorld)

Handler: TypeAlias = Callable[[W, Command, Args], None]
"""``handler(world, cmd, args)``: changes components and emits events, or raises ``Refused``
before it changes anything; never does I/O."""

CommandGate: TypeAlias = Callable[[Any, Command, "CommandSpec[Any]"], None]
"""``gate(world, cmd, spec)``: a rule about whether the actor may act at all, asked before the
handler of every command whose arguments fit (a mind too far gone, a command that misfires). It
raises ``Refused`` to stop the command, which is then answered like any refusal; it may emit
events and change components only when it lets the command through or in what it refuses with.
Plugins add gates with ``PluginKit.command_gate``; they are asked in the order they were added.
Randomness must come from the world's RNG, so that a replayed command is stopped exactly as it
was."""


# Not slotted: Python sets ``__orig_class__`` on instances of a subscripted generic
# (``CommandSpec[World](...)``), which a slotted frozen dataclass refuses.
@dataclass(frozen=True)
class CommandSpec(Generic[W]):
    """Everything the registry knows about one verb.

    ``usage`` is the argument pattern only, without the verb (``<item...> [from <container...>]``);
    it doubles as the help line. Generic in the world type so a handler may ask for the concrete
    ``World`` it will be given rather than the narrow ``CommandWorld`` protocol.
    """

    verb: str
    handler: Handler[W]
    usage: str = ""
    aliases: tuple[str, ...] = ()
    help: str = ""
    category: str = "general"
    role: str = "player"
    plugin: str | None = None
    abbreviable: bool = True
    """Whether a unique prefix of the verb finds it (``inv`` for ``inventory``). A verb that
    would make a well-worn abbreviation ambiguous opts out: ``loot`` does, so that ``loo`` stays
    ``look``. Its aliases are exact names either way."""

    @property
    def usage_line(self) -> str:
        return f"{self.verb} {self.usage}".strip()


class DuplicateCommandError(ValueError):
    """Two commands claim the same verb or alias; the message names both and their plugins."""


@dataclass(frozen=True, slots=True)
class _CompiledSpec:
    """A registered command with its usage pattern compiled once, at registration."""

    spec: CommandSpec[Any]
    pattern: UsagePattern


def _owner(spec: CommandSpec[Any]) -> str:
    return f"plugin {spec.plugin!r}" if spec.plugin else "no plugin"


class CommandRegistry:
    """Verbs, their aliases and prefix shortcuts, and the dispatch of commands to handlers.

    Look-up is case-insensitive. A word that is neither a verb nor an alias resolves by unique
    prefix (``inv`` -> ``inventory``) when exactly one command has a verb or alias starting with it;
    an ambiguous prefix resolves to nothing and its candidates become the suggestions. Abbreviation
    ignores roles, so a player and an admin abbreviate the same way (give a dangerous admin command
    a required argument rather than relying on a long name).
    """

    def __init__(self, prefix_aliases: Mapping[str, str] = DEFAULT_PREFIX_ALIASES) -> None:
        self._entries: dict[str, _CompiledSpec] = {}
        self._verb_of: dict[str, str] = {}  # verb or alias -> verb
        self._sorted_names: list[str] = []
        self._prefix_names: list[str] = []  # the names a prefix may find (abbreviable verbs)
        self._prefix_aliases: dict[str, str] = {}
        self._failures: Counter[str] = Counter()
        self._gates: list[CommandGate] = []
        for prefix, verb in prefix_aliases.items():
            self.add_prefix_alias(prefix, verb)

    # -- registration --------------------------------------------------------------------------

    def register(self, spec: CommandSpec[Any]) -> None:
        """Add a command; raises ``ValueError`` (``DuplicateCommandError``, ``UsageError``) at once
        on any fault, so that a bad plugin fails at load time and not when a player types it."""
        label = f"command {spec.verb!r} ({_owner(spec)})"
        names = (spec.verb, *spec.aliases)
        for name in names:
            if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
                raise ValueError(f"{label}: {name!r} is not a valid verb or alias (one word)")
            if name != name.casefold():
                raise ValueError(f"{label}: verb or alias {name!r} must be lower case")
        if len(set(names)) != len(names):
            raise DuplicateCommandError(f"{label}: a name appears twice in {names}")
        if spec.role not in _ROLE_RANK:
            raise ValueError(f"{label}: unknown role {spec.role!r}; roles are {', '.join(ROLES)}")
        if not callable(spec.handler):
            raise TypeError(f"{label}: handler {spec.handler!r} is not callable")
        for name in names:
            taken_by = self._verb_of.get(name)
            if taken_by is not None:
                owner = self._entries[taken_by].spec
                what = "verb" if name == owner.verb else "an alias"
                raise DuplicateCommandError(
                    f"cannot register {name!r} for {label}: it is already {what} of command "
                    f"{owner.verb!r} ({_owner(owner)})"
                )
        pattern = UsagePattern.compile(spec.usage, spec.verb)
        first_word = spec.usage.split(maxsplit=1)[0].casefold() if spec.usage.strip() else ""
        if first_word in names:
            raise UsageError(
                f"malformed usage for command {spec.verb!r}: the usage {spec.usage!r} repeats the "
                "verb; write only the arguments"
            )
        self._entries[spec.verb] = _CompiledSpec(spec, pattern)
        for name in names:
            self._verb_of[name] = spec.verb
            bisect.insort(self._sorted_names, name)
            if spec.abbreviable:
                bisect.insort(self._prefix_names, name)

    def replace_all(self, specs: Iterable[CommandSpec[Any]], gates: Iterable[CommandGate]) -> None:
        """Put ``specs`` and ``gates`` in place of every command and gate (a plugin's hot reload).

        The new set is checked whole, as registration checks it, before anything changes: a
        clash or a malformed usage raises ``ValueError`` and leaves the registry as it was. The
        failure counts of verbs that stay are kept."""
        fresh = CommandRegistry(self._prefix_aliases)
        for spec in specs:
            fresh.register(spec)
        self._entries = fresh._entries
        self._verb_of = fresh._verb_of
        self._sorted_names = fresh._sorted_names
        self._prefix_names = fresh._prefix_names
        self._gates = list(gates)

    def add_prefix_alias(self, prefix: str, verb: str) -> None:
        """Make a line starting with the one character ``prefix`` mean ``verb <rest of line>``.

        The verb need not be registered yet (plugins load in any order). Re-adding the same pair is
        harmless; rebinding a prefix to another verb is a ``ValueError``.
        """
        if len(prefix) != 1 or prefix.isalnum() or prefix.isspace():
            raise ValueError(f"prefix alias {prefix!r} must be one punctuation character")
        existing = self._prefix_aliases.get(prefix)
        if existing is not None and existing != verb:
            raise ValueError(f"prefix alias {prefix!r} already means {existing!r}, not {verb!r}")
        self._prefix_aliases[prefix] = verb

    @property
    def prefix_aliases(self) -> Mapping[str, str]:
        return MappingProxyType(self._prefix_aliases)

    def add_gate(self, gate: CommandGate) -> None:
        """Ask ``gate`` before every handler from now on (after the gates added before it)."""
        self._gates.append(gate)

    def parse_line(
        self, actor: int, line: str, received_tick: int, *, role: str = "player"
    ) -> Command:
        """``Command.from_line`` with this registry's prefix aliases; never raises."""
        return Command.from_line(actor, line, received_tick, self._prefix_aliases, role=role)

    # -- look-up -------------------------------------------------------------------------------

    def resolve(self, word: str) -> CommandSpec[Any] | None:
        """The command ``word`` names: exact verb or alias first, then a unique prefix."""
        key = word.casefold()
        if not key:
            return None
        verb = self._verb_of.get(key)
        if verb is None:
            candidates = self._prefix_candidates(key)
            if len(candidates) != 1:
                return None
            verb = candidates[0]
        return self._entries[verb].spec

    def _prefix_candidates(self, key: str) -> list[str]:
        """Abbreviable verbs having a verb or alias that starts with ``key``, sorted, each once."""
        names = self._prefix_names
        verbs: set[str] = set()
        for index in range(bisect.bisect_left(names, key), len(names)):
            if not names[index].startswith(key):
                break
            verbs.add(self._verb_of[names[index]])
        return sorted(verbs)

    def suggest(self, word: str, *, role: str | None = None, limit: int = 5) -> list[str]:
        """Verbs the player may have meant: those ``word`` abbreviates, then near spellings.

        With ``role``, only verbs open to that role are offered, so players are not shown admin
        commands.
        """
        key = word.casefold()
        if not key:
            return []
        found = self._prefix_candidates(key)
        close = difflib.get_close_matches(key, self._sorted_names, n=limit, cutoff=0.6)
        found += [self._verb_of[name] for name in close]
        allowed = [
            verb
            for verb in dict.fromkeys(found)
            if role is None or _role_allows(role, self._entries[verb].spec.role)
        ]
        return allowed[:limit]

    def help_for(self, verb: str) -> str | None:
        """The help a player sees for ``verb`` (or an alias or abbreviation); None if unknown."""
        spec = self.resolve(verb)
        if spec is None:
            return None
        lines = [f"Usage: {spec.usage_line}"]
        if spec.aliases:
            lines.append(f"Aliases: {', '.join(spec.aliases)}")
        if spec.help:
            lines.append(plain_text(spec.help))  # markup a docstring-minded author left in
        return "\n".join(lines)

    def specs(self) -> list[CommandSpec[Any]]:
        """Every command, by category then verb: the same order whatever order plugins loaded in."""
        entries = sorted(self._entries.values(), key=lambda e: (e.spec.category, e.spec.verb))
        return [entry.spec for entry in entries]

    @property
    def failure_counts(self) -> Mapping[str, int]:
        """Handler crashes so far, per verb; a verb with none is absent (or reads as 0)."""
        return MappingProxyType(self._failures)

    # -- dispatch ------------------------------------------------------------------------------

    def dispatch(self, world: CommandWorld, cmd: Command) -> bool:
        """Run ``cmd``'s handler; True only if it ran and returned. Never raises an ``Exception``.

        Every refusal and crash becomes an ``error`` event to the actor whose ``data`` carries a
        ``code`` (``unknown_command``, ``forbidden``, ``bad_args``, ``internal_error``, or the code
        of the handler's ``Refused``, with its data) and the ``message``. The command's ``role``
        decides what it may use; an unknown role counts as ``player``. Once the arguments fit,
        every gate (``add_gate``) is asked before the handler, and may refuse. A
        crashed handler is logged with its traceback and counted in ``failure_counts``. What a
        handler changed before raising, ``Refused`` or a crash, stays changed (there is no
        rollback): that is why handlers refuse before they change anything. A blank command
        (empty verb) is a no-op.
        """
        if not cmd.verb:
            return False
        spec = self.resolve(cmd.verb)
        if spec is None or spec.role != "player":
            role = cmd.role
            if role not in _ROLE_RANK:
                logger.warning("actor %r has unknown role %r; treated as player", cmd.actor, role)
                role = "player"
            if spec is None:
                self._unknown(world, cmd, role)
                return False
            if not _role_allows(role, spec.role):
                text = f"You are not allowed to use '{spec.verb}'."
                _error(world, cmd, "forbidden", text)
                return False
        entry = self._entries[spec.verb]
        try:
            args = entry.pattern.match(cmd.args)
        except BadArguments as bad:
            text = f"{bad.reason} Usage: {spec.usage_line}"
            _error(world, cmd, "bad_args", text, usage=spec.usage_line)
            return False
        try:
            for gate in self._gates:
                gate(world, cmd, spec)
            spec.handler(world, cmd, args)
        except Refused as refused:
            _error(world, cmd, refused.code, refused.text, **refused.data)
            return False
        except Exception:
            logger.exception(
                "command %r (%s) failed for actor %r with args %r",
                spec.verb,
                _owner(spec),
                cmd.actor,
                cmd.args,
            )
            self._failures[spec.verb] += 1
            _error(world, cmd, "internal_error", _INTERNAL_ERROR_TEXT)
            return False
        return True

    def _unknown(self, world: CommandWorld, cmd: Command, role: str) -> None:
        suggestions = self.suggest(cmd.verb, role=role)
        text = f"Unknown command '{_clipped(cmd.verb)}'."
        if suggestions:
            text += f" Did you mean: {', '.join(suggestions)}?"
        elif "help" in self._verb_of:
            text += " Type 'help' for a list of commands."
        _error(world, cmd, "unknown_command", text, suggestions=suggestions)


_INTERNAL_ERROR_TEXT = "Sorry, something went wrong while doing that. It has been logged."


def _role_allows(role: str, required: str) -> bool:
    return _ROLE_RANK.get(role, 0) >= _ROLE_RANK[required]


def _error(world: CommandWorld, cmd: Command, code: str, text: str, **extra: Any) -> None:
    world.emit(
        "error", Scope.entity(cmd.actor), text, data={"code": code, "message": text, **extra}
    )


# --------------------------------------------------------------------------------------------------
# The inbox


class InboxFull(Exception):
    """The inbox holds ``capacity`` commands already; the network layer answers ``throttled``."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"command inbox is full ({capacity} commands waiting); try again shortly")
        self.capacity = capacity


class CommandInbox:
    """The tick's inputs waiting for the next tick, in arrival order: typed commands, with a hard
    bound on how many, and the shell's presence inputs (:mod:`engine.inputs`).

    ``put`` raises ``InboxFull`` rather than returning False, so that a command can never be
    dropped silently by a caller that forgot to check; the network layer catches it and sends the
    player a ``throttled`` reply. The bound caps memory (about ``capacity`` small objects) and the
    work of one tick when clients flood faster than the per-connection rate limit catches. Presence
    inputs are never refused: there are at most a few per connection, and losing one (a character
    leaving at shutdown) would lose a change to the world. Used from the event-loop thread only,
    like the rest of the world.
    """

    __slots__ = ("_capacity", "_commands", "_queue", "rejected")

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError(f"inbox capacity must be at least 1, not {capacity}")
        self._capacity = capacity
        self._queue: deque[Input] = deque()
        self._commands = 0
        self.rejected = 0  # commands refused because the inbox was full, for ``/metrics``

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, item: Input) -> None:
        """Queue ``item`` behind everything already waiting; ``InboxFull`` if it is a command and
        the commands waiting are at capacity. A plugin reload goes ahead of everything waiting:
        the next tick then runs, from its first input to its last system, on one version of the
        plugin's code."""
        if isinstance(item, Command):
            if self._commands >= self._capacity:
                self.rejected += 1
                raise InboxFull(self._capacity)
            self._commands += 1
        elif isinstance(item, ReloadPlugin):
            self._queue.appendleft(item)
            return
        self._queue.append(item)

    def drain(self) -> list[Input]:
        """Take every input queued so far, oldest first.

        Inputs put while this batch is being applied stay queued for the next tick, so one
        tick's work is bounded by what had arrived when it started.
        """
        batch = list(self._queue)
        self._queue.clear()
        self._commands = 0
        return batch
