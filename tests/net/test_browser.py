"""The bundled web client, end to end: a real server process and a real browser.

Each test starts ``python -m engine.cli serve`` on a free port with a fresh SQLite database and the
bundled world, and drives headless Chromium (Debian's ``chromium`` package) with Playwright for
Python. The staged fight runs the same server in this process instead (``tests/net/harness.py``),
since its rule settings (every blow lands, for a known amount) cannot be given on the command line.
Without Playwright or Chromium the tests skip with the reason, unless ``REQUIRE_BROWSER_TESTS=1``
(CI), where a missing browser fails them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

from systems.combat import CombatSettings
from systems.death import DIED_TEXT, DeathSettings
from systems.encounters import EncounterSettings
from systems.hallucinations import HallucinationSettings
from systems.madness import MadnessSettings
from systems.regeneration import RegenerationSettings
from tests.net.harness import DATA_DIR, ServerThread
from tests.services import unavailable

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import WebSocket as BrowserSocket

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_PLAYWRIGHT = False

REPO = Path(__file__).resolve().parents[2]
REQUIRE_ENV = "REQUIRE_BROWSER_TESTS"
CHROMIUM_ENV = "KADATH_CHROMIUM"
CHROMIUM = os.environ.get(CHROMIUM_ENV, "/usr/bin/chromium")
#: The machine has no internet: without the background-networking flags Chromium's own
#: connections (updates, sync, field trials) are refused and slow everything down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT_S = 60.0
SERVER_STOP_TIMEOUT_S = 30.0
PASSWORD = "correct-horse"

#: Runs in every page before the client's own script: remembers each WebSocket the page opens,
#: so that a test can drop the client's connection the way a network failure would.
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  window.__sockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.__sockets.push(this);
    }
  };
})();
"""


def _missing(reason: str) -> NoReturn:
    unavailable(reason, REQUIRE_ENV)


