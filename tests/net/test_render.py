"""Engine events as server messages, without a network: which type each event travels as, its
data made JSON-safe, its words from the event or its renderer, and what a failing renderer costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import orjson
import pytest

from engine.events import Event, Scope
from net.protocol import ServerChannel
from net.render import RenderError, render_event


def decoded(encoded: bytes) -> dict[str, Any]:
    value = orjson.loads(encoded)
    assert isinstance(value, dict)
    return value


def event(type_: str, text: str = "", data: Mapping[str, Any] | None = None) -> Event:
    return Event(type_, Scope.entity(1), text, MappingProxyType(dict(data or {})), tick=12)


@pytest.mark.parametrize("type_", ["room", "say", "status", "combat"])
def test_room_say_status_and_combat_events_keep_their_type_and_data(type_: str) -> None:
    data = {"from": "Carter", "text": "Hello."}
    assert render_event(event(type_, "Carter says.", data), {}) == (type_, data, "Carter says.")


@pytest.mark.parametrize("type_", ["emote", "posture", "arrive", "msg", "who"])
def test_any_other_event_is_a_msg_naming_its_event_type(type_: str) -> None:
    message_type, data, text = render_event(event(type_, "Carter waves.", {"who": "Carter"}), {})
    assert (message_type, data, text) == ("msg", {"event": type_, "who": "Carter"}, "Carter waves.")
    assert next(iter(data)) == "event"


def test_the_event_type_wins_over_an_event_key_in_its_data() -> None:
    _, data, _ = render_event(event("emote", "x", {"event": "forged", "a": 1}), {})
    assert data == {"event": "emote", "a": 1}


def test_a_dispatch_error_event_becomes_an_error_with_its_code_and_message() -> None:
    data = {"code": "bad_args", "message": "Missing <item>.", "usage": "get <item...>"}
    assert render_event(event("error", "Missing <item>.", data), {}) == (
        "error",
        data,
        "Missing <item>.",
    )


def test_an_error_event_without_code_or_message_gets_them() -> None:
    _, data, _ = render_event(event("error", "You cannot."), {})
    assert data == {"code": "refused", "message": "You cannot."}


def test_an_event_without_text_is_worded_by_its_renderer() -> None:
    def render(e: Event) -> str:
        return f"{e.data['who']} lights a candle."

    rendered = render_event(event("candle", "", {"who": "Carter"}), {"candle": render})
    assert rendered == ("msg", {"event": "candle", "who": "Carter"}, "Carter lights a candle.")


def test_an_event_with_text_ignores_its_renderer() -> None:
    def render(e: Event) -> str:
        raise AssertionError("not called")

    assert render_event(event("candle", "Given."), {"candle": render})[2] == "Given."


def test_an_event_without_text_or_renderer_has_empty_text() -> None:
    assert render_event(event("candle"), {}) == ("msg", {"event": "candle"}, "")


def test_a_failing_renderer_is_a_render_error_naming_the_event_type() -> None:
    def render(e: Event) -> str:
        raise KeyError("flame")

    with pytest.raises(RenderError, match="'candle'") as caught:
        render_event(event("candle"), {"candle": render})
    assert isinstance(caught.value.__cause__, KeyError)


def test_a_renderer_returning_something_else_than_text_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="returned int"):
        render_event(event("candle"), {"candle": lambda e: 3})  # type: ignore[dict-item,return-value]


def test_event_data_with_no_json_form_is_a_render_error_saying_where() -> None:
    with pytest.raises(RenderError, match=r"data\['blob'\]"):
        render_event(event("candle", "x", {"blob": b"\x00"}), {})


def test_a_rendered_event_is_sent_with_its_own_tick() -> None:
    rendered = render_event(event("say", "Hi.", {"from": "Carter", "text": "Hi."}), {})
    message = decoded(ServerChannel().message(*rendered, tick=12))
    assert (message["type"], message["tick"], message["text"]) == ("say", 12, "Hi.")


def test_rendering_does_not_change_the_event() -> None:
    original = event("error", "No.", {"nested": {"a": 1}})
    render_event(original, {})
    assert dict(original.data) == {"nested": {"a": 1}}
