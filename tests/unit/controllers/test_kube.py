"""The client's bound on requests in flight (no cluster: the requests are plain coroutines)."""

from __future__ import annotations

import asyncio
import gc
import warnings

from switchboard.controllers.kube import CONCURRENT_REQUESTS, Kube


class Requests:
    """Requests that wait until released, counting how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()

    async def request(self) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        await self.release.wait()
        self.running -= 1
        return self.most


async def test_at_most_the_bound_run_at_once_and_all_complete() -> None:
    kube = Kube(client=object())  # type: ignore[arg-type]
    requests = Requests()
    tasks = [
        asyncio.create_task(kube._bounded(requests.request()))
        for _ in range(CONCURRENT_REQUESTS + 5)
    ]
    await asyncio.sleep(0.01)
    assert requests.running == CONCURRENT_REQUESTS
    requests.release.set()
    await asyncio.gather(*tasks)
    assert requests.most == CONCURRENT_REQUESTS


async def test_a_request_cancelled_while_waiting_is_never_sent_and_leaves_no_warning() -> None:
    kube = Kube(client=object())  # type: ignore[arg-type]
    requests = Requests()
    running = [
        asyncio.create_task(kube._bounded(requests.request())) for _ in range(CONCURRENT_REQUESTS)
    ]
    waiting = asyncio.create_task(kube._bounded(requests.request()))
    await asyncio.sleep(0.01)
    waiting.cancel()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        await asyncio.gather(waiting, return_exceptions=True)
        del waiting  # with it (its exception's traceback) the unsent request goes,
        await asyncio.sleep(0)  # once the loop's callbacks holding the task have run
        gc.collect()
    assert [str(warning.message) for warning in warned] == []  # "coroutine ... never awaited"
    requests.release.set()
    await asyncio.gather(*running)
    assert requests.most == CONCURRENT_REQUESTS
