"""What sharding adds to a player's round trip, measured over real sockets and real processes.

``python -m bench.cluster_latency --db postgresql+psycopg://postgres@127.0.0.1:5432/kadath_bench``
starts, on this machine and against that (emptied) database and the local NATS:

1. ``kadath serve``, a single server, and times ``look`` (the baseline round trip);
2. ``kadath cluster up --shards 2`` (two shards and a gateway), and times ``look`` through the
   gateway on one shard (the gateway's cost is the difference from 1), then a step and a
   ``look`` sent together, within a zone and across the shard border (arkham.depot <->
   innsmouth.marsh_road). Across the border the old shard answers both in the tick that lets
   the player go, and the new shard shows the room again in the tick that takes it in: the time
   between those two views is the hand-off, end to end (the old shard's transaction, JetStream,
   the new shard's check and its next tick).

Each figure is the time from sending to the answer arriving, over ``--samples`` tries, taken
one after another by one client at a random moment within the tick (so a median carries half a
tick of waiting); the tick rate is ``--tick-rate`` for every process. Prints medians and p99s
and, with ``--json``, all of it as JSON. Never run by the test suite: it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from websockets.asyncio.client import ClientConnection, connect

KADATH = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]
BORDER = ("arkham.depot", "se", "innsmouth.marsh_road", "nw")
#: A step within one zone and back, to compare the crossing with.
INLAND = ("arkham.depot", "w", "arkham.river_street", "e")
TIMEOUT_S = 30.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median_ms": round(statistics.median(values) * 1000, 2),
        "p99_ms": round(_quantile(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2),
    }


class Player:
    """One websocket client that sends lines and waits for the answers it expects."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def next_of(self, kinds: set[str]) -> dict[str, Any]:
        while True:
            raw = await asyncio.wait_for(self.ws.recv(), TIMEOUT_S)
            for message in _messages(raw):
                if message["type"] == "error" and message["data"].get("code") == "paused":
                    continue
                if message["type"] in kinds:
                    return message
                if message["type"] == "error":
                    raise RuntimeError(f"refused: {message['text']}")

    async def rooms(self, count: int) -> list[dict[str, Any]]:
        return [await self.next_of({"room"}) for _ in range(count)]

    async def send(self, *lines: str) -> None:
        for line in lines:
            await self.ws.send(line)


def _messages(raw: str | bytes) -> list[dict[str, Any]]:
    body = json.loads(raw)
    return body if isinstance(body, list) else [body]


@contextlib.asynccontextmanager
async def player(port: int, name: str) -> Any:
    async with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
        client = Player(ws)
        await client.next_of({"welcome"})
        await client.send(f"register {name} sesame-{name}")
        await client.next_of({"room"})
        yield client


async def time_looks(client: Player, samples: int, rng: random.Random) -> list[float]:
    found = []
    for _ in range(samples):
        await asyncio.sleep(rng.uniform(0, 0.05))
        started = time.perf_counter()
        await client.send("look")
        await client.rooms(1)
        found.append(time.perf_counter() - started)
    return found


async def time_steps(
    client: Player, route: tuple[str, str, str, str], samples: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """A step and a look sent together: the time until the second room view (the look's within
    a zone; across the border, the view the new shard draws once the hand-off is applied), and
    the time between the two views (across the border: from the old shard's last answer, in the
    tick that let the player go, to the new shard's first, in the tick that took it in: the
    hand-off end to end). There and back, ``samples`` times in all."""
    start, out, _, back = route
    await client.send(f"goto {start}")
    await client.rooms(1)
    totals, between = [], []
    for i in range(samples):
        await asyncio.sleep(rng.uniform(0, 0.05))
        started = time.perf_counter()
        await client.send(out if i % 2 == 0 else back, "look")
        await client.rooms(1)
        first = time.perf_counter()
        await client.rooms(1)
        done = time.perf_counter()
        totals.append(done - started)
        between.append(done - first)
    return totals, between


def _wait_http(port: int, path: str, ready: Any) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        address = f"http://127.0.0.1:{port}{path}"
        with (
            contextlib.suppress(OSError, ValueError),
            urllib.request.urlopen(address, timeout=1) as reply,
        ):
            if ready(json.loads(reply.read())):
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing ready on port {port} within {TIMEOUT_S:g} s")


@contextlib.contextmanager
def running(command: list[str], folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (folder / "log.txt").open("wb")
    process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _empty(url: str) -> None:
    db = sa.create_engine(url)
    with db.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.dispose()


async def measure(ns: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(ns.seed)
    rate = [
        *("--set", f"engine.tick_rate_hz={ns.tick_rate}"),
        *("--set", "net.commands_per_s=200", "--set", "net.command_burst=200"),
    ]
    results: dict[str, Any] = {"tick_rate_hz": ns.tick_rate, "samples": ns.samples}
    with tempfile.TemporaryDirectory(prefix="kadath-bench-") as scratch:
        folder = Path(scratch)
        single = folder / "single"
        single.mkdir()
        with running(
            [*KADATH, "serve", "--port", str(ns.port), "--db", f"sqlite:///{single}/k.db", *rate],
            single,
        ):
            _wait_http(ns.port, "/healthz", lambda body: True)
            async with player(ns.port, "alone") as client:
                results["single_look"] = summary(await time_looks(client, ns.samples, rng))
        _empty(ns.db)
        cluster = folder / "cluster"
        cluster.mkdir()
        with running(
            [
                *KADATH,
                "cluster",
                "up",
                "--shards",
                "2",
                "--db",
                ns.db,
                "--port",
                str(ns.port),
                *rate,
            ],
            cluster,
        ):
            _wait_http(
                ns.port,
                "/healthz",
                lambda body: (
                    len(body.get("shards", {})) == 2
                    and all(s.get("ready") and s.get("up") for s in body["shards"].values())
                ),
            )
            async with player(ns.port, "walker") as client:
                results["gateway_look"] = summary(await time_looks(client, ns.samples, rng))
                inland, _ = await time_steps(client, INLAND, ns.samples, rng)
                across, handoff = await time_steps(client, BORDER, ns.samples, rng)
                results["step_and_look_in_zone"] = summary(inland)
                results["step_and_look_across_border"] = summary(across)
                results["handoff_last_view_to_first_view"] = summary(handoff)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_latency", description=__doc__)
    parser.add_argument(
        "--db", required=True, help="a PostgreSQL URL; its public schema is emptied"
    )
    parser.add_argument("--port", type=int, default=4470)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--tick-rate", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args(argv)
    results = asyncio.run(measure(ns))
    results["load_average"] = os.getloadavg()
    if ns.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
