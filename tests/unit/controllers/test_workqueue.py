import asyncio

from switchboard.controllers.workqueue import WorkQueue


async def test_a_key_is_queued_once() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_a_key_changed_while_active_runs_again_after_done() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # changed while being reconciled: must not run concurrently
    assert queue._ready.empty()
    queue.done(key)
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_add_after_delays_the_key() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add_after("a", 0.05)
    assert queue._ready.empty()
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_a_burst_of_delayed_adds_becomes_one() -> None:
    queue: WorkQueue[str] = WorkQueue()
    for _ in range(5):
        queue.add_after("a", 0.05)
    assert await asyncio.wait_for(queue.get(), 1) == "a"
    queue.done("a")
    await asyncio.sleep(0.1)
    assert queue._ready.empty()


async def test_the_depth_counts_keys_queued_and_not_yet_taken() -> None:
    queue: WorkQueue[str] = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    queue.add_after("c", 60)  # waiting out a delay: not queued yet
    assert queue.depth() == 2
    await queue.get()
    assert queue.depth() == 1
