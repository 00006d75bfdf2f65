"""The one way a test says a service it needs is missing: skipped with the reason on a machine
without it, failed in CI, where the variable named ``require_env`` is set to 1 (``.ci/run`` starts
PostgreSQL, NATS and Chromium, so a skip there would hide a test that never ran)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str, require_env: str) -> NoReturn:
    """Skip with ``reason``, or fail with it when ``require_env`` is 1."""
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{require_env}=1 but {reason}")
    pytest.skip(reason)
