"""How one setting is declared, converted from text or TOML, checked and printed.

The vocabulary the rest of the configuration package is written in. Pure functions: no I/O.
"""

from __future__ import annotations

import math
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

ENV_PREFIX: Final = "KADATH_"

# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One bad input, kept structured so that tools and tests need not parse the message."""

    source: str
    """Where the value came from: a file path, ``environment variable KADATH_…``, ``--set``…"""
    key: str
    """The setting as ``section.field`` (as written if unknown); empty for a whole-file problem."""
    value: str | None
    """The offending value as written, or None when there is no single value to show."""
    message: str
    """What was wrong and what would have been accepted."""

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        shown = f" = {self.value}" if self.value is not None else ""
        return f"{where}{shown}: {self.message}"


class ConfigError(ValueError):
    """Bad configuration. Carries every problem found, so the operator fixes all in one pass."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        if len(self.problems) == 1:
            text = f"invalid configuration: {self.problems[0]}"
        else:
            listed = "\n".join(f"  - {problem}" for problem in self.problems)
            text = f"invalid configuration ({len(self.problems)} problems):\n{listed}"
        super().__init__(text)

    def __reduce__(self) -> tuple[type[ConfigError], tuple[tuple[ConfigProblem, ...]]]:
        """Rebuild from the problems, not the message, so the error survives a process boundary."""
        return (type(self), (self.problems,))


class Invalid(Exception):
    """One value failed to convert or check; the message says what was expected."""


# --- how a setting is declared -------------------------------------------------------------------

SPEC_KEY: Final = "kadath.setting"
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Spec:
    """What an operator needs to know about a setting, and the bounds it must stay in."""

    doc: str
    unit: str = ""
    gt: float | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    secret: bool = False
    relative_to_file: Callable[[Any, Path], Any] | None = None
    """Makes a relative path written in a configuration file relative to that file's folder (not
    to the working directory), so ``kadath serve --config game/kadath.toml`` works from anywhere."""


def setting_field(
    default: _T,
    doc: str,
    *,
    unit: str = "",
    gt: float | None = None,
    ge: float | None = None,
    le: float | None = None,
    choices: tuple[str, ...] = (),
    check: Callable[[Any], str | None] | None = None,
    secret: bool = False,
    relative_to_file: Callable[[Any, Path], Any] | None = None,
) -> _T:
    """A dataclass field whose docs and bounds live beside it, so docs, errors and checks agree."""
    spec = Spec(doc, unit, gt, ge, le, choices, check, secret, relative_to_file)
    return field(default=default, metadata={SPEC_KEY: spec})


URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@:]*:)[^/@]*@")


def redact_url(url: str) -> str:
    """Hide a URL's password, so printing or logging the configuration cannot leak it."""
    return URL_PASSWORD.sub(r"\1***@", url)


URL_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
SECRET_SHOWN_AS: Final = "***"
"""What a secret that is not a URL (a token) looks like when the configuration is printed."""


def redact_secret(value: str) -> str:
    """A secret setting as it may be printed or logged: a URL with its password hidden (the rest
    of it says which database), anything else (a token) hidden whole, unless it is empty."""
    if URL_SCHEME.match(value):
        return redact_url(value)
    return SECRET_SHOWN_AS if value else value


def shown_value(setting: Setting, value: object) -> str:
    """A setting's value as an error message shows it: a secret's is redacted."""
    if setting.spec.secret and isinstance(value, str):
        return toml_string(redact_secret(value))
    return show(value)


Kind = Literal["int", "float", "bool", "str", "str_tuple"]


@dataclass(frozen=True, slots=True)
class Setting:
    section: str
    name: str
    kind: Kind
    default: object
    spec: Spec

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_var(self) -> str:
        return f"{ENV_PREFIX}{self.section.upper()}__{self.name.upper()}"


def kind_of(annotation: object) -> Kind:
    if annotation is bool:  # before int: bool is a subclass of int
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is str:
        return "str"
    if typing.get_origin(annotation) is tuple and typing.get_args(annotation) == (str, ...):
        return "str_tuple"
    raise TypeError(f"configuration settings cannot be of type {annotation!r}")


