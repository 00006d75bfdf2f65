"""The World: entities, components, cached queries and change tracking over one esper context.

Everything a rule touches goes through this facade, which is what lets the engine keep query caches
exact under structural change and see every change to a persistent component. The world holds the
clock, the seeded RNG and the tick's events, and never does I/O.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

import esper

from engine.clock import Clock
from engine.component import ABSENT, Component, ComponentError, TrackKey, component_info
from engine.events import Event, Scope
from engine.ids import StableIdAllocator

__all__ = ["Additions", "Changes", "NoSuchComponent", "NoSuchEntity", "World"]

C = TypeVar("C")
C1 = TypeVar("C1")
C2 = TypeVar("C2")
C3 = TypeVar("C3")
C4 = TypeVar("C4")

_context_names = itertools.count(1)
_object_setattr = object.__setattr__


class NoSuchEntity(KeyError):
    """The entity id does not exist in this world (never did, or was destroyed)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such entity"


class NoSuchComponent(KeyError):
    """The entity exists but has no component of the requested type."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such component"


@dataclass(frozen=True, slots=True)
class Changes:
    """What happened to persistent state during one tick, net of everything undone within it.

    Keys are ``(stable_id, component type)``. ``added`` and ``changed`` carry the live component;
    ``values`` holds, for each of those keys, the tuple of its field values at the end of the tick:
    persistent components hold only immutable values, so that tuple is already a safe snapshot.
    ``spawned``/``destroyed``: stable ids of persistent entities created or destroyed in the tick.
    """

    tick: int
    added: Mapping[TrackKey, Component]
    changed: Mapping[TrackKey, Component]
    deleted: frozenset[TrackKey]
    spawned: frozenset[int]
    destroyed: frozenset[int]
    values: Mapping[TrackKey, tuple[Any, ...]] = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.added) + len(self.changed) + len(self.deleted)

    @property
    def dirty(self) -> frozenset[TrackKey]:
        """Every key whose stored row must be written or deleted."""
        return frozenset(self.added) | frozenset(self.changed) | self.deleted


class _Query:
    """One cached query, kept up to date incrementally by structural changes of its types."""

    __slots__ = ("exclude", "include", "rows", "single", "view")

    def __init__(self, include: tuple[type, ...], exclude: tuple[type, ...]) -> None:
        self.include = include
        self.exclude = exclude
        self.single = len(include) == 1
        self.rows: dict[int, tuple[int, Any]] = {}  # entity -> the row as the view returns it
        self.view: list[tuple[int, Any]] | None = None


class _Index:
    """Entities by the value of one field of an immutable component, in arrival order."""

    __slots__ = ("buckets", "field")

    def __init__(self, field: str) -> None:
        self.field = field
        self.buckets: dict[Any, dict[int, None]] = {}

    def put(self, entity: int, component: Any) -> None:
        self.buckets.setdefault(getattr(component, self.field), {})[entity] = None

    def drop(self, entity: int, component: Any) -> None:
        key = getattr(component, self.field)
        bucket = self.buckets.get(key)
        if bucket is not None:
            bucket.pop(entity, None)
            if not bucket:
                del self.buckets[key]


_EMPTY_BUCKET: dict[int, None] = {}


class Additions:
    """A feed of the entities that were given a component of one type (added, or replaced by
    another instance) since the feed last drained: the ``Added<T>`` of bevy, for rules that must
    notice a change (something landing on a floor, a due point being set) without scanning for it.

    Made by :meth:`World.additions`; each feed is its own, so two rules never take each other's
    news. An entity appears once however often it changed, in the order it first did; it may have
    lost the component or been destroyed since, so check. Memory is bounded by the entities
    changed between drains.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[int, None] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def drain(self) -> list[int]:
        """The entities given the component since the last drain, in the order they first were."""
        if not self._pending:
            return []
        found = list(self._pending)
        self._pending.clear()
        return found


