"""Docstrings shown to people: the reStructuredText markup of a docstring taken out, so that text
written for the source (``respawn_s``, :func:`room_of`) reads plainly in a terminal or a game.

Pure string functions: no I/O. Used wherever a docstring or a setting's description is printed
(``kadath schedule``, ``kadath plugins``, ``kadath config``, the flags' help, a command's help).
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["plain_text", "wrapped"]

# :func:`name`, :py:class:`~engine.world.World`, :data:`X <engine.x.X>`: the role's target text.
_ROLE = re.compile(r"(?::[A-Za-z]+)+:`(~?)([^`<]*?)\s*(?:<[^`>]*>)?`")
# ``literal``, `interpreted`, **strong**, *emphasis*.
_LITERAL = re.compile(r"``(.+?)``")
_INTERPRETED = re.compile(r"(?<![\w`])`([^`]+)`(?![\w`])")
_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:[^*]*?\S)?)\*(?![\w*])")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    return target.rsplit(".", 1)[-1] if short else target


def plain_text(doc: str) -> str:
    """``doc`` on one line, without markup: whitespace (hard line breaks included) collapsed to
    single spaces, and roles, literals, interpreted text and emphasis reduced to their words
    (``:func:`~systems.whereabouts.room_of``` reads ``room_of``)."""
    text = " ".join(doc.split())
    text = _ROLE.sub(_role, text)
    text = _LITERAL.sub(r"\1", text)
    text = _INTERPRETED.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)


def wrapped(doc: str, width: int, indent: int = 0) -> str:
    """:func:`plain_text` wrapped to ``width`` columns, its lines after the first indented by
    ``indent`` spaces (a column of a table that carries on under itself)."""
    lines = textwrap.wrap(plain_text(doc), width=max(width - indent, 20)) or [""]
    return ("\n" + " " * indent).join(lines)