_TRUE: Final = frozenset({"true", "1", "yes", "on"})
_FALSE: Final = frozenset({"false", "0", "no", "off"})


# --- converting and checking one value ----------------------------------------------------------


def expectation(setting: Setting, *, text: bool) -> str:
    """What an acceptable value looks like, in words an operator can act on."""
    spec = setting.spec
    kind = {
        "int": "an integer",
        "float": "a number",
        "bool": "true/false, yes/no, on/off or 1/0" if text else "true or false",
        "str": "a string",
        "str_tuple": "a comma-separated list" if text else "an array of strings",
    }[setting.kind]
    if spec.choices:
        return "one of " + ", ".join(spec.choices)
    with_unit = bool(spec.unit) and setting.kind in ("int", "float")
    head = kind + (f" in {spec.unit}" if with_unit else "")
    if spec.ge is not None and spec.le is not None:
        bounds = f"between {_number(spec.ge)} and {_number(spec.le)}"
    else:
        limits = []
        if spec.gt is not None:
            limits.append(f"> {_number(spec.gt)}")
        if spec.ge is not None:
            limits.append(f">= {_number(spec.ge)}")
        if spec.le is not None:
            limits.append(f"<= {_number(spec.le)}")
        bounds = " and ".join(limits)
    if not bounds:
        return head
    return f"{head}, {bounds}" if with_unit else f"{head} {bounds}"


def _number(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def from_text(setting: Setting, text: str) -> object:
    """Environment and command-line values are strings; read them as the setting's type."""
    stripped = text.strip()
    wrong = Invalid(f"expected {expectation(setting, text=True)}")
    match setting.kind:
        case "int":
            try:
                return int(stripped)
            except ValueError:
                raise wrong from None
        case "float":
            try:
                number = float(stripped)
            except ValueError:
                raise wrong from None
            if not math.isfinite(number):
                raise wrong
            return number
        case "bool":
            if stripped.lower() in _TRUE:
                return True
            if stripped.lower() in _FALSE:
                return False
            raise wrong
        case "str":
            return text
        case "str_tuple":
            return tuple(part.strip() for part in text.split(",") if part.strip())
    raise AssertionError(setting.kind)  # pragma: no cover


def from_typed(setting: Setting, value: object) -> object:
    """TOML (and Python) values are already typed: accept only the setting's own type, except an
    integer where a number is expected. A boolean is never an integer, whatever Python thinks."""
    ok: object = None
    match setting.kind:
        case "int":
            if isinstance(value, int) and not isinstance(value, bool):
                ok = value
        case "float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                try:
                    number = float(value)
                except OverflowError:
                    number = math.inf
                ok = number if math.isfinite(number) else None
        case "bool":
            if isinstance(value, bool):
                ok = value
        case "str":
            if isinstance(value, str):
                ok = value
        case "str_tuple":
            if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
                ok = tuple(value)
    if ok is None:
        expected = expectation(setting, text=False)
        raise Invalid(f"expected {expected}, got {type_name(value)}")
    return ok


def checked(setting: Setting, value: Any) -> object:
    """Apply the setting's bounds; returns the canonical value (e.g. ``info`` becomes ``INFO``)."""
    spec = setting.spec
    out_of_range = Invalid(f"out of range: expected {expectation(setting, text=False)}")
    if spec.gt is not None and not value > spec.gt:
        raise out_of_range
    if spec.ge is not None and not value >= spec.ge:
        raise out_of_range
    if spec.le is not None and not value <= spec.le:
        raise out_of_range
    if spec.choices:
        by_upper = {choice.upper(): choice for choice in spec.choices}
        if value.upper() not in by_upper:
            raise Invalid(f"expected one of {', '.join(spec.choices)}")
        value = by_upper[value.upper()]
    if spec.check is not None:
        message = spec.check(value)
        if message is not None:
            raise Invalid(message)
    return value


# --- TOML output ----------------------------------------------------------------------------------

_TOML_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def show(value: object) -> str:
    """A bad value as the operator would recognise it."""
    try:
        return toml_value(value)
    except TypeError:
        return repr(value)