class Removals(Generic[C]):
    """A feed of the components of one type taken off their entities (removed, or destroyed with
    their entity) since the feed last drained, each with the component as it was: bevy's
    ``RemovedComponents<T>``, for rules that must notice a loss (an NPC gone from the world, a
    player gone from a room) without scanning for it.

    Made by :meth:`World.removals`; each feed is its own. Replacing a component with another of
    the same type is not a removal (it is an addition: see :class:`Additions`). Every removal is
    reported, in the order it happened; the entity may have been given the type again, or be
    gone, since. Memory is bounded by the removals between drains. A feed made with
    ``evictions=False`` leaves out entities :meth:`World.evict` took out (handed to another
    shard, alive there): for a rule that counts losses, not departures.
    """

    __slots__ = ("_pending", "evictions")

    def __init__(self, *, evictions: bool = True) -> None:
        self._pending: list[tuple[int, C]] = []
        self.evictions = evictions

    def __len__(self) -> int:
        return len(self._pending)

    def drain(self) -> list[tuple[int, C]]:
        """``(entity, component)`` of each removal since the last drain, in the order they came."""
        if not self._pending:
            return []
        found = self._pending
        self._pending = []
        return found


class World:
    """One simulated world. Several can live in one process: each owns a private esper context.

    ``persistent`` entities carry a stable id (see :mod:`engine.ids`); only on them are persistent
    components tracked, so transient helpers (a spell effect, a test dummy) cost nothing to save.
    A ``referable`` transient entity (a hallucination that can be fought) carries a *reference
    id* instead: negative, so never a saved entity's stable id, found by :meth:`stable_id` and
    :meth:`entity_of` like one, so that components may name it; nothing of it is tracked or saved.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        clock: Clock | None = None,
        node_id: int = 1,
        next_sequence: int = 0,
    ) -> None:
        self._context = f"kadath-world-{next(_context_names)}"
        self.clock = clock or Clock()
        self.seed = seed
        self.rng = random.Random(seed)
        self.ids = StableIdAllocator(node_id, next_sequence)
        self._next_reference = -1  # the next reference id of a referable transient entity
        #: Entities evicted this tick and their stable ids (see :meth:`evicted_stable_id`).
        self._evicted: tuple[int, dict[int, int]] = (-1, {})
        self._sid_of: dict[int, int] = {}
        self._entity_of: dict[int, int] = {}
        self._queries: dict[tuple[tuple[type, ...], tuple[type, ...]], _Query] = {}
        self._queries_by_type: dict[type, list[_Query]] = {}
        # Change tracking. Components written this tick append themselves to ``_written`` (see
        # engine.component); structural changes record the tick-start state of their key in
        # ``_structural`` (the clean values tuple, or ABSENT if the key had no component).
        self._written: list[Component] = []
        # One bound method shared by every tracked component (a fresh one per component cost 72
        # bytes and a collector-tracked object each, and spread the components out in memory).
        self._record_write = self._written.append
        self._structural: dict[TrackKey, Any] = {}
        # Persistent entities touched this tick: stable id -> existed at tick start.
        self._touched_entities: dict[int, bool] = {}
        self._events: list[Event] = []
        self._entity_count = 0
        self._indexes: dict[type, list[_Index]] = {}
        self._resources: dict[type, Any] = {}
        self._additions: dict[type, list[dict[int, None]]] = {}
        self._removals: dict[type, list[Removals[Any]]] = {}
        esper.switch_world(self._context)

    def __del__(self) -> None:
        try:
            if esper.current_world == self._context:
                esper.switch_world("default")
            esper.delete_world(self._context)
        except (KeyError, PermissionError, AttributeError, TypeError):
            pass

    def _use(self) -> None:
        if esper.current_world != self._context:
            esper.switch_world(self._context)

    # ---------------------------------------------------------------- entities

    def spawn(
        self,
        *components: Any,
        persistent: bool = False,
        stable_id: int | None = None,
        referable: bool = False,
    ) -> int:
        """Create an entity with ``components``; ``persistent`` (or a given ``stable_id``) saves it.

        ``stable_id`` is for restoring saved entities; a new persistent entity gets the next id.
        ``referable`` makes a transient entity that others may name by id all the same: it gets
        the next reference id (negative; never saved, never a stable id of a saved entity, never
        taken from the stable id sequence), and nothing of it is tracked, whatever its components.
        """
        self._use()
        if referable:
            if persistent or stable_id is not None:
                raise ValueError("a referable entity is transient: it has no stable id to save")
            entity_ref: int = esper.create_entity()
            self._entity_count += 1
            reference = self._next_reference
            self._next_reference = reference - 1
            self._sid_of[entity_ref] = reference
            self._entity_of[reference] = entity_ref
            for component in components:
                self.add(entity_ref, component)
            return entity_ref
        if stable_id is not None:
            if stable_id in self._entity_of:
                raise ValueError(
                    f"stable id {stable_id} already names entity {self._entity_of[stable_id]}"
                )
            self.ids.observe(stable_id)
        elif persistent:
            stable_id = self.ids.allocate()
        entity: int = esper.create_entity()
        self._entity_count += 1
        if stable_id is not None:
            self._sid_of[entity] = stable_id
            self._entity_of[stable_id] = entity
            if stable_id not in self._touched_entities:
                self._touched_entities[stable_id] = False
        for component in components:
            self.add(entity, component)
        return entity

    def destroy(self, entity: int) -> None:
        """Delete an entity and all its components, now. Removing an absent entity is an error."""
        self.destroy_all((entity,))

    def destroy_all(self, entities: Iterable[int]) -> None:
        """:meth:`destroy` each entity in turn: one call for the thousand things a tick of decay
        or death may destroy, the per-component work of detaching, indexes and queries inlined.
        An absent entity raises ``NoSuchEntity``; those before it are destroyed."""
        self._destroy_all(entities, evicting=False)

    def _destroy_all(self, entities: Iterable[int], *, evicting: bool) -> None:
        self._use()
        indexes = self._indexes
        queries_by_type = self._queries_by_type
        structural = self._structural
        removals = self._removals
        sid_of = self._sid_of
        entity_of = self._entity_of
        touched = self._touched_entities
        components_for = esper.components_for_entity
        delete = esper.delete_entity
        component: Any
        for entity in entities:
            try:
                found_components: tuple[Any, ...] = components_for(entity)
            except KeyError:
                raise NoSuchEntity(f"entity {entity} does not exist in this world") from None
            for component in found_components:
                ctype = type(component)
                if removals:
                    feeds = removals.get(ctype)
                    if feeds:
                        for feed in feeds:
                            if feed.evictions or not evicting:
                                feed._pending.append((entity, component))
                key = getattr(component, "_k_key", None)
                if key is not None:
                    # Detached: no key, so collect_changes passes it by, and no hook, so writes
                    # to it are not recorded. Its clean values go with it (nothing reads them).
                    structural.setdefault(key, component._k_clean)
                    _object_setattr(component, "_k_key", None)
                    _object_setattr(component, "_k_track", None)
                found = indexes.get(ctype)
                if found:
                    for index in found:
                        index.drop(entity, component)
                queries = queries_by_type.get(ctype)
                if queries:
                    for query in queries:
                        if query.rows.pop(entity, None) is not None:
                            query.view = None
            delete(entity, immediate=True)
            self._entity_count -= 1
            sid = sid_of.pop(entity, None)
            if sid is not None:
                del entity_of[sid]
                if sid >= 0 and sid not in touched:
                    touched[sid] = True

    def evict(self, entities: Iterable[int]) -> list[tuple[int, tuple[Any, ...]]]:
        """Take persistent entities out of this world *without* deleting them: another process
        (the shard their zone moved to) saves them from now on. Returns each one's stable id and
        components, in the order given. Unlike :meth:`destroy_all`, nothing is recorded for the
        database: no deletion, and no change made to them earlier in the tick (the caller hands
        their whole state on). A transient entity raises ``ValueError``, an absent one
        ``NoSuchEntity``; nothing is evicted then."""
        self._use()
        taken: list[tuple[int, int, tuple[Any, ...]]] = []
        for entity in entities:
            sid = self._sid_of.get(entity)
            if sid is None or sid < 0:
                raise ValueError(f"entity {entity} is not persistent: there is nothing to hand on")
            try:
                taken.append((entity, sid, tuple(esper.components_for_entity(entity))))
            except KeyError:
                raise NoSuchEntity(f"entity {entity} does not exist in this world") from None
        self._destroy_all((entity for entity, _, _ in taken), evicting=True)
        tick = self.clock.tick
        if self._evicted[0] != tick:
            self._evicted = (tick, {})
        self._evicted[1].update((entity, sid) for entity, sid, _ in taken)
        gone = {sid for _, sid, _ in taken}
        touched = self._touched_entities
        for sid in gone:
            touched.pop(sid, None)
        structural = self._structural
        for key in [key for key in structural if key[0] in gone]:
            del structural[key]
        return [(sid, components) for _, sid, components in taken]

    def evicted_stable_id(self, entity: int) -> int | None:
        """The stable id ``entity`` had, if it was evicted during the current tick: what the
        journal names a command by when its actor crossed to another shard in the same tick."""
        tick, evicted = self._evicted
        return evicted.get(entity) if tick == self.clock.tick else None

    def exists(self, entity: int) -> bool:
        self._use()
        return bool(esper.entity_exists(entity))

    def entities(self) -> list[int]:
        """Every entity id, in creation order."""
        self._use()
        return list(esper.get_entities())

    def stable_id(self, entity: int) -> int | None:
        """The stable id of a persistent entity (the negative reference id of a referable one),
        or None for a transient one."""
        return self._sid_of.get(entity)

    def entity_of(self, stable_id: int) -> int | None:
        """The live entity with this stable id (or reference id), if it is in the world."""
        return self._entity_of.get(stable_id)

    def is_persistent(self, entity: int) -> bool:
        """Whether ``entity`` is saved: it has a stable id (a referable one's is no stable id)."""
        return self._sid_of.get(entity, -1) >= 0

    def _check(self, entity: int) -> None:
        self._use()
        if not esper.entity_exists(entity):
            raise NoSuchEntity(f"entity {entity} does not exist in this world")

    # -------------------------------------------------------------- components

    def add(self, entity: int, component: Any) -> None:
        """Give ``entity`` a component, replacing any of the same type."""
        self._check(entity)
        ctype = type(component)
        old = esper.try_component(entity, ctype)
        if old is component:
            return
        if getattr(component, "_k_key", None) is not None:
            raise ComponentError(
                f"this {ctype.__qualname__} instance already belongs to an entity; "
                "give each entity its own instance (dataclasses.replace makes a copy)"
            )
        sid = self._sid_of.get(entity)
        if sid is not None and sid >= 0 and (info := component_info(ctype)) is not None:
            key = (sid, ctype)
            if old is None:
                self._structural.setdefault(key, ABSENT)
            else:
                self._detach(entity, ctype, old)
            _object_setattr(component, "_k_key", key)
            _object_setattr(component, "_k_clean", info.values(component))
            _object_setattr(component, "_k_track", self._record_write)
        esper.add_component(entity, component)
        feeds = self._additions.get(ctype)
        if feeds is not None:
            for pending in feeds:
                pending[entity] = None
        indexes = self._indexes.get(ctype)
        if indexes:
            for index in indexes:
                if old is not None:
                    index.drop(entity, old)
                index.put(entity, component)
        queries = self._queries_by_type.get(ctype)
        if queries:
            for query in queries:
                if old is not None and ctype in query.exclude:
                    continue  # still excluded, as before
                self._refresh(entity, query)

    def remove(self, entity: int, component_type: type[C]) -> C:
        """Take a component off an entity and return it; an absent one is an error."""
        self._check(entity)
        component = esper.try_component(entity, component_type)
        if component is None:
            raise NoSuchComponent(f"entity {entity} has no {component_type.__qualname__}")
        self._detach(entity, component_type, component)
        esper.remove_component(entity, component_type)
        for feed in self._removals.get(component_type, ()):
            feed._pending.append((entity, component))
        for index in self._indexes.get(component_type, ()):
            index.drop(entity, component)
        for query in self._queries_by_type.get(component_type, ()):
            self._refresh(entity, query)
        return component

    def discard(self, entity: int, component_type: type[C]) -> C | None:
        """Remove a component if the entity has it; return it or None."""
        if not self.has(entity, component_type):
            return None
        return self.remove(entity, component_type)

    def get(self, entity: int, component_type: type[C]) -> C:
        self._use()
        try:
            return esper.component_for_entity(entity, component_type)
        except KeyError:
            self._check(entity)
            raise NoSuchComponent(f"entity {entity} has no {component_type.__qualname__}") from None

    def try_get(self, entity: int, component_type: type[C]) -> C | None:
        """The component, or None if the entity lacks it or does not exist.

        One look-up: the world deletes entities at once (never esper's deferred deletion), so an
        entity esper still has is alive. The hottest call of every rule (about 2,000 a tick in
        town-10k): the context check of :meth:`_use` is written out here."""
        if esper.current_world != self._context:
            esper.switch_world(self._context)
        return esper.try_component(entity, component_type)

    def has(self, entity: int, *component_types: type) -> bool:
        """Whether ``entity`` exists and has every one of ``component_types``.

        One type (nearly every call: rules ask it hundreds of times a tick) is one look-up, as in
        :meth:`try_get`: a component is never None, and an entity esper holds is alive."""
        if esper.current_world != self._context:
            esper.switch_world(self._context)
        if len(component_types) == 1:
            return esper.try_component(entity, component_types[0]) is not None
        return bool(esper.entity_exists(entity)) and bool(
            esper.has_components(entity, *component_types)
        )

    def components(self, entity: int) -> tuple[Any, ...]:
        self._check(entity)
        return tuple(esper.components_for_entity(entity))

    def _detach(self, entity: int, ctype: type, component: Any) -> None:
        """Stop tracking a component leaving its entity; remember the key's tick-start state."""
        key = getattr(component, "_k_key", None)
        if key is None:
            return
        self._structural.setdefault(key, component._k_clean)
        _object_setattr(component, "_k_key", None)
        _object_setattr(component, "_k_track", None)
        _object_setattr(component, "_k_clean", None)

    # ----------------------------------------------------------------- queries

    @overload
    def query(self, c1: type[C1], /, *, without: Iterable[type] = ()) -> list[tuple[int, C1]]: ...
    @overload
    def query(
        self, c1: type[C1], c2: type[C2], /, *, without: Iterable[type] = ()
    ) -> list[tuple[int, tuple[C1, C2]]]: ...
    @overload
    def query(
        self, c1: type[C1], c2: type[C2], c3: type[C3], /, *, without: Iterable[type] = ()
    ) -> list[tuple[int, tuple[C1, C2, C3]]]: ...
    @overload
    def query(
        self,
        c1: type[C1],
        c2: type[C2],
        c3: type[C3],
        c4: type[C4],
        /,
        *,
        without: Iterable[type] = (),
    ) -> list[tuple[int, tuple[C1, C2, C3, C4]]]: ...
    def query(self, *types: type, without: Iterable[type] = ()) -> list[tuple[int, Any]]:
        """Entities having every type in ``types`` and none in ``without``, with those components.

        One type gives ``(entity, component)`` pairs; several give ``(entity, (c1, c2, ...))``.
        The result is cached and kept exact as components come and go: adding or removing a
        component of a type the query does not name costs it nothing. Do not mutate the returned
        list; it is a snapshot, so structural changes made while iterating it show on the next call.
        """
        excluded = tuple(without)
        query = self._queries.get((types, excluded))
        if query is None:
            query = self._build_query(types, excluded)
        view = query.view
        if view is None:
            view = query.view = list(query.rows.values())
        return view

    def count(self, *types: type, without: Iterable[type] = ()) -> int:
        return len(self.query(*types, without=without))

    def _build_query(self, include: tuple[type, ...], exclude: tuple[type, ...]) -> _Query:
        if not include:
            raise TypeError("a query needs at least one component type")
        if set(include) & set(exclude):
            raise TypeError("a query cannot both require and exclude the same type")
        self._use()
        query = _Query(include, exclude)
        found: list[tuple[int, Any]]
        if query.single:
            found = list(esper.get_component(include[0]))
        else:
            found = list(esper.get_components(*include))
        esper.clear_cache()  # our cache supersedes esper's; let it drop its copy
        found.sort(key=lambda row: row[0])  # deterministic order, independent of set layout
        for entity, comps in found:
            if not any(esper.has_component(entity, ctype) for ctype in exclude):
                query.rows[entity] = (entity, comps)
        self._queries[(include, exclude)] = query
        for ctype in include + exclude:
            self._queries_by_type.setdefault(ctype, []).append(query)
        return query

    def _refresh(self, entity: int, query: _Query) -> None:
        """Recompute one entity's membership of one query after a change to one of its types."""
        row: Any
        if query.single:
            row = esper.try_component(entity, query.include[0])
        else:
            row = esper.try_components(entity, *query.include)
        if row is not None and query.exclude:
            for ctype in query.exclude:
                if esper.has_component(entity, ctype):
                    row = None
                    break
        if row is None:
            if query.rows.pop(entity, None) is not None:
                query.view = None
        else:
            query.rows[entity] = (entity, row)
            query.view = None

    # ----------------------------------------------------------------- indexes

    def add_index(self, component_type: type, field: str) -> None:
        """Keep entities findable by ``component_type.field`` in O(1) (who is in this room?).

        The component type must be a frozen dataclass: its field can then change only by replacing
        the component, which the world sees, so the index can never go stale.
        """
        params = getattr(component_type, "__dataclass_params__", None)
        if params is None or not params.frozen:
            raise TypeError(
                f"cannot index {component_type.__qualname__}.{field}: an indexed component must be "
                "a frozen dataclass (@dataclass(frozen=True, slots=True)), moved by replacing it"
            )
        if field not in {f.name for f in dataclasses.fields(component_type)}:
            raise TypeError(f"{component_type.__qualname__} has no field {field!r} to index")
        indexes = self._indexes.setdefault(component_type, [])
        if any(index.field == field for index in indexes):
            return
        index = _Index(field)
        existing: list[tuple[int, Any]] = self.query(component_type)
        for entity, component in existing:
            index.put(entity, component)
        indexes.append(index)

    def lookup(self, component_type: type, field: str, value: Any) -> Collection[int]:
        """Entities whose ``component_type.field`` equals ``value``, in the order they arrived.

        A live view: copy it (``list(...)``) before changing the world while iterating it.
        """
        for index in self._indexes.get(component_type, ()):
            if index.field == field:
                return index.buckets.get(value, _EMPTY_BUCKET).keys()
        raise KeyError(
            f"no index on {component_type.__qualname__}.{field}; declare it with world.add_index"
        )

    def additions(self, component_type: type) -> Additions:
        """A new feed of the entities given a ``component_type`` from now on (see
        :class:`Additions`). Adding or replacing a component of a type nobody watches costs one
        dictionary look-up."""
        feed = Additions()
        self._additions.setdefault(component_type, []).append(feed._pending)
        return feed

    def removals(self, component_type: type[C], *, evictions: bool = True) -> Removals[C]:
        """A new feed of the components of ``component_type`` taken off entities from now on
        (see :class:`Removals`; ``evictions=False``: not those of evicted entities). While
        nobody watches any type's removals, removing and destroying cost nothing more."""
        feed: Removals[C] = Removals(evictions=evictions)
        self._removals.setdefault(component_type, []).append(feed)
        return feed

    # --------------------------------------------------------------- resources

    def insert_resource(self, resource: Any) -> None:
        """Store a world-wide singleton (content templates, the room directory) by its type."""
        self._resources[type(resource)] = resource

    def resource(self, resource_type: type[C]) -> C:
        try:
            found: C = self._resources[resource_type]
        except KeyError:
            raise KeyError(
                f"this world has no {resource_type.__qualname__} resource; "
                "insert it with world.insert_resource"
            ) from None
        return found

    def try_resource(self, resource_type: type[C]) -> C | None:
        found: C | None = self._resources.get(resource_type)
        return found

    def pop_resource(self, resource_type: type[C]) -> C | None:
        """Take a resource out (one that is handed over once, such as a journal to roll forward)."""
        found: C | None = self._resources.pop(resource_type, None)
        return found

    # ------------------------------------------------------------------ events

    def emit(
        self,
        type: str,
        scope: Scope,
        text: str = "",
        data: Mapping[str, Any] | None = None,
        exclude: Iterable[int] = (),
    ) -> None:
        """Record an event of this tick for the network shell to deliver after the tick."""
        self._events.append(
            Event(type, scope, text, data or {}, self.clock.tick, frozenset(exclude))
        )

    def drain_events(self) -> list[Event]:
        """The events emitted since the last drain, in emission order."""
        events, self._events = self._events, []
        return events

    # --------------------------------------------------------- change tracking

    def collect_changes(self) -> Changes:
        """Net persistent changes since the last call, then start a new tracking period.

        A component changed and changed back, or added and removed within the period, is not
        reported: the database already holds the right state. Cost is proportional to what was
        touched, never to the size of the world.
        """
        self._use()
        before_of = self._structural
        added: dict[TrackKey, Component] = {}
        changed: dict[TrackKey, Component] = {}
        deleted: set[TrackKey] = set()
        values: dict[TrackKey, tuple[Any, ...]] = {}
        # Written, still attached and structurally untouched: the common case, and the component
        # at hand is the one attached (no look-up). Detached ones were recorded by _detach.
        written: dict[TrackKey, Component] = {}
        for component in self._written:
            key = component._k_key
            if key is not None and key not in before_of:
                written[key] = component
        self._written.clear()
        for key, component in written.items():
            info = key[1].__kadath__
            assert info is not None  # only persistent types are ever tracked
            now = info.values(component)
            if now != component._k_clean:
                changed[key] = component
                values[key] = now
                _object_setattr(component, "_k_clean", now)
        entity_of = self._entity_of
        for key, before in before_of.items():
            sid, ctype = key
            entity = entity_of.get(sid)
            current = None if entity is None else esper.try_component(entity, ctype)
            if current is None:
                if before is not ABSENT:
                    deleted.add(key)
                continue
            attached: Component = current
            info = ctype.__kadath__
            assert info is not None  # only persistent types are ever tracked
            now = info.values(attached)
            if before is ABSENT:
                added[key] = attached
                values[key] = now
            elif now != before:
                changed[key] = attached
                values[key] = now
            _object_setattr(attached, "_k_clean", now)
        before_of.clear()
        spawned = frozenset(
            sid
            for sid, existed in self._touched_entities.items()
            if not existed and sid in entity_of
        )
        destroyed = frozenset(
            sid
            for sid, existed in self._touched_entities.items()
            if existed and sid not in entity_of
        )
        self._touched_entities.clear()
        return Changes(
            self.clock.tick, added, changed, frozenset(deleted), spawned, destroyed, values
        )

    def mark_clean(self) -> None:
        """Forget pending changes: for state that was just loaded from the database.

        Cheaper than collecting them: a component added since the last collection already holds
        its values as of its addition, so only the written ones are looked at again.
        """
        for component in self._written:
            key = component._k_key
            if key is not None:
                info = key[1].__kadath__
                assert info is not None
                _object_setattr(component, "_k_clean", info.values(component))
        self._written.clear()
        self._structural.clear()
        self._touched_entities.clear()

    # ------------------------------------------------------------------- dumps

    def dump(self) -> list[tuple[Any, ...]]:
        """A canonical, comparable picture of the whole world, for determinism and restore tests.

        Entities are named by stable id where they have one; components by qualified type name with
        their field values; the clock and the RNG state are included.
        """
        self._use()
        rows: list[tuple[Any, ...]] = [
            ("clock", self.clock.tick),
            ("rng", hash(self.rng.getstate())),
        ]
        for entity in sorted(esper.get_entities()):
            sid = self._sid_of.get(entity)
            name = ("sid", sid) if sid is not None else ("eid", entity)
            found: tuple[Any, ...] = esper.components_for_entity(entity)
            comps = sorted(
                (f"{type(c).__module__}.{type(c).__qualname__}", _values(c)) for c in found
            )
            rows.append((name, tuple(comps)))
        return rows

    def __len__(self) -> int:
        return self._entity_count

    def __iter__(self) -> Iterator[int]:
        return iter(self.entities())


def _values(component: Any) -> Any:
    if dataclasses.is_dataclass(component) and not isinstance(component, type):
        return tuple(getattr(component, f.name) for f in dataclasses.fields(component))
    return repr(component)
