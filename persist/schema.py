"""Database schema: one SQLModel table per persistent component type, plus the engine's own tables.

Tables are generated from the component dataclasses, so live game data is plain SQL
(``SELECT * FROM vitals WHERE dp < 5``), keyed by the entity's stable id. Each table comes with a
codec: plain functions turning a component's values into column values and a stored row back into a
component. Building the schema does no I/O; :mod:`persist.migrate` applies it to a database.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from engine.component import RESERVED_PREFIX, ComponentInfo, component_info

__all__ = [
    "AccountRow",
    "ComponentTable",
    "MetaRow",
    "Schema",
    "SchemaError",
    "TombstoneRow",
    "VersionRow",
    "engine_tables",
    "metadata",
    "table_for",
]


class SchemaError(TypeError):
    """A persistent component cannot be mapped to a table; the message says which field and why."""


class _Base(SQLModel):
    """Every Kadath table lives in this metadata, apart from any other SQLModel app's."""

    metadata = sa.MetaData()


metadata = _Base.metadata


class MetaRow(_Base, table=True):
    """Engine metadata: last saved tick, RNG state, next id sequence per node, format version."""

    __tablename__ = f"{RESERVED_PREFIX}meta"
    key: str = Field(primary_key=True)
    value: Any = Field(sa_column=sa.Column(sa.JSON, nullable=False))


def meta_prefix(shard: str | None) -> str:
    """Where a shard of a sharded world keeps its meta rows (its tick, RNG state and id
    sequence are its own): ``shard:<name>:`` before each key; nothing for a single server."""
    return "" if shard is None else f"shard:{shard}:"


class VersionRow(_Base, table=True):
    """The schema version each component table was last written with."""

    __tablename__ = f"{RESERVED_PREFIX}versions"
    component: str = Field(primary_key=True)
    version: int


class TombstoneRow(_Base, table=True):
    """A content-defined component (or, with component ``*``, entity) that play deleted.

    Content entities are rebuilt from the data files at every start; a tombstone stops a key that
    was taken away in play (an eaten apple from a chest) from coming back.
    """

    __tablename__ = f"{RESERVED_PREFIX}tombstones"
    sid: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    component: str = Field(primary_key=True)


class AccountRow(_Base, table=True):
    """A player account. ``name_key`` is the case-folded name, unique ignoring case."""

    __tablename__ = f"{RESERVED_PREFIX}accounts"
    name_key: str = Field(primary_key=True)
    name: str
    password_hash: str
    role: str = "player"
    created: datetime
    last_login: datetime | None = None
    character_sid: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger))


# --------------------------------------------------------------------------- codecs

Encoder = Callable[[Any], Any]
Decoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _finite(value: float) -> float:
    """JSON has no NaN or infinity: a float inside a tuple that is one can never be stored."""
    if not math.isfinite(value):
        raise ValueError(f"{value!r} cannot be stored in a JSON column")
    return value


def _sort_key(value: Any) -> tuple[str, str]:
    return (type(value).__name__, repr(value))


