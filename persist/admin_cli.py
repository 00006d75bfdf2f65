"""``kadath admin grant NAME [--role ROLE]``: change an account's role from the command line.

The way to make a builder, or a second admin, or to recover admin rights: it writes the role
straight to the configured database. It brings only the engine's own tables (accounts among them)
up to date first, never the world's component tables: granting a role must not load plugins or
migrate saved game data. A running server reads the new role at the account's next login. It never
touches passwords.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import sqlalchemy as sa

from engine.accounts import ROLES
from engine.config import Config, add_config_arguments
from persist.accounts import SqlAccountStore, UnknownAccount, UnknownRole
from persist.database import open_database
from persist.migrate import MigrationError, ensure_schema
from persist.schema import Schema

__all__ = ["register", "run"]

#: The role ``grant`` gives when ``--role`` is not given.
DEFAULT_GRANT_ROLE = "admin"


def run(ns: argparse.Namespace, config: Config) -> int:
    """Run ``kadath admin ...``: 0 when done, 1 with a message on stderr when not."""
    role: str = ns.role
    if role not in ROLES:
        print(
            f"kadath admin: unknown role {role!r}: choose from {', '.join(ROLES)}", file=sys.stderr
        )
        return 1
    db = open_database(config.persist.database_url)
    try:
        ensure_schema(db, Schema(()))  # the engine's tables only: see the module docstring
        account, before = SqlAccountStore(db).set_role(ns.name, role)
    except (UnknownAccount, UnknownRole) as exc:
        print(f"kadath admin: {exc}", file=sys.stderr)
        return 1
    except MigrationError as exc:
        print(f"kadath admin: the database schema is not up to date: {exc}", file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as exc:
        print(f"kadath admin: database error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    if before == role:
        print(f"{account.name} is already {role}")
    else:
        print(f"{account.name} is now {role} (was {before})")
    return 0


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath admin``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "admin", help="manage accounts: grant roles"
    )
    sub = parser.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    grant = sub.add_parser(
        "grant",
        help="give an account a role (admin by default)",
        description="Give the account NAME (any case) a role, in the configured database.",
    )
    grant.add_argument("name", metavar="NAME", help="the account's name (case does not matter)")
    grant.add_argument(
        "--role",
        default=DEFAULT_GRANT_ROLE,
        metavar="ROLE",
        help=f"one of {', '.join(ROLES)} (default: {DEFAULT_GRANT_ROLE})",
    )
    add_config_arguments(grant)
    parser.set_defaults(run=run)
