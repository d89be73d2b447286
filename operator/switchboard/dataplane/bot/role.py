"""The bot role: load the model, then take the customer turns of its track (docs/dataplane.md,
"The bot").

Until the model named in the wiring is loaded and is that name and version, the bot is not ready
and takes no work: it says why in one log line and tries again now and then (a ConfigMap or a
download may be fixed without a restart). Then it keeps its replica's heartbeat, admits new
conversations as slots free up (`<prefix>.bot.<track>.new`, at most `concurrency` waiting here),
and answers the turns of admitted ones (`<prefix>.bot.<track>`, never held for a slot). Each
message is acknowledged after its turn is stored and announced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from aio_pika.abc import AbstractIncomingMessage
from aiohttp import web
from pydantic import ValidationError

from switchboard.dataplane.announce import announce
from switchboard.dataplane.bot import slots
from switchboard.dataplane.bot.classifier import compile_model
from switchboard.dataplane.bot.decision import Action
from switchboard.dataplane.bot.loader import load_model
from switchboard.dataplane.bot.model import DialogueModel, ModelError, check_identity
from switchboard.dataplane.bot.sentiment import SentimentScorer
from switchboard.dataplane.bot.slots import SlotGate, Stopping
from switchboard.dataplane.bot.turn import OutOfOrder, TurnResult, Turns
from switchboard.dataplane.bot.understanding import Asking, Classifying, Understander
from switchboard.dataplane.bus import PublishFailed
from switchboard.dataplane.envelope import AgentNudge, CustomerTurn
from switchboard.dataplane.service import Runtime
from switchboard.dataplane.store import STORE_OUTAGES
from switchboard.dataplane.topology import agent_deliveries
from switchboard.dataplane.waiting import set_within
from switchboard.dataplane.wiring import BotWiring, HandoffWiring

logger = logging.getLogger(__name__)

MODEL_RETRY_SECONDS = 10.0
OUTAGE_RETRY_SECONDS = 0.25
MAX_OUTAGE_RETRY_SECONDS = 5.0
T = TypeVar("T")
OUTAGES: tuple[type[Exception], ...] = (*STORE_OUTAGES, PublishFailed)
DRAIN_SECONDS = 8.0  # within the service's stop grace


class BotRole:
    name = "bot"

    def __init__(self, bot: BotWiring, handoff: HandoffWiring) -> None:
        self.bot = bot
        self.handoff = handoff
        self.model: DialogueModel | None = None
        self._runtime: Runtime | None = None
        self._turns: Turns | None = None
        self._gate: SlotGate | None = None
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stop_consuming: list[Callable[[], Awaitable[None]]] = []
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._serving = False
        self._stopping = False

    def routes(self, app: web.Application) -> None:
        """The bot serves no HTTP of its own besides the probes."""

    def ready(self) -> bool:
        return self._serving

    async def start(self, runtime: Runtime) -> None:
        self._runtime = runtime
        serving = asyncio.create_task(self._serve(runtime))
        serving.add_done_callback(_said_if_failed)
        self._tasks.append(serving)

    async def _serve(self, runtime: Runtime) -> None:
        model, understander = await self._load()
        self.model = model
        actor = runtime.wiring.replica
        scorer = SentimentScorer()
        self._turns = Turns(runtime.store, model, understander, scorer, self.handoff, actor)
        store, track = runtime.store, self.bot.track
        self._gate = SlotGate(
            lambda conversation: slots.try_admit(store, conversation, track, actor),
            lambda conversation: slots.needs_slot(store, conversation),
        )
        await self._through_outages(lambda: slots.beat(store, actor, track, self.bot.concurrency))
        self._tasks.append(
            asyncio.create_task(slots.keep_beating(store, actor, track, self.bot.concurrency))
        )
        metrics = runtime.metrics
        metrics.bot_model(model.version)
        self._tasks.append(
            asyncio.create_task(
                slots.keep_counting(
                    store,
                    track,
                    model.version,
                    lambda count: metrics.bot_active(track, model.version, count),
                )
            )
        )
        self._tasks.append(asyncio.create_task(self._gate.run()))
        topology, bus, prefetch = runtime.topology, runtime.bus, self.bot.concurrency
        for admitted, handler in ((True, self._admitted_turn), (False, self._new_turn)):
            queue = topology.bot_queue(track, admitted=admitted)
            self._stop_consuming.append(
                await bus.consume_work(queue, self._counted(handler), prefetch=prefetch)
            )
        self._serving = True
        logger.info(
            "serving model %s %s (%s) on track %s, %s conversations at once",
            model.name,
            model.version,
            model.kind,
            track,
            self.bot.concurrency,
        )

    async def _load(self) -> tuple[DialogueModel, Understander]:
        """The model of the wiring, compiled; tries again until it is there and right."""
        said = None
        while True:
            try:
                model = await load_model(self.bot.model_uri, model_dir=self.bot.model_dir)
                check_identity(
                    model, self.bot.model_name, self.bot.model_version, self.bot.model_uri
                )
                if model.kind == "remote":
                    self._session = aiohttp.ClientSession()
                    return model, Asking(model, self._session, self.bot.endpoint_token)
                classifier = await asyncio.to_thread(compile_model, model)
                return model, Classifying(classifier)
            except ModelError as error:
                if str(error) != said:
                    logger.error("not serving: %s", error)
                    said = str(error)
            await asyncio.sleep(MODEL_RETRY_SECONDS)

    def _counted(
        self, handler: Callable[[AbstractIncomingMessage], Awaitable[None]]
    ) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        """`handler`, with the messages in hand counted (a graceful stop waits for them)."""

        async def counted(message: AbstractIncomingMessage) -> None:
            self._in_flight += 1
            self._idle.clear()
            try:
                await handler(message)
            finally:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.set()

        return counted

    async def _new_turn(self, message: AbstractIncomingMessage) -> None:
        """A turn of a conversation that may still wait for a bot slot."""
        work = await _work(message)
        if work is None:
            return
        assert self._gate is not None
        gate = self._gate
        try:
            await self._through_outages(lambda: gate.enter(work.conversation))
        except Stopping:
            await message.nack(requeue=True)
            return
        await self._take(message, work)

    async def _admitted_turn(self, message: AbstractIncomingMessage) -> None:
        work = await _work(message)
        if work is not None:
            await self._take(message, work)

    async def _take(self, message: AbstractIncomingMessage, work: CustomerTurn) -> None:
        turns = self._turns
        assert turns is not None
        try:
            result = await self._through_outages(lambda: turns.take(work))
        except OutOfOrder as error:
            logger.warning("handing a turn back: %s", error)
            await message.nack(requeue=True)
            return
        self._record(result)
        await self._through_outages(lambda: self._publish(result))
        await message.ack()

    async def _through_outages(self, action: Callable[[], Awaitable[T]]) -> T:
        """`action()`, tried again while the store or the broker is away: a message handed
        back at once would come straight back, and after the delivery limit be dead-lettered
        unanswered. A stopping bot hands it back instead."""
        delay, attempt = OUTAGE_RETRY_SECONDS, 0
        while True:
            try:
                return await action()
            except OUTAGES as error:
                if self._stopping:
                    raise
                if attempt % 10 == 0:
                    logger.warning("waiting for the store or the broker: %s", error)
                attempt += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_OUTAGE_RETRY_SECONDS)

    async def _publish(self, result: TurnResult) -> None:
        runtime = self._runtime
        assert runtime is not None
        conversation = result.conversation
        if conversation is None:
            return
        for reply in result.replies:
            await announce(runtime, conversation, reply)
        if result.turn is not None and result.turn.action is Action.HAND_OFF:
            await runtime.bus.publish_delivery(
                agent_deliveries("queue"), AgentNudge(kind="queue", conversation=conversation.id)
            )

    def _record(self, result: TurnResult) -> None:
        """The metrics contract, for a turn the bot answered now."""
        runtime, turn, timings = self._runtime, result.turn, result.timings
        if runtime is None or turn is None or timings is None or result.conversation is None:
            return
        assert self.model is not None
        conversation, metrics = result.conversation, runtime.metrics
        channel = conversation.channel
        # Latency is the serving model's; outcomes count under the version the conversation
        # started with, as the gateway counts those it sees end (the two match but for
        # conversations that outlive a promotion).
        metrics.bot_turn(self.model.version, timings.turn)
        if result.sentiment is not None:
            metrics.customer_sentiment(channel, result.sentiment)
        if timings.first_answer_wait is not None:
            within = runtime.wiring.service_level.answer_within_seconds
            metrics.answered(channel, "bot", timings.first_answer_wait, within)
        if turn.reason is not None:
            metrics.bot_handoff(channel, turn.reason)
        if turn.outcome is not None and timings.with_bot is not None:
            metrics.bot_outcome(conversation.model_version, turn.outcome)
            metrics.handled(channel, "bot", timings.with_bot)
            if turn.outcome == "contained":
                metrics.resolved(channel)
            assert self._gate is not None
            self._gate.wake()  # its slot is free

    async def stop(self) -> None:
        self._serving = False
        self._stopping = True
        for stop_consuming in self._stop_consuming:
            try:
                await stop_consuming()
            except Exception as error:  # the broker went away: it hands the messages back
                logger.warning("could not stop consuming: %s", error)
        if self._gate is not None:
            self._gate.close()
        await set_within(self._idle, DRAIN_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runtime is not None and self.model is not None:
            try:
                await slots.leave(self._runtime.store, self._runtime.wiring.replica)
            except STORE_OUTAGES as error:  # its slots lapse with its heartbeat instead
                logger.warning("could not give this replica's slots back: %s", error)
        if self._session is not None:
            await self._session.close()


def _said_if_failed(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the bot stopped starting up", exc_info=task.exception())


async def _work(message: AbstractIncomingMessage) -> CustomerTurn | None:
    """The message's customer turn; one that is not one is dead-lettered (kept, not retried)."""
    try:
        return CustomerTurn.model_validate_json(message.body)
    except ValidationError as error:
        first: dict[str, Any] = dict(error.errors()[0])
        logger.warning("dead-lettering a malformed turn: %s: %s", first["loc"], first["msg"])
        await message.reject(requeue=False)
        return None
