// The Kadath web client: one websocket to the page's own host and port, plain DOM, no
// dependencies. The wire protocol is docs/protocol.md; how this client behaves is
// docs/web-client.md.
//
// Safety rule: server text only ever reaches the page through textContent (never innerHTML), so
// nothing a player types can become markup in another player's browser.

const TOKEN_KEY = "kadath.token"; // the newest resume token (sessionStorage: this tab only)
const NAME_KEY = "kadath.name";
// After a `bye` the client never reconnects by itself. With one of these reasons the resume token
// is dead too (the server forgot it or the character is being played elsewhere).
const TOKEN_ENDING_BYES = new Set(["quit", "kicked", "takeover", "shutdown"]);
const BYE_WORDS = {
  quit: "You have left the world.",
  kicked: "You were disconnected by an administrator.",
  takeover: "Your character was taken over by another connection.",
  shutdown: "The server is shutting down.",
  idle: "Disconnected after being idle.",
};
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
const MAX_LINES = 2000; // output entries kept; older ones are dropped
const HISTORY_MAX = 200;
const STICKY_PX = 32; // within this of the bottom counts as "at the bottom"

const $ = (id) => document.getElementById(id);
const ui = {
  conn: $("conn"),
  login: $("login"),
  loginForm: $("login-form"),
  name: $("login-name"),
  password: $("login-password"),
  rules: $("login-rules"),
  authError: $("auth-error"),
  serverInfo: $("server-info"),
  game: $("game"),
  output: $("output"),
  jump: $("jump"),
  banner: $("banner"),
  bannerText: $("banner-text"),
  bannerButton: $("banner-button"),
  dpBar: $("dp-bar"),
  dpFill: $("dp-fill"),
  dpText: $("dp-text"),
  lucidity: $("lucidity"),
  posture: $("posture"),
  vitals: $("vitals"),
  conditionVital: $("condition-vital"),
  condition: $("condition"),
  dead: $("dead"),
  respawn: $("respawn"),
  commandForm: $("command-form"),
  command: $("command"),
};

const state = {
  ws: null, // the current WebSocket, or null
  loggedIn: false, // this connection has an authenticated character
  playing: false, // the game view is up (stays up while reconnecting)
  resuming: false, // a `resume` is in flight
  ended: false, // this connection received `bye`: do not reconnect
  pendingAuth: null, // a login/register to send once the socket opens
  attempt: 0, // reconnect attempts since the last success
  timer: null, // pending reconnect
  shownRoom: false, // a room has been drawn in this page
  me: null, // the character's stable id (auth_ok), to tell blows dealt from blows taken
  offersBatching: false, // this connection's welcome offered protocol version 2, not yet asked
};

// ------------------------------------------------------------------ storage

function storageGet(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key, value) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, value);
  } catch {
    // storage disabled: reconnecting still works within this page's memory
  }
}

let memoryToken = null;
function loadToken() {
  return storageGet(TOKEN_KEY) ?? memoryToken;
}
function saveToken(token) {
  memoryToken = token;
  storageSet(TOKEN_KEY, token);
}

// --------------------------------------------------------------- connection

function socketUrl() {
  // The game listens on the page's own host and port; keep the page's directory so that a
  // reverse proxy serving the game under a path keeps working.
  const url = new URL(".", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  url.search = "";
  return url.href;
}

function setConn(kind, words) {
  ui.conn.dataset.state = kind;
  ui.conn.textContent = words;
}

function connect() {
  clearTimeout(state.timer);
  state.timer = null;
  if (state.ws && state.ws.readyState <= WebSocket.OPEN) return;
  let ws;
  try {
    ws = new WebSocket(socketUrl());
  } catch {
    setConn("offline", "Cannot connect");
    scheduleReconnect();
    return;
  }
  state.ws = ws;
  state.ended = false;
  state.loggedIn = false;
  setConn("connecting", state.attempt ? "Reconnecting…" : "Connecting…");
  ws.addEventListener("open", () => {
    if (ws === state.ws) onOpen();
  });
  ws.addEventListener("message", (event) => {
    if (ws === state.ws) onFrame(event.data);
  });
  ws.addEventListener("close", () => {
    if (ws === state.ws) onClose();
  });
}

function send(message) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(message));
  return true;
}

