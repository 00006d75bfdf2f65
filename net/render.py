"""Engine events as server messages: which message type an event travels as, and its words.

The engine's events are plain data (``engine.events``); this module decides how a client sees
them, once per event, before the hub encodes the result for every recipient. Pure: no I/O, and a
plugin's renderer that fails costs that event, never the connection.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.events import Event
from engine.plugins import Renderer
from net.protocol import to_json_safe

__all__ = ["RenderError", "render_event"]


class RenderError(Exception):
    """An event could not become a server message: its data has no JSON form, or its renderer
    failed. The cause is chained; the fault is in the plugin that emitted or renders the event."""


_EVENT_MESSAGE_TYPES: Mapping[str, str] = {
    name: name for name in ("room", "say", "error", "status", "combat")
}


def render_event(
    event: Event, renderers: Mapping[str, Renderer]
) -> tuple[str, dict[str, Any], str]:
    """The server message ``(type, data, text)`` of an engine event, ready for
    ``ServerChannel.message(*result, tick=event.tick)``.

    Events of type ``room``, ``say``, ``error``, ``status`` and ``combat`` keep their type; any
    other is a ``msg`` whose ``data`` is the event's data plus ``"event"``: the event's own type
    (which wins over an ``"event"`` key in the data). An ``error`` always has ``code`` (``refused``
    if the emitter gave none) and ``message`` (its text if none). When the event's text is empty
    and ``renderers`` has one for its type, the text is what that renderer returns.

    The data is made JSON-safe (``to_json_safe``). Render each event once and encode it for every
    recipient. Raises ``RenderError`` (the cause chained) when the data has no JSON form or the
    renderer fails or returns something other than a string; the server logs it and skips the
    event, so one plugin's bug does not cut a player off.
    """
    try:
        data = to_json_safe(event.data)
    except TypeError as bad:
        raise RenderError(f"{event.type!r} event: {bad}") from bad
    if not isinstance(data, dict):
        raise RenderError(
            f"{event.type!r} event: data is {type(event.data).__name__}, not a mapping"
        )
    text = event.text
    if not text:
        renderer = renderers.get(event.type)
        if renderer is not None:
            try:
                text = renderer(event)
            except Exception as bad:
                raise RenderError(f"renderer for {event.type!r} events failed: {bad!r}") from bad
            if not isinstance(text, str):
                raise RenderError(
                    f"renderer for {event.type!r} events returned {type(text).__name__}, not str"
                )
    message_type = _EVENT_MESSAGE_TYPES.get(event.type)
    if message_type is None:
        data.pop("event", None)
        return "msg", {"event": event.type, **data}, text
    if message_type == "error":
        data.setdefault("code", "refused")
        data.setdefault("message", text)
    return message_type, data, text
