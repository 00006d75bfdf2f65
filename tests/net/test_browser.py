"""The bundled web client, end to end: a real server process and a real browser.

Each test starts ``python -m engine.cli serve`` on a free port with a fresh SQLite database and the
bundled world, and drives headless Chromium (Debian's ``chromium`` package) with Playwright for
Python. Without Playwright or Chromium the tests skip with the reason, unless
``REQUIRE_BROWSER_TESTS=1`` (CI), where a missing browser fails them.
"""

from __future__ import annotations

import json
import os
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
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


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


@pytest.fixture
def open_client(browser: Browser, server: GameServer) -> Iterator[Callable[[], Client]]:
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
        page.goto(server.url)
        expect(page.get_by_label("Name", exact=True)).to_be_visible()
        return client

    yield open_
    for context in contexts:
        context.close()
    for client in clients:
        assert not client.errors, f"JavaScript errors in the page: {client.errors}"


# ------------------------------------------------------------------------------------- the tests


def test_two_players_meet_in_the_browser(
    open_client: Callable[[], Client], server: GameServer, tmp_path: Path
) -> None:
    a = open_client()
    a.register("Armitage")
    expect(a.output.locator(".room .room-name").last).to_have_text("The Quiet Ward")
    expect(a.output.locator(".room .exits button")).to_have_text(["east"])
    expect(a.page.locator("#dp-text")).to_have_text("20 / 20")
    expect(a.page.locator("#lucidity")).to_have_text("—")
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
