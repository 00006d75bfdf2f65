"""Plain HTTP on the game's port: the web client page, /healthz, /metrics, the /stats page, and
nothing else.

Requests are written by hand (``harness.http_get``) so that a path such as ``/static/../x`` reaches
the server exactly as written; an HTTP library would normalise it first.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.net.harness import LiveServer, async_test, live_server, wait_until

#: ``name{labels} value`` or ``name value``: one sample of the Prometheus text format.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$")


async def health(server: LiveServer) -> dict[str, object]:
    reply = await server.http_get("/healthz")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    value = orjson.loads(reply.body)
    assert isinstance(value, dict)
    return value


def sample(metric: str, /, **labels: str) -> str:
    """How ``metrics`` keys a sample: its name, then its labels sorted by name (Prometheus gives
    label order no meaning, and prometheus_client writes them sorted)."""
    if not labels:
        return metric
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


async def metrics(server: LiveServer) -> dict[str, float]:
    """Every sample of /metrics, keyed by ``sample(name, **labels)``; every line is checked to be
    a comment or a sample, and the whole text is read by Prometheus's own parser."""
    reply = await server.http_get("/metrics")
    assert reply.status == 200
    assert reply.headers["content-type"] == "text/plain; version=0.0.4"
    text = reply.body.decode("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert line.startswith(("# HELP ", "# TYPE ")), line
            continue
        assert SAMPLE.match(line) is not None, f"not a Prometheus sample: {line!r}"
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            key = sample(found.name, **found.labels)
            assert key not in samples, f"sample {key} written twice"
            samples[key] = float(found.value)
    return samples


@async_test
async def test_the_root_serves_the_web_client_page(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get("/")
        assert reply.status == 200
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        assert reply.headers["cache-control"] == "no-store"
        page = reply.body.decode("utf-8")
        assert page.lstrip().lower().startswith("<!doctype html")
        assert "</html>" in page.lower()


@pytest.mark.parametrize(("name", "kind"), [("app.js", "javascript"), ("style.css", "text/css")])
@async_test
async def test_the_web_client_files_are_served_under_static(
    tmp_path: Path, name: str, kind: str
) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get(f"/static/{name}")
        assert reply.status == 200
        assert kind in reply.headers["content-type"]
        assert reply.body


@async_test
async def test_healthz_reports_status_tick_and_players_online(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        first = await health(server)
        assert first["status"] == "ok"
        assert first["players_online"] == 0
        assert isinstance(first["tick"], int) and first["tick"] >= 1
        client = await server.player("Armitage")
        await server.player("Carter")
        second = await health(server)
        assert second["players_online"] == 2 == len(server.hub.playing)
        assert isinstance(second["tick"], int) and second["tick"] > first["tick"]
        await client.close()  # link-dead is not online
        await wait_until(lambda: len(server.hub.playing) == 1, "Armitage is link-dead")
        assert (await health(server))["players_online"] == 1


@async_test
async def test_healthz_ignores_a_query_string(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get("/healthz?probe=1")
        assert reply.status == 200
        assert orjson.loads(reply.body)["status"] == "ok"


@async_test
async def test_metrics_report_tick_cost_systems_players_and_the_writer(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        await server.player("Armitage")
        await server.wait_ticks(5)
        samples = await metrics(server)
        assert samples["kadath_tick"] >= 5
        for quantile in ("0.5", "0.99", "1"):
            assert samples[f'kadath_tick_duration_seconds{{quantile="{quantile}"}}'] >= 0
        systems = {key for key in samples if key.startswith("kadath_system_seconds_total{")}
        assert sample("kadath_system_seconds_total", name="commands", kind="phase") in systems
        assert any('kind="system"' in key for key in systems)
        # Every system the scheduler knows is reported, with its runs.
        for row in server.engine.scheduler.stats():
            assert sample("kadath_system_runs_total", name=row.name, kind="system") in samples
        assert samples["kadath_players_online"] == 1
        assert samples["kadath_connections"] == 1
        assert samples["kadath_players_linkdead"] == 0
        for figure in ("queued_batches", "pending_rows", "lag_ticks", "last_saved_tick"):
            assert samples[f"kadath_writer_{figure}"] >= 0
        await wait_until(
            lambda: (w := server.persistence.writer) is not None and w.stats().flushes > 0,
            "the writer has flushed",
        )
        assert (await metrics(server))["kadath_writer_flushes_total"] >= 1


@pytest.mark.parametrize("path", ["/nowhere", "/index.html", "/static/", "/static/missing.css"])
@async_test
async def test_an_unknown_path_is_404(tmp_path: Path, path: str) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get(path)
        assert reply.status == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/../server.py",
        "/static/../../engine/core.py",
        "/static/..%2fserver.py",
        "/static/%2e%2e/server.py",
        "/static/.%2e/server.py",
        "/static//etc/passwd",
        "/static/%2Fetc%2Fpasswd",
        "/../net/server.py",
        "/static/..\\server.py",
    ],
)
@async_test
async def test_paths_out_of_the_web_folder_are_refused(tmp_path: Path, path: str) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get(path)
        assert reply.status == 404
        assert b"import" not in reply.body and b"root:" not in reply.body


@async_test
async def test_only_the_web_client_files_are_served(tmp_path: Path) -> None:
    """Not the web package's Python module, nor its byte code."""
    async with live_server(tmp_path) as server:
        for path in ("/static/__init__.py", "/static/__pycache__", "/static/py.typed"):
            reply = await server.http_get(path)
            assert reply.status == 404, path


@async_test
async def test_http_and_websockets_share_the_port(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        assert (await server.http_get("/healthz")).status == 200
        await client.cmd("look")
        await client.expect("room")


# --- the /stats page ------------------------------------------------------------------------------

STATS_TOKEN = "tindalos-hounds-at-the-angles"
BEYOND_LOOPBACK = ("net.host=0.0.0.0",)


async def stats_json(
    server: LiveServer, path: str = "/stats.json", **headers: str
) -> dict[str, Any]:
    """/stats.json, checked to be a JSON object that no cache keeps."""
    reply = await server.http_get(path, headers=headers)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["cache-control"] == "no-store"
    document = orjson.loads(reply.body)
    assert isinstance(document, dict)
    return document


@async_test
async def test_on_loopback_stats_json_shows_every_system_the_loop_the_writer_and_the_players(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        await server.player("Armitage")
        await server.wait_ticks(10)
        server.net.sample_gauges()  # as the server does every net.stats_sample_s
        document = await stats_json(server)

        rows = {row["name"]: row for row in document["systems"]}
        for system in server.engine.scheduler.stats():  # every real system, with its runs
            assert rows[system.name]["kind"] == "system"
            assert rows[system.name]["phase"] == system.phase
        assert {"commands", "systems", "hand-off"} <= set(rows)
        assert rows["commands"]["calls"] >= 10
        assert all(0 <= row["share"] <= 1 for row in rows.values())
        assert document["tick"] >= 10
        assert document["tick_rate_hz"] == 50.0
        assert document["players_online"] == 1
        assert document["uptime_s"] > 0
        assert document["loop"]["ticks"] >= 10
        assert document["writer"]["state"] in ("idle", "writing")
        assert document["writer"]["lag_ticks"] >= 0
        history = document["history"]
        assert (history["step_s"], history["span_s"], history["sample_s"]) == (5.0, 600.0, 1.0)
        assert sum(point["ticks"] for point in history["ticks"]) >= 10
        assert all(point["max_ms"] >= point["p50_ms"] >= 0 for point in history["ticks"])
        assert history["gauges"][-1]["players_online_max"] == 1
        assert "writer_lag_ticks" in history["gauges"][-1]


@async_test
async def test_on_loopback_the_stats_page_is_open_and_served_only_at_stats(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        reply = await server.http_get("/stats")
        assert reply.status == 200
        assert reply.headers["content-type"] == "text/html; charset=utf-8"
        page = reply.body.decode("utf-8")
        assert "/stats.json" in page
        assert 'src="http' not in page and 'href="http' not in page  # no outside assets
        assert (await server.http_get("/static/stats.html")).status == 404
        assert (await server.http_get("/stats?token=anything")).status == 200


@async_test
async def test_beyond_loopback_the_stats_page_takes_the_token_and_never_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with live_server(tmp_path, *BEYOND_LOOPBACK, f"net.stats_token={STATS_TOKEN}") as server:
        missing = await server.http_get("/stats")
        assert missing.status == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert b"/stats?token=" in missing.body
        assert (await server.http_get("/stats.json")).status == 401

        wrong = await server.http_get("/stats?token=the-wrong-token-entirely")
        assert wrong.status == 403
        assert wrong.headers["content-type"] == "text/plain; charset=utf-8"
        assert b"does not open" in wrong.body
        bearer_wrong = {"Authorization": "Bearer the-wrong-token-entirely"}
        assert (await server.http_get("/stats.json", headers=bearer_wrong)).status == 403

        page = await server.http_get(f"/stats?token={STATS_TOKEN}")
        assert page.status == 200 and b"/stats.json" in page.body
        by_header = await stats_json(server, Authorization=f"Bearer {STATS_TOKEN}")
        by_query = await stats_json(server, f"/stats.json?token={STATS_TOKEN}")
        assert by_header["systems"] and by_query["systems"]

        # /healthz and /metrics stay open (see docs/operations.md, The /stats page).
        assert (await server.http_get("/healthz")).status == 200
        assert (await server.http_get("/metrics")).status == 200
        for reply in (missing, wrong, page):
            assert STATS_TOKEN.encode() not in reply.body
    assert STATS_TOKEN not in caplog.text


@async_test
async def test_beyond_loopback_without_a_configured_token_the_stats_page_is_refused_to_everyone(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, *BEYOND_LOOPBACK) as server:
        for path in ("/stats", "/stats?token=", f"/stats?token={STATS_TOKEN}", "/stats.json"):
            reply = await server.http_get(path)
            assert reply.status == 403, path
            assert b"net.stats_token" in reply.body
            assert b"KADATH_NET__STATS_TOKEN" in reply.body
        assert (await server.http_get("/")).status == 200  # the game itself is still served
