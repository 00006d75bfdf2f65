"""Plugins' content tables: the base of their entry models, the field types builders' text needs,
and :func:`content_table`, which hands a rule a table's checked entries. A plugin declares a table
with ``kit.content_table(name, Model)``; the loader reads ``<name>/*.toml`` of every content
folder and checks each ``[[name]]`` entry against the model, reporting every problem as it does
for zones. Nothing here reads files."""

from __future__ import annotations

from typing import TypeVar

from components.content import ContentTables
from engine.world import World
from systems.content.schema import Entry, Id, Name, Text

__all__ = ["ContentId", "ContentModel", "ContentName", "ContentText", "content_table"]

M = TypeVar("M")


class ContentModel(Entry):
    """The base of a content table's entry model (a pydantic model).

    Strict, as the world's own entries are: TOML values are typed, so ``chance = "high"`` is an
    error, not a guess; an unknown key is an error (a typo would otherwise be silently ignored);
    entries are frozen, so a rule cannot change content by accident. A field named ``id`` must be
    unique within the table. Fields are annotated as usual; limits come from ``Field``
    (``Field(ge=0)``).
    """


#: An id: lower-case words of letters, digits and ``_``, joined by single dots (``fog.heavy``).
ContentId = Id
#: A one-line name, stripped; it must not be empty.
ContentName = Name
#: Text players read: a builder may wrap it over several lines; it is joined into paragraphs.
ContentText = Text


def content_table(world: World, model: type[M]) -> tuple[M, ...]:
    """The checked entries of the content table whose entries are ``model``, in file order
    (folders in load order, files by name). Raises ``KeyError`` for a model that no installed
    plugin declared as a table."""
    tables = world.try_resource(ContentTables)
    if tables is None or model not in tables.rows:
        raise KeyError(
            f"no content table has {model.__qualname__} entries: declare it with "
            f"kit.content_table(name, {model.__qualname__}) and build the world from content"
        )
    rows: tuple[M, ...] = tables.rows[model]
    return rows
