"""The network service: ``kadath serve`` finds it through the ``kadath.services`` entry point.

It starts after persistence (which provides the account store), binds the port when the loop
runs, and at shutdown says goodbye to every client and takes every character out of the world
before persistence takes its final snapshot. In a shard of a sharded world (``cluster.shard``)
it runs the shard's shell instead (:mod:`net.shard`): gateways hold the players' sockets.
"""

from __future__ import annotations

import asyncio
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from engine.accounts import AccountStore
from engine.config import Config
from engine.core import Engine
from engine.inputs import LeaveWorld
from engine.plugins import SetupError
from net.accounts import AccountService, LoginThrottle
from net.server import NetServer

if TYPE_CHECKING:
    from net.shard import ShardServer

__all__ = ["NetworkService", "service"]

log = logging.getLogger("kadath.net")


def _version() -> str:
    try:
        return version("kadath")
    except PackageNotFoundError:
        return "0"


class NetworkService:
    name = "network"
    priority = 20  # after persistence: it needs the account store; stops before it

    def __init__(self, config: Config) -> None:
        self.config = config
        self.server: NetServer | None = None
        self.shard: ShardServer | None = None
        self._stopped = asyncio.Event()

    def start(self, engine: Engine) -> None:
        if engine.accounts is None:
            raise SetupError(
                "the network service needs an account store, which the persistence service "
                "provides: is the kadath package installed with its entry points?"
            )
        presence = engine.registry.presence
        if presence is None:
            raise SetupError("no plugin provides presence rules (the core plugin does)")
        if self.config.cluster.shard:
            self.shard = _shard_server(engine, self.config, engine.accounts)
            self.shard.prepare()
            return
        world = engine.world
        # Characters still in the world were left there by a crash: nobody is connected now, so
        # the first tick takes them out (an input like any other, so a journal replays it).
        for character in presence.in_world(world):
            sid = world.stable_id(character)
            if sid is not None:
                engine.submit(LeaveWorld(sid, "restart"))
        net = self.config.net
        throttle = LoginThrottle(
            name_failures=net.login_failures_per_name,
            address_failures=net.login_failures_per_address,
            window_s=net.login_failure_window_s,
        )
        accounts = AccountService(
            engine.accounts,
            throttle,
            max_in_flight_per_address=net.logins_in_flight_per_address,
        )
        self.server = NetServer(engine, net, accounts, version=_version())

    async def run(self, engine: Engine) -> None:
        if self.shard is not None:
            await self.shard.run()
            return
        assert self.server is not None
        await self.server.start()
        await self._stopped.wait()
        await self.server.stop()

    def stop(self, engine: Engine) -> None:
        if self.shard is not None:
            self.shard.stop()
        if self.server is not None:
            self.server.hub.shutdown()
        self._stopped.set()


def _shard_server(engine: Engine, config: Config, accounts: AccountStore) -> ShardServer:
    """A shard's shell in place of the websockets server (imported only for a shard: it needs
    the ``cluster`` extra)."""
    try:
        from net.shard import ShardServer
    except ImportError as exc:
        raise SetupError(
            f"a shard needs the cluster extra ({exc}): pip install 'kadath[cluster]'"
        ) from exc
    return ShardServer(engine, config, accounts)


def service(config: Config) -> NetworkService:
    """The ``kadath.services`` entry point."""
    return NetworkService(config)
