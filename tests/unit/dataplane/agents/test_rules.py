"""What an agent may do with a conversation: accept only their own offer in time, write only to
what they hold, read what they accepted."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from switchboard.dataplane.agents.rules import (
    Acceptance,
    Refusal,
    may_accept,
    may_read,
    may_resolve,
    may_write,
)
from switchboard.dataplane.conversation import State

ID = uuid.UUID("2b1f1d4e-7c56-4a43-9f3e-0a1c2d3e4f50")
ACCEPTED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    state: State
    agent_id: str | None
    accepted_at: datetime | None = None


def refusal(call: Callable[..., object], *args: object) -> tuple[int, str]:
    with pytest.raises(Refusal) as raised:
        call(*args)
    return raised.value.status, raised.value.code


def test_an_agent_accepts_their_own_offer_in_time() -> None:
    assert may_accept(ID, Row(State.OFFERED, "ann"), "ann", True) is Acceptance.ACCEPT


def test_a_repeated_accept_is_answered_as_the_first() -> None:
    assert may_accept(ID, Row(State.AGENT, "ann", ACCEPTED), "ann", False) is Acceptance.ALREADY


@pytest.mark.parametrize(
    ("row", "in_time", "status", "code"),
    [
        (Row(State.OFFERED, "ann"), False, 409, "offer_expired"),
        (Row(State.OFFERED, "bob"), True, 409, "not_offered"),
        (Row(State.QUEUED, None), False, 409, "not_offered"),  # expired and back in line
        (Row(State.AGENT, "bob", ACCEPTED), False, 409, "not_offered"),
        (Row(State.ABANDONED, "ann"), False, 409, "ended"),  # the customer left first
        (None, False, 404, "not_found"),
    ],
)
def test_an_accept_is_refused_unless_the_offer_is_theirs_and_in_time(
    row: Row | None, in_time: bool, status: int, code: str
) -> None:
    assert refusal(may_accept, ID, row, "ann", in_time) == (status, code)


def test_an_agent_writes_only_to_what_they_hold_and_has_not_ended() -> None:
    may_write(ID, Row(State.AGENT, "ann", ACCEPTED), "ann")
    assert refusal(may_write, ID, Row(State.AGENT, "bob", ACCEPTED), "ann") == (403, "not_yours")
    assert refusal(may_write, ID, Row(State.OFFERED, "ann"), "ann") == (403, "not_yours")
    assert refusal(may_write, ID, Row(State.RESOLVED, "ann", ACCEPTED), "ann") == (409, "ended")
    assert refusal(may_write, ID, None, "ann") == (404, "not_found")


def test_an_agent_reads_what_they_accepted_also_once_it_ended() -> None:
    may_read(ID, Row(State.RESOLVED, "ann", ACCEPTED), "ann")
    assert refusal(may_read, ID, Row(State.RESOLVED, "bob", ACCEPTED), "ann") == (403, "not_yours")


def test_resolving_twice_is_a_no_op_the_second_time() -> None:
    assert may_resolve(ID, Row(State.AGENT, "ann", ACCEPTED), "ann") is True
    assert may_resolve(ID, Row(State.RESOLVED, "ann", ACCEPTED), "ann") is False
    assert refusal(may_resolve, ID, Row(State.ABANDONED, "ann", ACCEPTED), "ann") == (409, "ended")
    assert refusal(may_resolve, ID, Row(State.AGENT, "bob", ACCEPTED), "ann") == (403, "not_yours")
