"""The slot gate: conversations waiting on a replica get slots in the order they came."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from switchboard.dataplane.bot.slots import POLL_SECONDS, Admission, SlotGate, Stopping


class Slots:
    """A track's slots as the store would count them."""

    def __init__(self, free: int) -> None:
        self.free = free
        self.admitted: list[uuid.UUID] = []

    async def admit(self, conversation: uuid.UUID) -> Admission:
        if conversation in self.admitted:
            return Admission.NOT_NEEDED
        if not self.free:
            return Admission.FULL
        self.free -= 1
        self.admitted.append(conversation)
        return Admission.ADMITTED

    async def needs(self, conversation: uuid.UUID) -> bool:
        return conversation not in self.admitted


@pytest.fixture
async def gate_and_slots() -> AsyncIterator[tuple[SlotGate, Slots]]:
    slots = Slots(free=1)
    gate = SlotGate(slots.admit, slots.needs)
    running = asyncio.create_task(gate.run())
    try:
        yield gate, slots
    finally:
        running.cancel()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_waiting_conversations_get_slots_in_the_order_they_came(
    gate_and_slots: tuple[SlotGate, Slots],
) -> None:
    gate, slots = gate_and_slots
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await gate.enter(first)
    entering = [asyncio.create_task(gate.enter(c)) for c in (second, third)]
    await settle()
    assert gate.waiting == 2 and not any(task.done() for task in entering)

    slots.free += 1  # the first conversation ends here
    gate.wake()
    await asyncio.wait_for(entering[0], 1)
    await settle()
    assert not entering[1].done()
    assert slots.admitted == [first, second]


async def test_a_slot_freed_elsewhere_is_found_without_a_wake(
    gate_and_slots: tuple[SlotGate, Slots],
) -> None:
    gate, slots = gate_and_slots
    await gate.enter(uuid.uuid4())
    waiting = asyncio.create_task(gate.enter(uuid.uuid4()))
    await settle()
    slots.free += 1  # another replica's conversation ended
    await asyncio.wait_for(waiting, POLL_SECONDS * 3)


async def test_a_newcomer_does_not_overtake_those_waiting_unless_it_needs_no_slot(
    gate_and_slots: tuple[SlotGate, Slots],
) -> None:
    gate, slots = gate_and_slots
    admitted = uuid.uuid4()
    await gate.enter(admitted)
    waiting = asyncio.create_task(gate.enter(uuid.uuid4()))
    await settle()
    slots.free += 1  # freed, but nobody told this replica yet
    newcomer = asyncio.create_task(gate.enter(uuid.uuid4()))
    await gate.enter(admitted)  # a later message of an admitted conversation passes at once
    await asyncio.wait_for(waiting, POLL_SECONDS * 3)
    await settle()
    assert not newcomer.done()
    newcomer.cancel()


async def test_closing_sends_the_waiting_back(gate_and_slots: tuple[SlotGate, Slots]) -> None:
    gate, _ = gate_and_slots
    await gate.enter(uuid.uuid4())
    waiting = asyncio.create_task(gate.enter(uuid.uuid4()))
    await settle()
    gate.close()
    with pytest.raises(Stopping):
        await waiting
    with pytest.raises(Stopping):
        await gate.enter(uuid.uuid4())