function onOpen() {
  setConn("connected", "Connected");
  const token = loadToken();
  if (state.pendingAuth) {
    send(state.pendingAuth);
    state.pendingAuth = null;
  } else if (token) {
    state.resuming = true;
    if (state.playing) showBanner("Connected again; taking your character back…", null);
    send({ type: "resume", token });
  } else {
    state.attempt = 0;
  }
}

function onClose() {
  state.ws = null;
  state.loggedIn = false;
  state.resuming = false;
  setAuthBusy(false);
  if (state.ended) {
    setConn("offline", "Disconnected");
    return;
  }
  setConn("offline", "Connection lost");
  scheduleReconnect();
}

function scheduleReconnect() {
  clearTimeout(state.timer);
  const base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
  const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
  state.attempt += 1;
  state.timer = setTimeout(connect, delay);
  if (state.playing) {
    const seconds = Math.max(1, Math.round(delay / 1000));
    showBanner(
      `Connection lost. Reconnecting in ${seconds} s (attempt ${state.attempt})…`,
      "Reconnect now",
    );
  }
}

function reconnectNow() {
  state.attempt = 0;
  connect();
}

window.addEventListener("online", () => {
  if (state.timer !== null) reconnectNow();
});

// ------------------------------------------------------------------ frames

function onFrame(raw) {
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch {
    print("msg", String(raw));
    return;
  }
  // Protocol version 2 (asked for in onWelcome): a frame may hold an array of messages.
  for (const message of Array.isArray(parsed) ? parsed : [parsed]) onMessage(message);
}

function onMessage(message) {
  if (message === null || typeof message !== "object") return;
  const type = String(message.type ?? "");
  const data = message.data && typeof message.data === "object" ? message.data : {};
  const text = typeof message.text === "string" ? message.text : "";
  switch (type) {
    case "welcome":
      return onWelcome(data);
    case "auth_ok":
      return onAuthOk(data, text);
    case "auth_error":
      return onAuthError(data, text);
    case "error":
      if (!state.loggedIn && !state.playing) {
        setAuthBusy(false);
        return showAuthError(String(data.message || text));
      }
      if (data.code === "not_authenticated" && state.loggedIn) {
        // The server no longer has us logged in (a quit whose bye never came, say).
        state.loggedIn = false;
        saveToken(null);
        return showLogin("You are no longer logged in; log in again.");
      }
      return print("error", text || String(data.message ?? ""));
    case "room":
      return renderRoom(data, text);
    case "say":
      return print("say", text);
    case "msg":
      return print(msgClass(data), text);
    case "status":
      return renderStatus(data);
    case "combat":
      return renderCombat(data, text);
    case "pong":
    case "protocol":
      return undefined;
    case "bye":
      return onBye(data, text);
    default:
      if (text) print(`other type-${cssWord(type)}`, text);
      return undefined;
  }
}

function onWelcome(data) {
  const limits = data.limits && typeof data.limits === "object" ? data.limits : {};
  const [nameMin, nameMax] = Array.isArray(limits.name_letters) ? limits.name_letters : [3, 20];
  const [pwMin] = Array.isArray(limits.password_chars) ? limits.password_chars : [8];
  ui.rules.textContent =
    `A name is ${nameMin} to ${nameMax} letters; a password at least ${pwMin} characters.`;
  if (Number.isInteger(limits.command_chars)) ui.command.maxLength = limits.command_chars;
  const server = typeof data.server === "string" ? data.server : "Kadath";
  const version = typeof data.version === "string" ? ` ${data.version}` : "";
  ui.serverInfo.textContent = `Connected to ${server}${version}.`;
  state.offersBatching = Array.isArray(data.protocols) && data.protocols.includes(2);
}

