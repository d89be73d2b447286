"""A customer of a load run, from arrival to leaving: the script decides what to say, the line
(webchat or api) carries it, and the tally counts what happened."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from switchboard.dataplane.loadgen.ledger import Ledger, Shown
from switchboard.dataplane.loadgen.plan import People
from switchboard.dataplane.loadgen.script import Leave, Move, Say, Script
from switchboard.dataplane.loadgen.tally import Tally, Visit

logger = logging.getLogger(__name__)

LEAVE_SECONDS = 15.0
T = TypeVar("T")


class Line(Protocol):
    """One conversation with a gateway, kept up across drops."""

    conversation: uuid.UUID
    ledger: Ledger
    inbox: asyncio.Queue[Shown]
    """Messages of others, each the first time it is shown."""
    ended: str | None
    closed: asyncio.Event
    """The conversation can take no more messages."""

    async def open(self) -> None: ...

    async def say(self, text: str) -> None: ...

    async def leave(self) -> str | None:
        """Ends the conversation; how it ended (resolved or abandoned)."""

    async def close(self) -> None: ...

    async def transcript(self) -> list[tuple[int, uuid.UUID]] | None:
        """The conversation's messages as stored, (seq, id); None if they cannot be read."""


async def _until(
    task: asyncio.Future[T], stops: Sequence[asyncio.Event], seconds: float | None
) -> bool:
    """Waits for `task` for `seconds` at most, or until one of `stops` is set; whether it
    finished (if not, it is cancelled)."""
    stoppers = [asyncio.ensure_future(stop.wait()) for stop in stops]
    waits: list[asyncio.Future[Any]] = [task, *stoppers]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for stopper in stoppers:
            stopper.cancel()
    if not task.done():
        task.cancel()
        return False
    return True


async def play(
    line: Line,
    script: Script,
    people: People,
    rng: random.Random,
    tally: Tally,
    stop: asyncio.Event,
    record: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """One customer's visit; at `stop` (the run is over) they leave, unfinished. `record`
    gets what they were acknowledged and shown, at the end."""
    visit = Visit()
    patience = people.patience.sample(rng) if people.patience is not None else None
    try:
        if not await _until(asyncio.ensure_future(line.open()), [stop], patience):
            tally.failures["never_started"] += 1
            return
        visit.started_at = time.monotonic()
        tally.conversation_started()
        move: Move = script.opening()
        first = True
        while not stop.is_set():
            if isinstance(move, Leave):
                break
            if isinstance(move, Say):
                if not first:
                    thinking = asyncio.ensure_future(asyncio.sleep(people.think.sample(rng)))
                    if not await _until(thinking, [stop, line.closed], None):
                        break
                first = False
                await line.say(move.text)
            shown = asyncio.ensure_future(line.inbox.get())
            if not await _until(shown, [stop, line.closed], patience):
                break  # out of patience, or the conversation can take nothing more
            message = shown.result()
            visit.shown(message.sender, time.monotonic())
            move = script.shown(message.sender, message.text)
        try:
            async with asyncio.timeout(LEAVE_SECONDS):
                state = await line.leave()
        except TimeoutError:
            state = None
        visit.ended = None if stop.is_set() else state
        lost = 0
        if line.ledger.unanswered():
            lost = line.ledger.lost(await line.transcript())
        else:
            lost = line.ledger.lost()
        tally.conversation_finished(
            visit, handed_off=script.handed_off, ledger=line.ledger, lost=lost
        )
        if record is not None:
            record(
                {
                    "conversation": str(line.conversation),
                    "ended": visit.ended,
                    "lost": lost,
                    **line.ledger.record(),
                }
            )
    except Exception as error:
        tally.failures[type(error).__name__] += 1
        logger.exception("customer %s failed", script.need)
    finally:
        with contextlib.suppress(Exception):
            await line.close()