def _field_codec(
    owner: str, name: str, hint: Any
) -> tuple[sa.types.TypeEngine[Any], bool, Encoder, Decoder]:
    """Column type, nullability and value codec for one field's type hint."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise SchemaError(f"{owner}.{name}: only 'X | None' unions can be stored")
        column, _, enc, dec = _field_codec(owner, name, inner[0])
        return (
            column,
            True,
            _identity if enc is _identity else lambda v: None if v is None else enc(v),
            lambda v: None if v is None else dec(v),
        )
    if hint is bool:
        return sa.Boolean(), False, _identity, bool
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if issubclass(hint, int):
            return sa.BigInteger(), False, int, hint
        enum_type = hint
        return sa.Text(), False, lambda v: v.value, lambda v: enum_type(v)
    if hint is int:
        return sa.BigInteger(), False, _identity, int
    if hint is float:
        return sa.Float(precision=53), False, _identity, float
    if hint is str:
        return sa.Text(), False, _identity, str
    if origin in (tuple, frozenset):
        encode, decode = _json_codec(owner, name, hint)
        return sa.JSON(), False, encode, decode
    raise SchemaError(
        f"{owner}.{name}: cannot store a {hint!r}; use int, float, bool, str, an Enum, "
        "or tuples/frozensets of those"
    )


def _json_codec(owner: str, name: str, hint: Any) -> tuple[Encoder, Decoder]:
    """Codec for immutable containers stored as JSON arrays (frozensets sorted, so stable)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is frozenset:
        enc, dec = _json_codec(owner, name, args[0]) if args else (_identity, _identity)
        return (
            lambda v: [enc(x) for x in sorted(v, key=_sort_key)],
            lambda v: frozenset(dec(x) for x in v),
        )
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            enc, dec = _json_codec(owner, name, args[0])
            return lambda v: [enc(x) for x in v], lambda v: tuple(dec(x) for x in v)
        codecs = [_json_codec(owner, name, a) for a in args]
        return (
            lambda v: [c[0](x) for c, x in zip(codecs, v, strict=True)],
            lambda v: tuple(c[1](x) for c, x in zip(codecs, v, strict=True)),
        )
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        enum_type = hint
        return lambda v: v.value, lambda v: enum_type(v)
    if hint is float:
        return _finite, float
    if hint in (int, str, bool):
        scalar: type = hint
        return _identity, lambda v: scalar(v)
    raise SchemaError(f"{owner}.{name}: cannot store {hint!r} inside a tuple or frozenset")


@dataclass(frozen=True, slots=True)
class ComponentTable:
    """A persistent component type with its table and codec.

    ``encode(sid, values)`` gives the row dict to write for a component's values tuple (as found
    in :attr:`engine.world.Changes.values`); ``decode(row)`` gives back a fresh component.
    ``params(sid, values)`` gives the same row as a tuple in column order (``sid`` first) with JSON
    columns already serialised to text: the writer passes it straight to the database driver.
    """

    component: type
    info: ComponentInfo
    model: type[SQLModel]
    table: sa.Table
    columns: tuple[str, ...]
    defaults: Mapping[str, Any]
    encode: Callable[[int, tuple[Any, ...]], dict[str, Any]]
    decode: Callable[[Mapping[Any, Any]], Any]
    params: Callable[[int, tuple[Any, ...]], tuple[Any, ...]]

    @property
    def name(self) -> str:
        return self.info.name


def _json_text(encode: Encoder) -> Encoder:
    """A JSON column's encoder for the driver: the JSON text (SQLAlchemy would serialise it)."""

    def to_text(value: Any) -> Any:
        encoded = encode(value)
        return None if encoded is None else orjson.dumps(encoded).decode()

    return to_text


def _params_encoder(
    encoders: list[Encoder | None],
) -> Callable[[int, tuple[Any, ...]], tuple[Any, ...]]:
    """Positional driver parameters for one row; the writer calls it for every row it writes."""
    if all(encode is None for encode in encoders):
        # Ints, floats, strings, bools: the values tuple already is the row (the common case).
        return lambda sid, values: (sid, *values)
    steps = tuple(encoders)

    def params(sid: int, values: tuple[Any, ...]) -> tuple[Any, ...]:
        return (
            sid,
            *[
                value if encode is None else encode(value)
                for encode, value in zip(steps, values, strict=True)
            ],
        )

    return params


_TABLES: dict[type, ComponentTable] = {}
_NAMES: dict[str, type] = {}