function onAuthOk(data, text) {
  if (state.offersBatching) {
    // Protocol version 2: a tick's messages come in one frame (a crowded room stays cheap).
    send({ type: "protocol", version: 2 });
    state.offersBatching = false;
  }
  const wasResuming = state.resuming;
  state.loggedIn = true;
  state.resuming = false;
  state.attempt = 0;
  saveToken(typeof data.token === "string" ? data.token : null);
  state.me = Number.isSafeInteger(data.entity) ? data.entity : null;
  const name = typeof data.name === "string" ? data.name : "";
  storageSet(NAME_KEY, name);
  document.title = name ? `${name} — Kadath` : "Kadath";
  setConn("connected", name ? `Playing ${name}` : "Connected");
  setAuthBusy(false);
  ui.password.value = "";
  hideBanner();
  showGame();
  if (text) print("msg system", text);
  // The server shows the room only to a character entering the world. Taking one back (a
  // resume, or a login while link-dead) after a page reload leaves the output empty: look.
  if ((wasResuming || data.resumed === true) && !state.shownRoom) {
    send({ type: "cmd", text: "look" });
  }
}

function onAuthError(data, text) {
  setAuthBusy(false);
  const message = String(data.message || text || "Refused.");
  if (state.resuming) {
    state.resuming = false;
    saveToken(null);
    const expired = data.code === "bad_token";
    if (state.playing) {
      print("error", expired ? "Your session has expired; log in again." : message);
    }
    showLogin(expired ? "Your session has expired; log in again." : message);
    return;
  }
  showAuthError(message);
}

function onBye(data, text) {
  const reason = String(data.reason ?? "");
  state.ended = true;
  if (TOKEN_ENDING_BYES.has(reason)) saveToken(null);
  const words = text || BYE_WORDS[reason] || `Disconnected (${reason || "no reason given"}).`;
  setConn("offline", "Disconnected");
  if (!state.playing) {
    showAuthError(words);
    return;
  }
  print(`bye reason-${cssWord(reason)}`, words);
  ui.command.disabled = true;
  ui.commandForm.querySelector("button").disabled = true;
  disableOldRoomButtons();
  showBanner(words, loadToken() ? "Reconnect" : "Log in again");
}

// ------------------------------------------------------------------ output

function isAtBottom() {
  const out = ui.output;
  return out.scrollHeight - out.scrollTop - out.clientHeight <= STICKY_PX;
}

function scrollToBottom() {
  ui.output.scrollTop = ui.output.scrollHeight;
  stuck = true;
  ui.jump.hidden = true;
}

// Follow new output unless the reader has scrolled up. `stuck` changes only when the reader
// scrolls, so a resize (the banner appearing, a narrower window) keeps the bottom in view.
let stuck = true;

function append(node) {
  ui.output.append(node);
  while (ui.output.childElementCount > MAX_LINES) ui.output.firstElementChild.remove();
  if (stuck) scrollToBottom();
  else ui.jump.hidden = false;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function print(kind, text) {
  if (!text) return;
  const node = el("div", `line ${kind}`, text);
  // Column layouts (who, help) keep their alignment in a fixed-width font.
  if (/ {2}|\n /.test(text)) node.classList.add("pre");
  append(node);
}

function cssWord(word) {
  return String(word).toLowerCase().replace(/[^a-z0-9_-]/g, "") || "unknown";
}

function msgClass(data) {
  const base = `msg event-${cssWord(data.event ?? "msg")}`;
  // A mind's tier change (and what the room sees of one) carries the tier it came to: styled by it.
  if (typeof data.tier !== "string" || !data.tier) return base;
  const way = data.sinking === true ? " sinking" : data.sinking === false ? " rising" : "";
  return `${base} tier-${cssWord(data.tier)}${way}`;
}

const cap = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

function joinWords(words) {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}

function grouped(labels) {
  const counts = new Map();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts].map(([label, n]) => (n === 1 ? label : `${label} (x${n})`));
}

// Only the newest room's buttons (exits, occupants' actions) are live: older ones may name a
// way or a target that no longer holds.
function disableOldRoomButtons() {
  for (const button of ui.output.querySelectorAll(".room button")) button.disabled = true;
}

