"""A loop that waits on an event with a time limit must still end when cancelled, even when the
event is set in the same turn of the event loop as the cancellation."""

from __future__ import annotations

import asyncio

from switchboard.dataplane.waiting import set_within


async def test_a_cancellation_that_comes_as_the_event_is_set_ends_the_loop() -> None:
    event = asyncio.Event()
    turns = 0

    async def run_until_cancelled() -> None:
        nonlocal turns
        while True:
            await set_within(event, 60)
            event.clear()
            turns += 1

    task = asyncio.create_task(run_until_cancelled())
    await asyncio.sleep(0.01)
    asyncio.get_running_loop().call_soon(task.cancel)
    event.set()
    await asyncio.sleep(0.05)
    # `asyncio.wait_for` swallows this cancellation on Python 3.11: the loop turns on.
    assert task.cancelled()
    assert turns == 0


async def test_it_says_whether_the_event_was_set_in_time() -> None:
    event = asyncio.Event()
    assert not await set_within(event, 0.01)
    assert not await set_within(event, -1)
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await set_within(event, 5)
    assert await set_within(event, 0)  # already set: no wait needed
