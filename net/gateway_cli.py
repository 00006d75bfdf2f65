"""``kadath gateway``: its command line, apart from the gateway itself, so that every ``kadath``
command works without the ``cluster`` extra (nats-py) and only this one asks for it."""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

from engine.config import Config, add_config_arguments
from engine.config.settings import subject_token_problem

__all__ = ["random_gateway_name", "register"]

EXIT_BAD_SETUP = 2


def random_gateway_name() -> str:
    """A gateway id for a process started without ``--name``: unique enough, and a valid bus
    subject token."""
    return f"gw-{secrets.token_hex(4)}"


def run(ns: argparse.Namespace, config: Config) -> int:
    """Run ``kadath gateway``: until SIGINT or SIGTERM; 2 with a one-line error if it cannot
    start."""
    name: str = ns.name or random_gateway_name()
    problem = subject_token_problem(name)
    if problem is not None:
        print(f"kadath gateway: bad --name {name!r}: {problem}", file=sys.stderr)
        return EXIT_BAD_SETUP
    try:
        from net.gateway import serve_gateway
    except ImportError as exc:
        print(
            f"kadath gateway: needs the cluster extra ({exc}): pip install 'kadath[cluster]'",
            file=sys.stderr,
        )
        return EXIT_BAD_SETUP
    return serve_gateway(config, name)


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath gateway``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gateway",
        help="hold players' connections for a sharded world, forwarding them to its shards",
        description=(
            "Serve players (websocket, the web client, /healthz) for a world whose zones run on"
            " shards: log them in against the shared database (persist.database_url) and forward"
            " what they type over NATS ([cluster] settings) to the shard that holds each"
            " character."
        ),
    )
    parser.add_argument(
        "--name",
        default=None,
        metavar="ID",
        help="this gateway's id on the bus (letters, digits, '-', '_'; default: a random one)",
    )
    add_config_arguments(parser, shortcuts=("--db", "--host", "--port"))
    parser.set_defaults(run=run)
