"""Docstrings read plainly wherever they are printed: no reStructuredText markup, one paragraph
on one line, wrapped to the column it is shown in."""

from __future__ import annotations

import pytest

from engine.text import plain_text, wrapped


@pytest.mark.parametrize(
    ("doc", "plain"),
    [
        ("due again ``respawn_s`` later", "due again respawn_s later"),
        ("see :func:`room_of` and :class:`~engine.world.World`", "see room_of and World"),
        (":py:meth:`engine.world.World.add`", "engine.world.World.add"),
        (":data:`the limit <engine.commands.MAX_ARG_WORDS>`", "the limit"),
        ("an `interpreted` word", "an interpreted word"),
        ("**never** mutate, *replace*", "never mutate, replace"),
        ("3 * 4 * 5 and snake_case_names", "3 * 4 * 5 and snake_case_names"),
        ("two\n    lines,   joined", "two lines, joined"),
    ],
)
def test_plain_text_takes_the_markup_out_and_keeps_the_words(doc: str, plain: str) -> None:
    assert plain_text(doc) == plain


def test_wrapped_text_carries_on_under_its_own_column() -> None:
    text = wrapped("the ``fight_rounds`` system plays every fight whose round has come", 40, 10)
    lines = text.split("\n")
    assert len(lines) > 1
    assert all(line.startswith(" " * 10) for line in lines[1:])
    assert all(len(line) <= 40 for line in lines[1:]) and len(lines[0]) <= 30
    assert "`" not in text and " ".join(line.strip() for line in lines).startswith("the fight")