function renderRoom(data, text) {
  if (typeof data.name !== "string") {
    print("room", text);
    return;
  }
  state.shownRoom = true;
  disableOldRoomButtons();
  const box = el("section", "room");
  const heading = data.dark ? text.split("\n")[0] || "It is pitch dark." : data.name;
  const title = el("h2", "room-name", heading);
  box.append(title);
  if (typeof data.zone_name === "string" && data.zone_name && !data.dark) {
    box.append(el("p", "room-zone", data.zone_name));
  }
  if (data.description) box.append(el("p", "room-desc", String(data.description)));
  // Lines the server's plugins add to the description (the weather, outdoors).
  const details = Array.isArray(data.details) ? data.details : [];
  for (const line of details) box.append(el("p", "room-detail", String(line)));

  const exits = Array.isArray(data.exits) ? data.exits : [];
  const exitLine = el("p", "exits");
  exitLine.append(el("span", "exits-label", "Exits: "));
  if (!exits.length) exitLine.append("none");
  exits.forEach((exit, i) => {
    if (i) exitLine.append(", ");
    const word = String(exit.name ?? exit.direction ?? "?");
    const button = el("button", "exit", word);
    button.type = "button";
    if (exit.to_name) button.title = `to ${exit.to_name}`;
    button.addEventListener("click", () => sendCommand(word));
    exitLine.append(button);
    const door = exit.door && typeof exit.door === "object" ? exit.door : null;
    if (door) {
      const doorName = String(door.name ?? "a door").replace(/^(a|an|the) /i, "");
      exitLine.append(el("span", "door", ` (${doorName}, ${door.closed ? "closed" : "open"})`));
    }
  });
  box.append(exitLine);

  const occupants = Array.isArray(data.occupants) ? data.occupants : [];
  for (const occupant of occupants) {
    if (occupant && typeof occupant === "object") box.append(occupantLine(occupant));
  }
  const more = Number.isSafeInteger(data.more_occupants) ? data.more_occupants : 0;
  if (more > 0) {
    box.append(el("p", "occupant crowd", `${more} other${more > 1 ? "s are" : " is"} here.`));
  }

  const containers = Array.isArray(data.containers) ? data.containers : [];
  const items = Array.isArray(data.items) ? data.items : [];
  const things = grouped([
    ...containers.map((c) => String(c.name ?? "something") + (c.closed ? " (closed)" : "")),
    ...items.map((i) => String(i.name ?? "something")),
  ]);
  if (things.length) box.append(el("p", "things", `You see ${joinWords(things)} here.`));
  append(box);
}

function renderStatus(data) {
  const dp = Number.isFinite(data.dp) ? data.dp : null;
  const max = Number.isFinite(data.max_dp) ? data.max_dp : null;
  if (dp !== null && max) {
    const ratio = Math.max(0, Math.min(1, dp / max));
    ui.dpFill.style.width = `${(ratio * 100).toFixed(1)}%`;
    ui.dpBar.dataset.level = ratio > 0.5 ? "high" : ratio > 0.25 ? "mid" : "low";
    ui.dpBar.setAttribute("aria-valuemax", String(max));
    ui.dpBar.setAttribute("aria-valuenow", String(dp));
    ui.dpBar.setAttribute("aria-valuetext", `${dp} of ${max}`);
    ui.dpText.textContent = `${dp} / ${max}`;
  } else {
    ui.dpFill.style.width = "0%";
    ui.dpText.textContent = "—";
  }
  const tier = typeof data.tier === "string" && data.tier ? data.tier : null;
  const lucidity = Number.isFinite(data.lucidity) ? data.lucidity : null;
  ui.lucidity.textContent = tier
    ? lucidity !== null
      ? `${tier} (${lucidity})`
      : tier
    : lucidity !== null
      ? String(lucidity)
      : "—";
  ui.lucidity.dataset.tier = tier ? cssWord(tier) : "";
  ui.posture.textContent = typeof data.posture === "string" && data.posture ? data.posture : "—";
  renderCondition(typeof data.state === "string" && data.state ? data.state : null);
}

// ------------------------------------------------------------------- combat

// Words for the `state` of a body (status, occupants); an unknown one is shown as it comes.
const CONDITION_WORDS = {
  fighting: "fighting",
  mortally_wounded: "mortally wounded",
  dead: "dead",
};
// Combat kinds sent only to the one they concern, whose data names nobody.
const COMBAT_KINDS_TO_YOU = new Set(["queued", "experience"]);

