"""A stop ends its tasks even when one loses a cancellation (as nats-py's waits can on Python
3.11), and gives up after its bound rather than hang."""

from __future__ import annotations

import asyncio

from net.tasks import cancel_all
from tests.net.harness import async_test


async def _loses_one_cancellation(cancellations: list[int]) -> None:
    """Waits forever; the first cancellation is swallowed, as wait_for does when a message
    arrives in the same turn of the loop."""
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        cancellations.append(1)
        task = asyncio.current_task()
        assert task is not None
        task.uncancel()
    await asyncio.Event().wait()


async def _ignores_cancellation_until(released: asyncio.Event) -> None:
    while not released.is_set():
        try:
            await released.wait()
        except asyncio.CancelledError:
            continue


async def _fails() -> None:
    raise RuntimeError("broken before the stop")


@async_test
async def test_a_task_that_swallowed_its_cancellation_is_cancelled_again_and_ends() -> None:
    cancellations: list[int] = []
    task = asyncio.create_task(_loses_one_cancellation(cancellations))
    await asyncio.sleep(0)
    assert await cancel_all([task], timeout_s=5.0)
    assert task.cancelled()
    assert cancellations == [1]


@async_test
async def test_a_task_that_never_ends_is_left_after_the_bound_and_the_stop_says_so() -> None:
    released = asyncio.Event()
    stubborn = asyncio.create_task(_ignores_cancellation_until(released))
    polite = asyncio.create_task(asyncio.Event().wait())
    await asyncio.sleep(0)
    assert not await cancel_all([stubborn, polite], timeout_s=0.2)
    assert polite.cancelled()
    assert not stubborn.done()
    released.set()
    await stubborn


@async_test
async def test_a_task_that_failed_before_the_stop_is_taken_without_an_error() -> None:
    failed = asyncio.create_task(_fails())
    done = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert await cancel_all([failed, done], timeout_s=1.0)
    assert isinstance(failed.exception(), RuntimeError)
