"""Ending background tasks at a stop, within a bound, even when a cancellation is lost.

On Python 3.11, ``asyncio.wait_for`` (which nats-py's ``next_msg`` and JetStream ``fetch`` wait
through) swallows a cancellation that arrives in the same turn of the loop as the message it was
waiting for (CPython issue gh-86296, fixed in 3.12): the task carries on to its next wait as if
nothing had been asked, and a stop that cancels once and awaits the task waits forever. It was
seen as a test cluster that hung in its teardown right after a broker restart, when redelivered
messages poured in. So a stop cancels again until the tasks have ended, and gives up (saying so)
after its bound rather than hang a shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any, Final

log = logging.getLogger(__name__)

#: The longest one step of a stop (its tasks ending, a connection closing) may take before the
#: stop goes on without it: a shutdown never hangs.
STOP_TIMEOUT_S: Final = 10.0
#: How long a stop waits for a cancelled task before cancelling it again: a task that lost its
#: cancellation is at its next wait by then.
RECANCEL_S: Final = 0.05


async def cancel_all(tasks: Iterable[asyncio.Future[Any]], timeout_s: float) -> bool:
    """Cancel ``tasks`` and wait until every one has ended, cancelling again those that carry on,
    for at most ``timeout_s``. True if all ended; False (and a warning) if some did not.

    What a task ended with is taken and dropped (as ``gather(..., return_exceptions=True)``
    would): a task that failed before the stop reported it itself; one that fails while being
    cancelled is of no more use to anyone."""
    given = list(tasks)
    pending = {task for task in given if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            log.warning(
                "%d task(s) still running %g s after being cancelled", len(pending), timeout_s
            )
            return False
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_S, left))
    for task in given:
        if not task.cancelled():
            task.exception()
    return True