function conditionWords(condition) {
  if (Object.hasOwn(CONDITION_WORDS, condition)) return CONDITION_WORDS[condition];
  return String(condition).replace(/_/g, " ");
}

// Where this character stands in a combat event: it struck (`by-you`), was struck (`on-you`),
// it is the one the event is about (`about-you`: it fled, fell, bled, died, ...), or it only
// watched (`seen`). The styles tell blows dealt from blows taken by these.
function combatSide(data) {
  const me = state.me;
  if (me !== null && data.attacker === me) return "by-you";
  if (me !== null && data.defender === me) return "on-you";
  if ((me !== null && data.id === me) || COMBAT_KINDS_TO_YOU.has(data.kind)) return "about-you";
  return "seen";
}

function renderCombat(data, text) {
  const kind = cssWord(data.kind ?? "combat");
  if (kind === "round") {
    // Text-free on the wire: a quiet divider, so that each round's blows read together.
    if (Number.isInteger(data.round)) print("combat kind-round", `Round ${data.round}`);
    return;
  }
  print(`combat kind-${kind} ${combatSide(data)}`, text);
}

// The character's state beside the vitals, and the dead panel while it is dead.
function renderCondition(condition) {
  ui.vitals.dataset.state = condition ?? "";
  ui.conditionVital.hidden = condition === null;
  ui.condition.dataset.state = condition ?? "";
  ui.condition.textContent = condition === null ? "" : cap(conditionWords(condition));
  showDead(condition === "dead");
}

function showDead(dead) {
  ui.dead.hidden = !dead;
  ui.game.classList.toggle("is-dead", dead);
  ui.respawn.disabled = false; // each status that still says dead allows another try
}

ui.respawn.addEventListener("click", () => {
  if (sendCommand("respawn")) ui.respawn.disabled = true;
});

// One occupant of a room: who, how, and, when the server gave the words that name exactly it
// (`target`: "ghoul", "2.ghoul"; a server older than `target` gives only the `keyword`), buttons
// to consider it and attack it, or to aid it when it is mortally wounded.
function occupantLine(occupant) {
  const name = String(occupant.name ?? "someone");
  const posture = typeof occupant.posture === "string" && occupant.posture ? occupant.posture : "";
  const condition = typeof occupant.state === "string" && occupant.state ? occupant.state : null;
  const line = el("p", "occupant");
  let sentence = `${cap(name)} is ${posture ? `${posture} here` : "here"}`;
  if (condition) {
    line.dataset.state = condition;
    sentence += `, ${conditionWords(condition)}`;
  }
  line.append(el("span", "occupant-text", `${sentence}.`));
  const naming = "target" in occupant ? occupant.target : occupant.keyword;
  const target = typeof naming === "string" && naming ? naming : null;
  if (target) {
    const verbs = condition === "mortally_wounded" ? ["aid", "attack"] : ["consider", "attack"];
    const actions = el("span", "occupant-actions");
    for (const verb of verbs) actions.append(actionButton(verb, target, name));
    line.append(" ", actions);
  }
  return line;
}

function actionButton(verb, target, name) {
  const command = `${verb} ${target}`;
  const button = el("button", `act act-${verb}`, verb);
  button.type = "button";
  button.title = command;
  // Two ghouls have two "Attack a ghoul" buttons: the second says which it is.
  const which = /^\d+\./.test(target) ? ` (${target})` : "";
  button.setAttribute("aria-label", `${cap(verb)} ${name}${which}`);
  button.addEventListener("click", (event) => {
    sendCommand(command);
    // After a mouse click, typing goes on in the command line (flee!); a keyboard user keeps
    // their place among the buttons.
    if (event.detail > 0) ui.command.focus();
  });
  return button;
}

// ------------------------------------------------------------------- views

function showGame() {
  state.playing = true;
  ui.login.hidden = true;
  ui.game.hidden = false;
  ui.command.disabled = false;
  ui.commandForm.querySelector("button").disabled = false;
  ui.command.focus();
  scrollToBottom();
}

