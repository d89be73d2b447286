import asyncio

import pytest

from switchboard.controllers.workqueue import WorkQueue


async def nothing_ready(queue: WorkQueue[str]) -> bool:
    try:
        await asyncio.wait_for(queue.get(), 0.02)
    except TimeoutError:
        return True
    return False


async def test_a_key_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [await queue.get(), await queue.get()] == ["a", "b"]
    assert await nothing_ready(queue)


async def test_a_key_changed_while_active_runs_again_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # changed while being reconciled: must not run concurrently
    assert await nothing_ready(queue)
    queue.done(key)
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_add_after_delays_the_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.1)
    assert await nothing_ready(queue)
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_a_burst_of_delayed_adds_becomes_one() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for _ in range(5):
        queue.add_after("a", 0.05)
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.done("a")
    await asyncio.sleep(0.1)
    assert await nothing_ready(queue)


async def test_urgent_keys_go_ahead_of_routine_ones() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for key in ("dying-1", "dying-2", "dying-3"):
        queue.add(key)
    queue.add("new", urgent=True)
    queue.add("dying-3", urgent=True)  # a queued routine key moves ahead, once
    served = [await queue.get() for _ in range(4)]
    assert served == ["new", "dying-3", "dying-1", "dying-2"]
    assert await nothing_ready(queue)


async def test_a_key_served_urgently_is_not_served_again_from_its_old_place() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a", urgent=True)
    assert await queue.get() == "a"
    queue.done("a")
    assert await queue.get() == "b"
    assert await nothing_ready(queue)


@pytest.mark.parametrize("urgent", [False, True])
async def test_a_change_while_active_keeps_its_urgency(urgent: bool) -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    await queue.get()
    queue.add("b")
    queue.add("a", urgent=urgent)
    queue.done("a")
    assert await queue.get() == ("a" if urgent else "b")
