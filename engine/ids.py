"""Stable entity ids: unique across restarts and across processes that share one database.

esper's ids are process-local counters. A persistent entity also gets a 63-bit stable id made of the
process's node id (16 bits) and a per-node sequence (47 bits). Ids are deterministic, so a replayed
command log names the same entities; they never collide between nodes, and the persistence layer
saves the next sequence number so a restarted node carries on where it stopped. Pure arithmetic,
no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

#: Node 0 is reserved for content: entities defined in data files (rooms, doors, room containers)
#: whose ids derive from their content keys, so they are the same on every start and every node.
CONTENT_NODE = 0
NODE_BITS = 16
SEQUENCE_BITS = 47
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class IdSpaceExhausted(RuntimeError):
    """A node has used up its 2**47 ids: give the process another node id."""


def make_stable_id(node: int, sequence: int) -> int:
    """Compose a stable id; it fits a signed 64-bit column (PostgreSQL BIGINT, SQLite INTEGER)."""
    if not 1 <= node <= MAX_NODE:
        raise ValueError(f"node id must be between 1 and {MAX_NODE}, got {node}")
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be between 0 and {MAX_SEQUENCE}, got {sequence}")
    return (node << SEQUENCE_BITS) | sequence


def split_stable_id(stable_id: int) -> tuple[int, int]:
    """The (node, sequence) a stable id was made from."""
    return stable_id >> SEQUENCE_BITS, stable_id & MAX_SEQUENCE


@dataclass(slots=True)
class StableIdAllocator:
    """Hands out this node's stable ids in order, starting at ``next_sequence``."""

    node: int
    next_sequence: int = 0

    def __post_init__(self) -> None:
        make_stable_id(self.node, 0)  # validates the node id early, with the same message
        if not 0 <= self.next_sequence <= MAX_SEQUENCE + 1:
            raise ValueError(
                f"next_sequence must be between 0 and {MAX_SEQUENCE + 1}, got {self.next_sequence}"
            )

    def allocate(self) -> int:
        if self.next_sequence > MAX_SEQUENCE:
            raise IdSpaceExhausted(f"node {self.node} has allocated all {MAX_SEQUENCE + 1} ids")
        sequence = self.next_sequence
        self.next_sequence = sequence + 1
        return (self.node << SEQUENCE_BITS) | sequence

    def observe(self, stable_id: int) -> None:
        """Note an id restored from storage, so that this node never hands it out again."""
        node, sequence = split_stable_id(stable_id)
        if node == self.node and sequence >= self.next_sequence:
            self.next_sequence = sequence + 1


def content_stable_id(key: str) -> int:
    """The stable id of a content-defined entity: a 47-bit hash of its key, on the content node.

    The same key gives the same id on every start, so saved state (a door left open, a chest's
    contents) finds its entity again. Loaders must check distinct keys for (unlikely) collisions.
    """
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & MAX_SEQUENCE


def plugin_stable_id(plugin: str, key: str) -> int:
    """The stable id of an entity a plugin owns by name (its world state, a shrine it places):
    derived from the plugin's name and the key, on the content node, like a content entity's.

    It never depends on the order plugins load in or builders run in, nor on the zones or other
    plugins installed, so saved state finds its entity again whatever else changed.
    """
    if not plugin or not key:
        raise ValueError("a plugin's stable id needs the plugin's name and a key")
    return content_stable_id(f"plugin:{plugin}:{key}")
