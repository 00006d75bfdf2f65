"""(being written)"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``check-world`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser("check-world", help="(being written)")
    parser.set_defaults(run=lambda ns, config: 0)
