"""Component base, persistent-type registration and the hook that makes attribute writes tracked.

Components are plain slotted dataclasses. A persistent type gets one extra behaviour: assigning to
any of its fields while it is attached to a world records the component as touched, so nobody has
to remember to mark anything dirty. Reads stay plain slot reads. This module never does I/O.
"""

from __future__ import annotations

import dataclasses
import operator
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

__all__ = [
    "ABSENT",
    "Component",
    "ComponentError",
    "ComponentInfo",
    "TrackKey",
    "component_info",
    "persistent",
]

C = TypeVar("C", bound="Component")

#: A touched component is identified by its entity's stable id and its type.
TrackKey = tuple[int, type["Component"]]


class _Absent:
    """Marks "this component was not there" in a tick-start record."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

# Mutable containers are the classic way to change a component without an attribute write, which no
# tracker can see. Persistent components must hold immutable values (tuples, frozensets) and replace
# them instead.
_MUTABLE_ORIGINS: tuple[type, ...] = (list, dict, set, bytearray)
_IMMUTABLE_HINT: dict[type, str] = {
    list: "tuple",
    dict: "a tuple of pairs",
    set: "frozenset",
    bytearray: "bytes",
}


class ComponentError(TypeError):
    """A component type or instance breaks the rules of persistent components."""


@dataclass(frozen=True, slots=True)
class ComponentInfo:
    """What the engine knows about a registered persistent component type.

    ``name`` is the stable name used by the database and save files: it must never change once a
    world has been saved (renaming a class is fine; renaming ``name`` needs a migration).
    """

    name: str
    version: int
    fields: tuple[str, ...]
    values: Callable[[Any], Any]
    frozen: bool = False
    migrations: Mapping[int, Migration] = dataclasses.field(default_factory=dict)
    previous_names: tuple[str, ...] = ()


class Component:
    """Base of every component type that may be persistent.

    Subclasses are ``@dataclass(slots=True)``. Three extra slots serve change tracking while the
    component is attached to a persistent entity (all ``None`` otherwise):

    - ``_k_track``: the ``append`` of the world's list of written components: every write records
      the component there (one bound-method call; the world deduplicates once per tick, which
      measured cheaper than disarming the hook after the first write);
    - ``_k_key``: ``(stable id, type)`` of the entity and slot it is attached to;
    - ``_k_clean``: its field values as of the last time the world collected changes, so that a
      value changed and changed back within a tick is not reported.
    """

    __slots__ = ("_k_clean", "_k_key", "_k_track")
    __kadath__: ClassVar[ComponentInfo | None] = None
    _k_track: Callable[[Component], None] | None
    _k_key: TrackKey | None
    _k_clean: Any

    def __getstate__(self) -> dict[str, Any]:
        # Copies and pickles are detached: a copy must never report changes for the original.
        return {
            name: getattr(self, name)
            for name in _slot_names(type(self))
            if not name.startswith("_k_") and hasattr(self, name)
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        _init_tracking_slots(self)
        for name, value in state.items():
            object.__setattr__(self, name, value)


def _slot_names(cls: type) -> list[str]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    return names


_object_setattr = object.__setattr__

#: Table names the engine keeps for itself (metadata, accounts, tombstones).
RESERVED_PREFIX = "kadath_"


def _init_tracking_slots(component: Component) -> None:
    _object_setattr(component, "_k_track", None)
    _object_setattr(component, "_k_key", None)
    _object_setattr(component, "_k_clean", None)


def _tracked_setattr(self: Component, name: str, value: Any) -> None:
    # The hot path of change tracking: one slot read, one call recording the component, the write.
    record = self._k_track
    if record is not None:
        record(self)
    _object_setattr(self, name, value)


def _untracked_new(cls: type[Component], *args: Any, **kwargs: Any) -> Component:
    # The tracking slots must exist before __init__ assigns the fields through _tracked_setattr.
    self = object.__new__(cls)
    _init_tracking_slots(self)
    return self


def _check_field_types(cls: type) -> None:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # unresolvable forward references: name the class, not a deep trace
        raise ComponentError(
            f"cannot resolve the field types of {cls.__qualname__}: {exc}; "
            "import every type used in its annotations at module level"
        ) from exc
    for field in dataclasses.fields(cls):
        hint = hints.get(field.name)
        origin = typing.get_origin(hint) or hint
        if isinstance(origin, type) and issubclass(origin, _MUTABLE_ORIGINS):
            base = next(t for t in _MUTABLE_ORIGINS if issubclass(origin, t))
            raise ComponentError(
                f"{cls.__qualname__}.{field.name} is a {base.__name__}: a persistent component may "
                f"not hold a mutable container, because changing it in place cannot be tracked. "
                f"Use {_IMMUTABLE_HINT[base]} and assign a new value instead."
            )


#: A migration step turns one saved row (field name -> value, as stored) of version N into the
#: row of version N + 1, or None to drop it. Pure: no I/O, no world.
Migration = Callable[[dict[str, Any]], "dict[str, Any] | None"]


def persistent(
    name: str,
    version: int = 1,
    *,
    migrations: Mapping[int, Migration] | None = None,
    previous_names: tuple[str, ...] = (),
) -> Callable[[type[C]], type[C]]:
    """Register a component dataclass as persistent under a stable ``name`` and schema ``version``.

    Apply it on top of ``@dataclass(slots=True)``::

        @persistent("health", version=1)
        @dataclass(slots=True)
        class Health(Component):
            current: int
            maximum: int

    After this, every attribute write on an attached instance is tracked by the world it belongs to.

    Adding a field with a default needs nothing else: existing databases gain the column. Renaming
    or retyping a field needs a new ``version`` and a migration step from the old one:
    ``migrations={1: lambda row: {**row, "dp": row.pop("hp")}}`` turns version 1 rows into version
    2 rows. Renaming the component itself lists the old names in ``previous_names``.
    """
    if not name or not name.replace("_", "").isalnum() or not name[0].isalpha():
        raise ComponentError(
            f"persistent component name {name!r} must start with a letter and contain only "
            "letters, digits and underscores (it becomes a table name)"
        )
    if name.startswith(RESERVED_PREFIX):
        raise ComponentError(f"names starting with {RESERVED_PREFIX!r} are the engine's own")
    if version < 1:
        raise ComponentError(f"schema version of {name!r} must be >= 1, got {version}")
    steps = dict(migrations or {})
    for start in steps:
        if not 1 <= start < version:
            raise ComponentError(
                f"{name!r} has a migration from version {start}, but its versions run 1..{version}"
            )

    def register(cls: type[C]) -> type[C]:
        if not (isinstance(cls, type) and issubclass(cls, Component)):
            raise ComponentError(f"@persistent({name!r}) needs a subclass of engine.Component")
        if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
            raise ComponentError(
                f"{cls.__qualname__} must be decorated with @dataclass(slots=True) "
                f"below @persistent({name!r})"
            )
        if cls.__dictoffset__:
            raise ComponentError(
                f"{cls.__qualname__} has a __dict__ (a base class without __slots__?): "
                "attributes outside the dataclass fields could change untracked"
            )
        _check_field_types(cls)
        fields = tuple(f.name for f in dataclasses.fields(cls))
        if not fields:
            values: Callable[[Any], Any] = lambda _c: ()  # noqa: E731 - a tag: presence is the value
        elif len(fields) == 1:
            getter = operator.attrgetter(fields[0])
            values = lambda c: (getter(c),)  # noqa: E731 - keep the tuple shape for one field
        else:
            values = operator.attrgetter(*fields)
        frozen = bool(cls.__dataclass_params__.frozen)
        cls.__kadath__ = ComponentInfo(
            name, version, fields, values, frozen, steps, tuple(previous_names)
        )
        if not frozen:  # a frozen component changes only by replacement, which the world sees
            type.__setattr__(cls, "__setattr__", _tracked_setattr)
        type.__setattr__(cls, "__new__", staticmethod(_untracked_new))
        return cls

    return register


def component_info(component_type: type) -> ComponentInfo | None:
    """The persistence registration of a component type, or None for a transient type."""
    # Looked up on the class itself: an undecorated subclass of a persistent type is transient.
    info = component_type.__dict__.get("__kadath__")
    return info if isinstance(info, ComponentInfo) else None