function showLogin(message) {
  state.playing = false;
  document.title = "Kadath";
  hideBanner();
  ui.game.hidden = true;
  ui.login.hidden = false;
  if (message) showAuthError(message);
  else hideAuthError();
  const remembered = storageGet(NAME_KEY);
  if (remembered && !ui.name.value) ui.name.value = remembered;
  (ui.name.value ? ui.password : ui.name).focus();
}

function showAuthError(message) {
  ui.authError.textContent = message;
  ui.authError.hidden = false;
}

function hideAuthError() {
  ui.authError.textContent = "";
  ui.authError.hidden = true;
}

function setAuthBusy(busy) {
  for (const button of ui.loginForm.querySelectorAll("button")) button.disabled = busy;
  ui.loginForm.setAttribute("aria-busy", String(busy));
}

function showBanner(text, buttonLabel) {
  ui.bannerText.textContent = text;
  ui.bannerButton.hidden = !buttonLabel;
  if (buttonLabel) ui.bannerButton.textContent = buttonLabel;
  ui.banner.hidden = false;
}

function hideBanner() {
  ui.banner.hidden = true;
}

ui.bannerButton.addEventListener("click", () => {
  // After a bye without a usable token the way back in is the login form.
  if (state.ended && !loadToken()) showLogin("");
  reconnectNow();
});

ui.jump.addEventListener("click", () => {
  scrollToBottom();
  ui.command.focus();
});
ui.output.addEventListener("scroll", () => {
  stuck = isAtBottom();
  if (stuck) ui.jump.hidden = true;
});
new ResizeObserver(() => {
  if (stuck) scrollToBottom();
}).observe(ui.output);

// --------------------------------------------------------------- login form

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const action = event.submitter?.value === "register" ? "register" : "login";
  const name = ui.name.value.trim();
  const password = ui.password.value;
  if (!name || !password) {
    showAuthError("Enter a name and a password.");
    return;
  }
  hideAuthError();
  setAuthBusy(true);
  state.resuming = false;
  const message = { type: action, name, password };
  if (!send(message)) {
    state.pendingAuth = message;
    reconnectNow();
  }
});

// ------------------------------------------------------------ command line

const history = [];
let historyPos = 0;
let draft = "";

function sendCommand(text) {
  if (!state.loggedIn) {
    print("error", "Not connected; your command was not sent. Reconnecting…");
    if (state.timer !== null) reconnectNow();
    return false;
  }
  print("echo", `> ${text}`);
  send({ type: "cmd", text });
  scrollToBottom();
  return true;
}

ui.commandForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.command.value;
  if (!text.trim()) return;
  if (!sendCommand(text)) return;
  if (history[history.length - 1] !== text) history.push(text);
  if (history.length > HISTORY_MAX) history.shift();
  historyPos = history.length;
  draft = "";
  ui.command.value = "";
});

ui.command.addEventListener("keydown", (event) => {
  const input = ui.command;
  if (event.key === "ArrowUp") {
    if (historyPos === 0) return;
    if (historyPos === history.length) draft = input.value;
    historyPos -= 1;
    input.value = history[historyPos];
  } else if (event.key === "ArrowDown") {
    if (historyPos >= history.length) return;
    historyPos += 1;
    input.value = historyPos === history.length ? draft : history[historyPos];
  } else if (event.key === "Escape") {
    input.value = "";
    historyPos = history.length;
    return;
  } else if (event.key === "PageUp" || event.key === "PageDown") {
    const page = ui.output.clientHeight * 0.9;
    ui.output.scrollBy({ top: event.key === "PageUp" ? -page : page });
  } else {
    return;
  }
  event.preventDefault();
  const end = input.value.length;
  input.setSelectionRange(end, end);
});

// Typing anywhere in the game goes to the command line.
document.addEventListener("keydown", (event) => {
  if (!state.playing || ui.command.disabled) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLButtonElement) return;
  if (event.key.length !== 1 || event.ctrlKey || event.metaKey || event.altKey) return;
  ui.command.focus();
});

// ------------------------------------------------------------------- start

if (loadToken()) {
  // A reload within this tab: take the character back rather than asking for the password.
  state.playing = true;
  ui.login.hidden = true;
  ui.game.hidden = false;
  print("system", "Reconnecting…");
} else {
  showLogin("");
}
connect();