def table_for(component_type: type) -> ComponentTable:
    """The table of a persistent component type, generated once per process."""
    found = _TABLES.get(component_type)
    if found is not None:
        return found
    info = component_info(component_type)
    if info is None:
        raise SchemaError(f"{component_type.__qualname__} is not a persistent component")
    other = _NAMES.get(info.name)
    if other is not None and other is not component_type:
        raise SchemaError(
            f"{component_type.__qualname__} and {other.__qualname__} both call themselves "
            f"{info.name!r}; persistent names must be unique"
        )
    owner = component_type.__qualname__
    hints = typing.get_type_hints(component_type)
    annotations: dict[str, Any] = {"sid": int}
    attrs: dict[str, Any] = {
        "__tablename__": info.name,
        "sid": Field(
            sa_column=sa.Column("sid", sa.BigInteger, primary_key=True, autoincrement=False)
        ),
    }
    encoders: list[Encoder] = []
    decoders: list[tuple[str, Decoder]] = []
    defaults: dict[str, Any] = {}
    driver_encoders: list[Encoder | None] = []  # None: the value goes to the driver as it is
    for field in dataclasses.fields(component_type):
        if field.name == "sid":
            raise SchemaError(f"{owner}: a field may not be called 'sid' (the key column)")
        column_type, nullable, encode, decode = _field_codec(owner, field.name, hints[field.name])
        if field.default is not dataclasses.MISSING:
            defaults[field.name] = encode(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            defaults[field.name] = encode(field.default_factory())
        annotations[field.name] = Any
        attrs[field.name] = Field(sa_column=sa.Column(field.name, column_type, nullable=nullable))
        encoders.append(encode)
        decoders.append((field.name, decode))
        if isinstance(column_type, sa.JSON):
            driver_encoders.append(_json_text(encode))
        else:
            driver_encoders.append(None if encode is _identity else encode)
    attrs["__annotations__"] = annotations
    # Named after the unique persistent name: two component classes may share a class name.
    attrs["__module__"] = __name__
    model = types.new_class(
        f"Row_{info.name}", (_Base,), {"table": True}, lambda ns: ns.update(attrs)
    )
    columns = tuple(name for name, _ in decoders)
    table: sa.Table = model.__table__  # type: ignore[attr-defined]

    def encode_row(sid: int, values: tuple[Any, ...]) -> dict[str, Any]:
        row = {"sid": sid}
        for name, enc, value in zip(columns, encoders, values, strict=True):
            row[name] = enc(value)
        return row

    def decode_row(row: Mapping[Any, Any]) -> Any:
        return component_type(**{name: dec(row[name]) for name, dec in decoders})

    result = ComponentTable(
        component_type,
        info,
        model,
        table,
        columns,
        defaults,
        encode_row,
        decode_row,
        _params_encoder(driver_encoders),
    )
    _TABLES[component_type] = result
    _NAMES[info.name] = component_type
    return result


def table_named(name: str) -> ComponentTable | None:
    """The table of the persistent component type called ``name``, if this process has made it
    (every type of a schema it built)."""
    component_type = _NAMES.get(name)
    return table_for(component_type) if component_type is not None else None


class Schema:
    """The tables of one server: the engine's own plus one per registered persistent type."""

    def __init__(self, component_types: Iterable[type]) -> None:
        self.components: dict[str, ComponentTable] = {}
        for component_type in component_types:
            if component_info(component_type) is None:
                continue
            table = table_for(component_type)
            self.components[table.name] = table
        self.by_type: dict[type, ComponentTable] = {
            t.component: t for t in self.components.values()
        }
        #: Component type -> table name: the snapshot's per-component look-up, kept flat.
        self.table_names: dict[type, str] = {t.component: t.name for t in self.components.values()}

    @property
    def tables(self) -> list[sa.Table]:
        """Every table this schema needs, engine tables first."""
        return [*engine_tables().values(), *(t.table for t in self.components.values())]


def engine_tables() -> dict[str, sa.Table]:
    """The engine's own tables by name: metadata, versions, tombstones, accounts."""
    found: dict[str, sa.Table] = {}
    for model in (MetaRow, VersionRow, TombstoneRow, AccountRow):
        table: sa.Table = model.__table__  # type: ignore[union-attr]
        found[table.name] = table
    return found