# ------------------------------------------------------------------------------------ the server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class GameServer:
    """A ``kadath serve`` subprocess."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "healthz", timeout=2) as response:
                return bool(json.loads(response.read())["status"] == "ok")
        except (OSError, urllib.error.URLError, ValueError, KeyError):
            return False

    def stop(self) -> int:
        """SIGTERM, as an operator would; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(SERVER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(
                f"the server ignored SIGTERM for {SERVER_STOP_TIMEOUT_S:g} s:\n{self.log()}"
            )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GameServer]:
    port = _free_port()
    log_path = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    command = [
        sys.executable,
        "-m",
        "engine.cli",
        "serve",
        "--port",
        str(port),
        "--db",
        f"sqlite:///{tmp_path / 'w.db'}",
        "--data",
        str(REPO / "data"),
        "--tick-rate",
        "20",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
    game = GameServer(process, port, log_path)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while not game.healthy():
            if process.poll() is not None:
                pytest.fail(f"the server exited with {process.returncode}:\n{game.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no /healthz after {SERVER_START_TIMEOUT_S:g} s:\n{game.log()}")
            time.sleep(0.1)
        yield game
    finally:
        if process.poll() is None:
            status = game.stop()
            assert status == 0, f"the server exited with {status}:\n{game.log()}"


# ----------------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not HAVE_PLAYWRIGHT:
        _missing("Playwright for Python is not installed (pip install playwright)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set {CHROMIUM_ENV})")
    expect.set_options(timeout=10_000)
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except PlaywrightError as exc:
            _missing(f"Chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Client:
    """One browser tab on the web client, with what its server sent it."""

    page: Page
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def output(self) -> Locator:
        return self.page.locator("#output")

    @property
    def command_line(self) -> Locator:
        return self.page.get_by_label("Command", exact=True)

    def fill_login(self, name: str, password: str = PASSWORD) -> None:
        self.page.get_by_label("Name", exact=True).fill(name)
        self.page.get_by_label("Password", exact=True).fill(password)

    def register(self, name: str, password: str = PASSWORD) -> None:
        self.fill_login(name, password)
        self.page.get_by_role("button", name="Register").click()
        expect(self.command_line).to_be_focused()

    def login(self, name: str, password: str = PASSWORD) -> None:
        self.fill_login(name, password)
        self.page.get_by_role("button", name="Log in").click()

    def type(self, text: str) -> None:
        self.command_line.fill(text)
        self.command_line.press("Enter")

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.received if m.get("type") == type_]

    def sockets_opened(self) -> int:
        return int(self.page.evaluate("window.__sockets.length"))

    def drop_connection(self) -> None:
        """Close the client's socket under it, as a network failure would (no quit, no bye)."""
        self.page.evaluate("window.__sockets.at(-1).close()")

    def token(self) -> str | None:
        value = self.page.evaluate("sessionStorage.getItem('kadath.token')")
        return None if value is None else str(value)


def _recorder(into: list[dict[str, Any]]) -> Callable[[str | bytes], None]:
    """Keep every message of a frame: one object, or each of a batch (protocol version 2)."""

    def record(payload: str | bytes) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        for each in message if isinstance(message, list) else [message]:
            if isinstance(each, dict):
                into.append(each)

    return record


@contextlib.contextmanager
def _clients_of(browser: Browser, url: str) -> Iterator[Callable[[], Client]]:
    """A maker of tabs on the web client at ``url``, each in a browser context of its own; at the
    end the contexts close and no page may have had a JavaScript error."""
    contexts = []
    clients: list[Client] = []

    def open_() -> Client:
        context = browser.new_context(viewport={"width": 1100, "height": 780})
        contexts.append(context)
        page = context.new_page()
        client = Client(page)
        clients.append(client)
        page.add_init_script(RECORD_SOCKETS)
        page.on("pageerror", lambda exc: client.errors.append(str(exc)))

        def watch(ws: BrowserSocket) -> None:
            ws.on("framereceived", _recorder(client.received))
            ws.on("framesent", _recorder(client.sent))

        page.on("websocket", watch)
        page.goto(url)
        expect(page.get_by_label("Name", exact=True)).to_be_visible()
        return client

    yield open_
    for context in contexts:
        context.close()
    for client in clients:
        assert not client.errors, f"JavaScript errors in the page: {client.errors}"


@pytest.fixture
def open_client(browser: Browser, server: GameServer) -> Iterator[Callable[[], Client]]:
    with _clients_of(browser, server.url) as open_:
        yield open_


# ------------------------------------------------------------------------------------- the tests


def test_two_players_meet_in_the_browser(
    open_client: Callable[[], Client], server: GameServer, tmp_path: Path
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(a.output.locator(".room .exits button")).to_have_text(["east"])
    # Armitage's damage points: (CON + SIZ) // 5 of the characteristics the world's seed rolls.
    expect(a.page.locator("#dp-text")).to_have_text("21 / 21")
    expect(a.page.locator("#lucidity")).to_have_text("lucid (100)")  # a new mind is whole
    expect(a.page.locator("#posture")).to_have_text("standing")
    assert a.sent[0]["type"] == "register"  # the JSON message, not a plain "register ..." line

    b = open_client()
    b.register("Carter")
    expect(b.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(a.output.locator(".event-arrive").last).to_contain_text("Carter")

    a.type("look")
    expect(a.output.locator(".echo").last).to_have_text("> look")
    assert a.sent[-1] == {"type": "cmd", "text": "look"}
    expect(a.output.locator(".room")).to_have_count(2)
    expect(a.output.locator(".room").last).to_contain_text("Carter is standing here.")

    # Carter walks out by typing and back by clicking the exit in the room description.
    b.type("e")
    expect(b.output.locator(".room .room-name").last).to_have_text("The Ward Corridor")
    expect(a.output.locator(".event-leave").last).to_contain_text("Carter")
    b.output.locator(".room").last.get_by_role("button", name="west").click()
    expect(b.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(a.output.locator(".event-arrive")).to_have_count(2)
    expect(a.output.locator(".event-arrive").last).to_contain_text("Carter arrives")

    b.type("say The stars are right.")
    expect(a.output.locator(".say").last).to_have_text("Carter says, 'The stars are right.'")
    expect(b.output.locator(".say").last).to_have_text("You say, 'The stars are right.'")

    # Server text is shown as text, never interpreted as markup.
    evil = '<img id="evil" src="x" onerror="window.__pwned = 1"><b>bold</b>'
    b.type(f"say {evil}")
    expect(a.output.locator(".say").last).to_contain_text(evil)
    assert a.output.locator("#evil, b").count() == 0
    assert a.page.evaluate("window.__pwned") is None

    b.type("xyzzy")
    expect(b.output.locator(".error").last).to_contain_text("xyzzy")

    # Logged in, each tab asked for protocol version 2, and the numbering never broke.
    for tab in (a, b):
        assert {"type": "protocol", "version": 2} in tab.sent
        assert tab.of_type("protocol") == [{**tab.of_type("protocol")[0], "data": {"version": 2}}]
        seqs = [m["seq"] for m in tab.received]
        assert seqs == list(range(1, len(seqs) + 1))

    # History: up recalls the last command, down returns to the empty line.
    a.command_line.press("ArrowUp")
    expect(a.command_line).to_have_value("look")
    a.command_line.press("ArrowDown")
    expect(a.command_line).to_have_value("")

    b.type("sit")
    expect(b.page.locator("#posture")).to_have_text("sitting")

    shot = tmp_path / "kadath-armitage.png"
    a.page.screenshot(path=str(shot))
    b.page.screenshot(path=str(tmp_path / "kadath-carter.png"))
    print(f"screenshots: {shot} and {tmp_path / 'kadath-carter.png'}")
    assert shot.stat().st_size > 10_000

    status = server.stop()
    assert status == 0, f"the server exited with {status}:\n{server.log()}"
    for client in (a, b):
        expect(client.output.locator(".bye")).to_have_count(1)
        expect(client.command_line).to_be_disabled()
        assert client.of_type("bye")[-1]["data"]["reason"] == "shutdown"
    time.sleep(1.5)  # longer than the first reconnect delay
    assert a.sockets_opened() == 1 and b.sockets_opened() == 1, "reconnected after a bye"


def test_reconnects_and_resumes_after_a_dropped_connection(
    open_client: Callable[[], Client],
) -> None:
    c = open_client()
    c.register("Pickman")
    expect(c.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    first_token = c.token()
    assert first_token == c.of_type("auth_ok")[-1]["data"]["token"]

    c.drop_connection()
    expect(c.output.locator(".system").last).to_contain_text("Welcome back, Pickman")
    assert c.sockets_opened() == 2
    assert {"type": "resume", "token": first_token} in c.sent
    resumed = c.of_type("auth_ok")[-1]["data"]
    assert resumed["resumed"] is True
    assert c.token() == resumed["token"] != first_token  # the newest token is kept
    expect(c.page.locator("#banner")).to_be_hidden()
    expect(c.command_line).to_be_enabled()

    c.type("say Still dreaming.")
    expect(c.output.locator(".say").last).to_have_text("You say, 'Still dreaming.'")

    # A reload resumes too (the token is in sessionStorage) and shows the room again.
    c.page.reload()
    expect(c.output.locator(".system").last).to_contain_text("Pickman")
    expect(c.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(c.command_line).to_be_focused()
    c.type("sit")
    expect(c.page.locator("#posture")).to_have_text("sitting")

    # A token the server does not know falls back to the login form.
    c.page.evaluate("sessionStorage.setItem('kadath.token', 'x'.repeat(43))")
    c.drop_connection()
    expect(c.page.locator("#auth-error")).to_contain_text("log in again")
    assert c.of_type("auth_error")[-1]["data"]["code"] == "bad_token"
    expect(c.page.get_by_label("Name", exact=True)).to_have_value("Pickman")
    assert c.token() is None
    c.login("Pickman")
    expect(c.command_line).to_be_focused()
    expect(c.output.locator(".system").last).to_contain_text("Pickman")
    c.type("stand")
    expect(c.page.locator("#posture")).to_have_text("standing")


def test_login_errors_inline_and_takeover_ends_the_old_tab(
    open_client: Callable[[], Client],
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room")).to_have_count(1)

    b = open_client()
    error = b.page.locator("#auth-error")
    b.login("Armitage", "wrong-password")
    expect(error).to_be_visible()
    refusal = b.of_type("auth_error")[-1]["data"]
    assert refusal["code"] == "bad_credentials"
    expect(error).to_have_text(refusal["message"])

    b.page.get_by_label("Name", exact=True).fill("Armitage2")
    b.page.get_by_role("button", name="Register").click()
    expect(error).to_contain_text("Armitage2")
    assert b.of_type("auth_error")[-1]["data"]["code"] == "bad_name"
    expect(b.page.get_by_role("button", name="Log in")).to_be_enabled()

    b.login("Armitage")
    expect(b.command_line).to_be_focused()
    expect(a.output.locator(".bye")).to_have_count(1)
    assert a.of_type("bye")[-1]["data"]["reason"] == "takeover"
    expect(a.command_line).to_be_disabled()
    expect(a.page.get_by_role("button", name="Log in again")).to_be_visible()
    assert a.token() is None
    time.sleep(1.5)  # longer than the first reconnect delay
    assert a.sockets_opened() == 1, "the old tab reconnected after a takeover"

    b.type("look")
    expect(b.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")


def test_quit_ends_the_session_without_reconnecting(open_client: Callable[[], Client]) -> None:
    d = open_client()
    d.register("Curwen")
    expect(d.output.locator(".room")).to_have_count(1)
    d.type("quit")
    expect(d.output.locator(".bye")).to_have_count(1, timeout=3_000)
    assert d.of_type("bye")[-1]["data"]["reason"] == "quit"
    expect(d.command_line).to_be_disabled()
    assert d.token() is None
    time.sleep(1.5)  # longer than the first reconnect delay
    assert d.sockets_opened() == 1, "reconnected after quitting"

    d.page.get_by_role("button", name="Log in again").click()
    d.login("Curwen")
    expect(d.command_line).to_be_focused()
    expect(d.output.locator(".room")).to_have_count(2)


# ------------------------------------------------------------------------------------- fighting

#: Fights whose every blow is known: each lands, and each does exactly ``minimum_damage`` (7),
#: more than bare hands (1d3 and a strength bonus of at most 2) or the muttering patient (1d2) can
#: roll. So the patient (10 dp) falls in the second round, dead at once (-4, and the dead are at
#: -1), and Armitage (21 dp) takes one or two of its blows (7 each) and lives. The watcher at the
#: edge (4d10, 500 dp) then kills Armitage within a few rounds: a blow that leaves exactly 0 dp
#: only fells, and the next bleeding point kills. Rounds come every 2 s, so the state `fighting`
#: lasts that long between the first round and the second; nobody heals a point within the
#: hour, and the dead wait 10 minutes to wake unless they respawn.
FIGHT_RULES = {
    "combat": CombatSettings(
        hit_chance_min=100, hit_chance_max=100, minimum_damage=7, combat_round_s=2.0
    ),
    "death": DeathSettings(dead_at_dp=-1, bleed_interval_s=1.0, respawn_s=600.0),
    "regeneration": RegenerationSettings(regen_interval_s=3600.0),
}


@contextlib.contextmanager
def _clients_by_rules(
    browser: Browser, tmp_path: Path, rules: dict[str, Any], **options: Any
) -> Iterator[Callable[[], Client]]:
    """Tabs on a server that plays by ``rules`` (in this process, on a free port)."""
    with ServerThread(tmp_path, tick_rate_hz=20, rules=rules, **options) as running:
        assert running.server is not None
        with _clients_of(browser, f"http://127.0.0.1:{running.server.port}/") as open_:
            yield open_


@pytest.fixture
def open_fight_client(browser: Browser, tmp_path: Path) -> Iterator[Callable[[], Client]]:
    """Tabs on a server that plays by :data:`FIGHT_RULES`."""
    with _clients_by_rules(browser, tmp_path, FIGHT_RULES) as open_:
        yield open_


def _colour(locator: Locator) -> str:
    return str(locator.evaluate("node => getComputedStyle(node).color"))


def _filled(page: Page) -> float:
    """How full the DP bar is drawn, in percent."""
    return float(page.locator("#dp-fill").evaluate("node => parseFloat(node.style.width)"))


def test_a_staged_fight_is_seen_blow_by_blow_to_the_death_and_the_respawn(
    open_fight_client: Callable[[], Client],
) -> None:
    a = open_fight_client()
    a.register("Armitage")  # the first account: an admin, who may spawn
    page, output = a.page, a.output
    dp_text, condition = page.locator("#dp-text"), page.locator("#condition")
    expect(dp_text).to_have_text("21 / 21")  # the seed's roll, as in the first test
    expect(condition).to_be_hidden()
    output.locator(".room").last.get_by_role("button", name="east").click()
    expect(output.locator(".room .room-name").last).to_have_text("The Ward Corridor")
    a.type("spawn patient")
    expect(output.locator(".event-admin")).to_have_text(["You spawn a muttering patient."])
    a.type("look")
    expect(output.locator(".room")).to_have_count(3)
    room = output.locator(".room").nth(2)
    expect(
        room.locator(".occupant", has_text="A muttering patient is standing here.")
    ).to_be_visible()

    # The occupant's buttons work from the keyboard (and keep the focus) and with the mouse (the
    # command line takes the focus back, for a quick 'flee').
    consider = room.get_by_role("button", name="Consider a muttering patient", exact=True)
    consider.focus()
    page.keyboard.press("Enter")
    expect(output.locator(".event-consider")).to_have_count(1)
    expect(output.locator(".event-consider")).to_contain_text("You size up the muttering patient")
    assert {"type": "cmd", "text": "consider patient"} in a.sent
    expect(consider).to_be_focused()
    room.get_by_role("button", name="Attack a muttering patient", exact=True).click()
    expect(a.command_line).to_be_focused()
    expect(condition).to_have_text("Fighting")  # until the second round, 2 s after the first
    expect(page.locator("#vitals")).to_have_attribute("data-state", "fighting")
    assert a.sent[-1] == {"type": "cmd", "text": "attack patient"}

    # Every blow in its own style: those Armitage lands, those it takes, the death it deals.
    expect(output.locator(".combat.kind-engage.by-you")).to_have_text(
        ["You attack the muttering patient!"]
    )
    dealt, taken = output.locator(".kind-hit.by-you"), output.locator(".kind-hit.on-you")
    expect(dealt.first).to_have_text("You hit the muttering patient for 7 damage.")
    expect(taken.first).to_have_text("The muttering patient hits you for 7 damage.")
    expect(output.locator(".combat.kind-death.seen")).to_have_text(
        ["The muttering patient is dead!"]
    )
    expect(output.locator(".combat.kind-round")).to_have_text(["Round 1", "Round 2"])
    expect(dealt).to_have_count(2)
    expect(output.locator(".combat.kind-experience.about-you")).to_have_text(
        ["You gain 14 experience for your part in the death of the muttering patient."]
    )
    expect(output.locator(".combat.kind-end")).to_have_count(1)
    assert _colour(dealt.first) != _colour(taken.first)
    assert output.locator(".kind-death").evaluate("n => getComputedStyle(n).fontWeight") == "700"

    # The fight is over: no state, and the DP bar shows the one or two blows taken.
    expect(condition).to_be_hidden()
    expect(page.locator("#vitals")).to_have_attribute("data-state", "")
    expect(dp_text).to_have_text(re.compile(r"^(14|7) / 21$"))
    dp = int(dp_text.inner_text().split(" / ")[0])
    expect(page.locator("#dp-bar")).to_have_attribute("aria-valuenow", str(dp))
    assert _filled(page) == pytest.approx(dp / 21 * 100, abs=0.05)

    # The watcher at the edge is far beyond Armitage.
    a.type("spawn watcher")
    a.type("look")
    expect(output.locator(".room")).to_have_count(4)
    room = output.locator(".room").nth(3)
    attack = room.get_by_role("button", name="Attack the watcher at the edge", exact=True)
    attack.click()
    dead = page.locator("#dead")
    expect(dead).to_be_visible(timeout=30_000)
    expect(dead.get_by_role("heading")).to_have_text("You are dead")
    expect(condition).to_have_text("Dead")
    expect(page.locator("#vitals")).to_have_attribute("data-state", "dead")
    expect(output.locator(".combat.kind-death.about-you")).to_have_text([DIED_TEXT])
    assert _colour(output.locator(".kind-hit.on-you").last) == _colour(taken.first)
    dp = int(page.locator("#dp-bar").get_attribute("aria-valuenow") or "0")
    assert dp <= -1, dp
    expect(dp_text).to_have_text(f"{dp} / 21")
    assert _filled(page) == 0

    # The dead can still talk; Respawn wakes Armitage whole in the Quiet Ward.
    a.type("say I can see the edge.")
    expect(output.locator(".say").last).to_have_text("You say, 'I can see the edge.'")
    dead.get_by_role("button", name="Respawn").click()
    expect(dead).to_be_hidden()
    assert a.sent[-1] == {"type": "cmd", "text": "respawn"}
    expect(output.locator(".event-respawn")).to_have_text(
        ["You wake with a gasp, whole again, with nothing but the memory of dying."]
    )
    expect(output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(dp_text).to_have_text("21 / 21")
    expect(condition).to_be_hidden()
    expect(attack).to_be_disabled()  # an old room's targets are stale


def _inject(client: Client, *messages: tuple[str, dict[str, Any], str]) -> None:
    """Hand the page server messages as if its socket had received them: for the kinds and states
    a live fight does not reliably produce (misses, flights, a fall), drawn exactly as sent."""
    frames = [
        json.dumps({"type": type_, "seq": 0, "tick": 0, "data": data, "text": text})
        for type_, data, text in messages
    ]
    client.page.evaluate(
        """frames => {
            const socket = window.__sockets.at(-1);
            for (const data of frames) socket.dispatchEvent(new MessageEvent("message", { data }));
        }""",
        frames,
    )


def test_the_lines_plugins_add_to_a_room_are_shown_after_its_description(
    open_client: Callable[[], Client],
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room")).to_have_count(1)
    lines = ["A thin, cold rain is falling.", "A crow watches from the gutter."]
    square = {
        "id": "arkham.square",
        "name": "Independence Square",
        "description": "Cobbles around a bronze minuteman.",
        "details": lines,
        "zone": "arkham",
        "zone_name": "Arkham",
        "environment": "street",
        "dark": False,
        "exits": [],
        "occupants": [],
        "more_occupants": 0,
        "items": [],
        "containers": [],
    }
    _inject(a, ("room", square, "\n".join(["Independence Square", *lines])))
    room = a.output.locator(".room").last
    expect(room.locator(".room-detail")).to_have_text(lines)
    order = room.locator("p").evaluate_all("nodes => nodes.map(n => n.className)")
    assert order[:4] == ["room-zone", "room-desc", "room-detail", "room-detail"]
    _inject(a, ("room", {**square, "details": []}, "Independence Square"))
    expect(a.output.locator(".room").last.locator(".room-detail")).to_have_count(0)


def test_each_combat_kind_and_each_state_has_its_own_look(
    open_client: Callable[[], Client],
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room")).to_have_count(1)
    me = a.of_type("auth_ok")[-1]["data"]["entity"]
    ghoul, ghoul2, carter = 140737488355340, 140737488355341, 140737488355342

    def blow(kind: str, attacker: int, defender: int, **more: Any) -> dict[str, Any]:
        names = {me: "Armitage", ghoul: "a ghoul", carter: "Carter"}
        return {
            "kind": kind,
            "attacker": attacker,
            "attacker_name": names[attacker],
            "defender": defender,
            "defender_name": names[defender],
            **more,
        }

    def about(kind: str, who: int, name: str, **more: Any) -> dict[str, Any]:
        return {"kind": kind, "id": who, "name": name, **more}

    fell = "You collapse, mortally wounded. You will bleed to death unless someone aids you."
    markup = '<img id="evil" src="x" onerror="window.__pwned = 1">'
    lines = [  # (data, text, the line's classes)
        (blow("engage", me, ghoul), "You attack the ghoul!", "kind-engage by-you"),
        (blow("engage", ghoul, me), "The ghoul attacks you!", "kind-engage on-you"),
        (
            {"kind": "round", "fight": 3, "round": 3, "order": [me, ghoul], "combatants": []},
            "",
            "kind-round",
        ),
        (
            blow("hit", me, ghoul, weapon="a rusty knife", damage=5, dp=15, max_dp=20),
            "You hit the ghoul with your rusty knife for 5 damage.",
            "kind-hit by-you",
        ),
        (
            blow("hit", ghoul, me, weapon=None, damage=4, dp=17, max_dp=21),
            "The ghoul hits you for 4 damage.",
            "kind-hit on-you",
        ),
        (
            blow("hit", carter, ghoul, weapon=None, damage=2, dp=13, max_dp=20),
            "Carter hits the ghoul.",
            "kind-hit seen",
        ),
        (blow("miss", me, ghoul, weapon=None), "You miss the ghoul.", "kind-miss by-you"),
        (blow("miss", ghoul, me, weapon=None), "The ghoul misses you.", "kind-miss on-you"),
        (blow("switch", ghoul, carter), "The ghoul turns on Carter.", "kind-switch seen"),
        ({"kind": "queued", "action": "flee"}, "You look for a way out.", "kind-queued about-you"),
        (about("stand", me, "Armitage"), "You scramble to your feet.", "kind-stand about-you"),
        (
            about("flee_failed", me, "Armitage", chance=0.5),
            "You try to flee. You cannot get away!",
            "kind-flee_failed about-you",
        ),
        (
            about("flee", carter, "Carter", direction="w"),
            "Carter flees in panic!",
            "kind-flee seen",
        ),
        (
            about("mortally_wounded", ghoul, "a ghoul"),
            "The ghoul collapses, mortally wounded.",
            "kind-mortally_wounded seen",
        ),
        (about("mortally_wounded", me, "Armitage"), fell, "kind-mortally_wounded about-you"),
        (
            {"kind": "bleed", "id": me, "dp": -1},
            "You are bleeding to death (-1 dp).",
            "kind-bleed about-you",
        ),
        (
            about("death", ghoul, "a ghoul", corpse=140737488355351, loot=[]),
            "The ghoul is dead!",
            "kind-death seen",
        ),
        (
            {"kind": "experience", "points": 9, "total": 9},
            "You gain 9 experience for your part in the death of the ghoul.",
            "kind-experience about-you",
        ),
        ({"kind": "end", "id": me}, "The ghoul is dead. The fight is over.", "kind-end about-you"),
        (
            about("death", me, "Armitage", corpse=140737488355352, loot=[]),
            DIED_TEXT,
            "kind-death about-you",
        ),
        ({"kind": "parry", "id": carter}, "Carter parries.", "kind-parry seen"),  # a newer kind
        (blow("hit", carter, ghoul, damage=1, dp=12, max_dp=20), markup, "kind-hit seen"),
    ]
    _inject(a, *(("combat", data, text) for data, text, _ in lines))
    shown = a.output.locator(".line.combat")
    expect(shown).to_have_text([text or "Round 3" for _, text, _ in lines])
    for index, (_, _, classes) in enumerate(lines):
        expect(shown.nth(index)).to_have_class(f"line combat {classes}")
    assert a.output.locator("#evil").count() == 0
    assert a.page.evaluate("window.__pwned") is None

    def line(classes: str) -> Locator:
        return a.output.locator(f".line.combat.{classes.replace(' ', '.')}").first

    dealt, taken, seen = line("kind-hit by-you"), line("kind-hit on-you"), line("kind-hit seen")
    missed = line("kind-miss by-you")
    assert len({_colour(dealt), _colour(taken), _colour(seen), _colour(missed)}) == 4
    assert _colour(missed) == _colour(line("kind-miss on-you"))
    weight = "node => getComputedStyle(node).fontWeight"
    assert line("kind-death about-you").evaluate(weight) == "700"
    assert line("kind-death seen").evaluate(weight) == "700"
    assert line("kind-hit seen").evaluate(weight) == "400"

    # The state beside the vitals, and the dead panel only while dead.
    page, condition, dead = a.page, a.page.locator("#condition"), a.page.locator("#dead")

    def status(dp: int, state: str | None, posture: str = "standing") -> None:
        data = {"dp": dp, "max_dp": 21, "lucidity": None, "tier": None, "posture": posture}
        _inject(a, ("status", {**data, "state": state}, ""))

    status(17, "fighting")
    expect(condition).to_have_text("Fighting")
    expect(page.locator("#dp-text")).to_have_text("17 / 21")
    expect(dead).to_be_hidden()
    status(0, "mortally_wounded", "lying")
    expect(condition).to_have_text("Mortally wounded")
    expect(condition).to_have_attribute("data-state", "mortally_wounded")
    expect(page.locator("#dp-bar")).to_have_attribute("data-level", "low")
    expect(dead).to_be_hidden()
    status(-10, "dead", "lying")
    expect(condition).to_have_text("Dead")
    expect(dead).to_be_visible()
    expect(page.locator("#game")).to_have_class(re.compile(r"\bis-dead\b"))
    respawn = dead.get_by_role("button", name="Respawn")
    respawn.click()  # the real server answers that Armitage is not dead
    assert a.sent[-1] == {"type": "cmd", "text": "respawn"}
    expect(respawn).to_be_disabled()  # one try per death, until a status says dead again
    expect(a.output.locator(".error").last).to_have_text("You are not dead.")
    status(-10, "dead", "lying")
    expect(respawn).to_be_enabled()
    status(21, None)
    expect(dead).to_be_hidden()
    expect(condition).to_be_hidden()
    expect(page.locator("#game")).not_to_have_class(re.compile(r"\bis-dead\b"))
    status(21, "stunned")  # a state this client does not know is shown as it comes
    expect(condition).to_have_text("Stunned")
    status(21, None)

    # Occupants: each with its own target, the words the server chose for exactly it.
    _inject(
        a,
        (
            "room",
            {
                "id": "graveyard.crypt",
                "name": "The Crypt",
                "description": "Niches in the walls.",
                "zone": "graveyard",
                "zone_name": "The Old Burying Ground",
                "environment": "indoors",
                "dark": False,
                "exits": [],
                "occupants": [
                    {
                        "id": ghoul,
                        "name": "a ghoul",
                        "kind": "npc",
                        "posture": "standing",
                        "state": "fighting",
                        "keyword": "ghoul",
                        "target": "ghoul",
                    },
                    {
                        "id": ghoul2,
                        "name": "a ghoul",
                        "kind": "npc",
                        "posture": "lying",
                        "state": "mortally_wounded",
                        "keyword": "ghoul",
                        "target": "2.ghoul",
                    },
                    {
                        "id": carter,
                        "name": "Carter",
                        "kind": "player",
                        "posture": "sitting",
                        "state": None,
                        "keyword": "carter",
                        "target": "carter",
                    },
                    {
                        "id": None,
                        "name": "someone",
                        "kind": "npc",
                        "posture": "standing",
                        "state": None,
                        "keyword": None,
                        "target": None,
                    },
                ],
                "items": [],
                "containers": [],
            },
            "The Crypt",
        ),
    )
    room = a.output.locator(".room").last
    expect(room.locator(".occupant-text")).to_have_text(
        [
            "A ghoul is standing here, fighting.",
            "A ghoul is lying here, mortally wounded.",
            "Carter is sitting here.",
            "Someone is standing here.",
        ]
    )
    occupants = room.locator(".occupant")
    expect(occupants.nth(0).get_by_role("button")).to_have_text(["consider", "attack"])
    expect(occupants.nth(1).get_by_role("button")).to_have_text(["aid", "attack"])
    expect(occupants.nth(2).get_by_role("button")).to_have_text(["consider", "attack"])
    expect(occupants.nth(3).get_by_role("button")).to_have_count(0)
    expect(occupants.nth(0)).to_have_attribute("data-state", "fighting")
    room.get_by_role("button", name="Aid a ghoul (2.ghoul)", exact=True).click()
    assert a.sent[-1] == {"type": "cmd", "text": "aid 2.ghoul"}
    room.get_by_role("button", name="Attack a ghoul", exact=True).click()
    assert a.sent[-1] == {"type": "cmd", "text": "attack ghoul"}
    room.get_by_role("button", name="Consider Carter", exact=True).click()
    assert a.sent[-1] == {"type": "cmd", "text": "consider carter"}
    expect(a.output.locator(".room").first.get_by_role("button", name="east")).to_be_disabled()


# ------------------------------------------------------------------------------------------ minds

#: A world hard on minds: the first sight of the watcher at the edge takes 75 (100 -> 25:
#: fractured), a later one 15 (25 -> 10: deranged); a troubled mind sees a figure come in every
#: second (up to three, then it hears whispers), and no command misfires (the test types on).
MIND_RULES = {
    "encounters": EncounterSettings(first_eldritch=75, later_eldritch=15),
    "hallucinations": HallucinationSettings(
        entering_chance=0.0,
        fractured_every_s=1.0,
        fractured_chance=1.0,
        deranged_every_s=1.0,
        deranged_chance=1.0,
        figure_weight=1.0,
        whisper_weight=0.0,
        attacker_weight=0.0,
        phantom_lasts_s=600.0,
    ),
    "madness": MadnessSettings(fractured_misfire_chance=0.0, deranged_misfire_chance=0.0),
}


def _still_world(folder: Path) -> Path:
    """The bundled world with nobody wandering: a test that counts who comes into a room must
    not meet an orderly on his rounds."""
    shutil.copytree(DATA_DIR, folder)
    for path in (folder / "npcs").glob("*.toml"):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"^\[npcs\.wander\]\n(?:[a-z_]+ = .*\n)*", "", text, flags=re.M)
        path.write_text(re.sub(r"^wander = .*\n", "", text, flags=re.M), encoding="utf-8")
    return folder


@pytest.fixture
def open_mind_client(browser: Browser, tmp_path: Path) -> Iterator[Callable[[], Client]]:
    """Tabs on a server that plays by :data:`MIND_RULES`, in a world where nobody wanders."""
    still = _still_world(tmp_path / "still-world")
    with _clients_by_rules(browser, tmp_path, MIND_RULES, data_dir=still) as open_:
        yield open_


def _classes(locator: Locator) -> str:
    return str(locator.get_attribute("class"))


def test_a_mind_sinks_in_the_browser_and_sees_what_is_not_there(
    open_mind_client: Callable[[], Client],
) -> None:
    a = open_mind_client()
    a.register("Armitage")  # the first account: an admin, who may spawn
    page, output = a.page, a.output
    lucidity = page.locator("#lucidity")
    expect(lucidity).to_have_text("lucid (100)")
    lucid_colour = _colour(lucidity)

    # The sight of the watcher: 100 -> 25, fractured, told on a line of the tier's own look.
    a.type("spawn watcher")
    expect(lucidity).to_have_text("fractured (25)")
    expect(lucidity).to_have_attribute("data-tier", "fractured")
    assert _colour(lucidity) != lucid_colour
    tier_lines = output.locator(".line.event-tier")
    expect(tier_lines).to_have_count(1)
    expect(tier_lines.first).to_have_text(
        "Your thoughts splinter. You can no longer trust what you see. (You are fractured.)"
    )
    assert _classes(tier_lines.first) == "line msg event-tier tier-fractured sinking"
    expect(output.locator(".line.event-encounter")).to_have_count(1)

    # Figures come in, told exactly as anyone's arrival is; and they stand in the room.
    arrivals = output.locator(".line.event-arrive")
    expect(arrivals).to_have_count(3, timeout=15_000)  # one a second, three at most
    phantom_ids = {m["data"]["id"] for m in a.of_type("msg") if m["data"].get("event") == "arrive"}
    assert len(phantom_ids) == 3 and all(i < 0 for i in phantom_ids)
    a.type("despawn watcher")  # so that Carter, coming in, has nothing to see
    expect(output.locator(".event-admin")).to_have_count(2)

    b = open_mind_client()
    b.register("Carter")
    expect(arrivals).to_have_count(4)  # Carter wakes: a real arrival among the hallucinated ones
    real = arrivals.last
    expect(real).to_contain_text("Carter")
    assert _classes(real) == _classes(arrivals.first) == "line msg event-arrive"
    assert _colour(real) == _colour(arrivals.first)

    a.type("look")
    room = output.locator(".room").last
    expect(room.locator(".occupant")).to_have_count(4)  # Carter and three figures
    expect(room.locator(".occupant").first).to_contain_text("Carter is standing here.")
    expect(room.locator(".occupant").nth(1).get_by_role("button")).to_have_text(
        ["consider", "attack"]
    )  # as any creature's
    b.type("look")
    expect(b.output.locator(".room")).to_have_count(2)
    seen_by_carter = b.of_type("room")[-1]["data"]["occupants"]
    assert [o["name"] for o in seen_by_carter] == ["Armitage"]
    assert not phantom_ids & {o["id"] for o in seen_by_carter}

    # The watcher again: deranged; Carter (fractured by the sight) sees Armitage break down.
    a.type("spawn watcher")
    expect(lucidity).to_have_text("deranged (10)")
    assert _colour(lucidity) != lucid_colour
    expect(tier_lines).to_have_count(2)
    assert _classes(tier_lines.last) == "line msg event-tier tier-deranged sinking"
    breakdown = b.output.locator(".line.event-breakdown")
    expect(breakdown).to_have_text(
        ["Armitage laughs softly at nothing, eyes darting from shadow to shadow."]
    )
    assert "tier-deranged" in _classes(breakdown.first)

    # A deranged mind cannot shout; Carter can.
    a.type("shout Help!")
    expect(output.locator(".line.error").last).to_contain_text("only a thin, broken laugh")
    b.type("shout Who is there?")
    expect(output.locator(".line.event-shout")).to_have_text(["Carter shouts, 'Who is there?'"])
    # Armitage prays: a gain is a line of its own, and the meter rises (no tier change yet).
    a.type("pray")
    expect(lucidity).to_have_text("deranged (18)")
    expect(output.locator(".line.event-pray")).to_have_count(1)


def test_each_tier_has_its_colour_and_tier_lines_their_look(
    open_client: Callable[[], Client],
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room")).to_have_count(1)
    lucidity = a.page.locator("#lucidity")
    colours = {}
    for tier, value in (
        ("lucid", 88),
        ("uneasy", 55),
        ("fractured", 30),
        ("deranged", 5),
        ("catatonic", -20),
    ):
        status = {"dp": 21, "max_dp": 21, "lucidity": value, "tier": tier, "posture": "standing"}
        _inject(a, ("status", {**status, "state": None}, ""))
        expect(lucidity).to_have_text(f"{tier} ({value})")
        expect(lucidity).to_have_attribute("data-tier", tier)
        colours[tier] = _colour(lucidity)
        words = f"Something shifts. (You are {tier}.)"
        data = {"event": "tier", "tier": tier, "previous": "lucid", "lucidity": value}
        _inject(a, ("msg", {**data, "sinking": True}, words))
        line = a.output.locator(".line.event-tier").last
        expect(line).to_have_text(words)
        assert _classes(line) == f"line msg event-tier tier-{tier} sinking"
        assert _colour(line) == colours[tier]
    assert len(set(colours.values())) == 5
    _inject(a, ("msg", {"event": "tier", "tier": "lucid", "sinking": False}, "Better."))
    assert _classes(a.output.locator(".line.event-tier").last) == (
        "line msg event-tier tier-lucid rising"
    )
    _inject(a, ("status", {"dp": 21, "max_dp": 21, "lucidity": None, "tier": None}, ""))
    expect(lucidity).to_have_text("—")
    expect(lucidity).to_have_attribute("data-tier", "")


# ------------------------------------------------------------------------------ the /stats page

STATS_TOKEN = "tindalos-hounds-at-the-angles"


def test_the_stats_page_shows_every_system_draws_its_charts_and_keeps_refreshing(
    browser: Browser, tmp_path: Path
) -> None:
    """An admin opens /stats with the token on a server that listens beyond loopback."""
    beyond_loopback = ("net.host=0.0.0.0", f"net.stats_token={STATS_TOKEN}")
    with ServerThread(tmp_path, *beyond_loopback, tick_rate_hz=20) as running:
        assert running.server is not None
        systems = [system.name for system in running.server.engine.scheduler.systems]
        url = f"http://127.0.0.1:{running.server.port}/"
        with _clients_of(browser, url) as open_:
            open_().register("Armitage")  # someone online, for the players chart
            context = browser.new_context(viewport={"width": 1300, "height": 900})
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{url}stats?token={STATS_TOKEN}")

            # The table: every real system and the three tick phases, by name.
            rows = page.locator("#systems tbody tr")
            expect(rows).to_have_count(len(systems) + 3)
            for name in ("commands", "systems", "hand-off", *systems):
                expect(page.locator(f'#systems tr[data-name="{name}"] td.name')).to_have_text(name)
            expect(page.locator("#figures")).to_contain_text("Players online1")
            # Sortable: by name, then by calls (most first).
            page.get_by_role("button", name="Name").click()
            names = rows.locator("td.name").all_text_contents()
            assert names == sorted(names)
            page.get_by_role("button", name="Calls").click()
            expect(page.locator('th[data-key="calls"]')).to_have_attribute(
                "aria-sort", "descending"
            )
            calls = [int(text) for text in rows.locator("td:nth-child(5)").all_text_contents()]
            assert calls == sorted(calls, reverse=True)

            # The charts: tick duration (with the period drawn), lateness, players online.
            for chart in ("#chart-tick", "#chart-lateness", "#chart-players"):
                line = page.locator(f"{chart} svg path.line.max")
                expect(line).to_have_count(1)
                assert re.fullmatch(
                    r"M[\d.]+,[\d.]+( [ML][\d.]+,[\d.]+)*", line.get_attribute("d") or ""
                )
            expect(page.locator("#budget-label")).to_have_text("one tick period (50 ms)")

            # It refreshes by itself: a later tick, another fetch, no reload.
            status = page.locator("#conn")
            expect(status).to_have_attribute("data-state", "connected")
            first_tick = int(re.findall(r"tick (\d+)", status.text_content() or "")[0])
            seen = int(page.evaluate("document.body.dataset.refreshes"))
            page.wait_for_function(f"Number(document.body.dataset.refreshes) > {seen}")
            later_tick = int(re.findall(r"tick (\d+)", status.text_content() or "")[0])
            assert later_tick > first_tick
            context.close()
            assert not errors, f"JavaScript errors in the stats page: {errors}"
