"""A connection's cursor: each message reaches the client once, in order, gaps filled first."""

import random

from hypothesis import given
from hypothesis import strategies as st

from switchboard.dataplane.gateway.cursor import Cursor, Next


def test_the_next_message_is_pushed_and_an_old_one_dropped() -> None:
    cursor = Cursor(position=3)
    assert cursor.next(4) is Next.PUSH
    assert cursor.next(3) is Next.DROP
    assert cursor.next(1) is Next.DROP


def test_a_message_beyond_the_next_needs_the_gap_filled_first() -> None:
    cursor = Cursor(position=3)
    assert cursor.next(5) is Next.FILL
    assert cursor.next(9) is Next.FILL


def test_the_clients_own_message_past_a_gap_is_not_pushed_back_and_closes_it_later() -> None:
    cursor = Cursor(position=2)
    cursor.has(4)  # the customer's message, acknowledged while the bot's seq 3 is on its way
    assert cursor.position == 2 and not cursor.complete
    assert cursor.next(4) is Next.DROP
    assert cursor.next(3) is Next.PUSH
    cursor.has(3)
    assert cursor.position == 4 and cursor.complete
    assert cursor.next(5) is Next.PUSH


def test_having_an_old_message_again_changes_nothing() -> None:
    cursor = Cursor(position=5)
    cursor.has(2)
    cursor.has(5)
    assert cursor == Cursor(position=5)


def _client_view(arrivals: list[int], own: set[int]) -> list[int]:
    """Plays deliveries arriving in `arrivals` order (repeats included) at a
    connection whose client owns `own`, filling a gap from the store up to the delivery's seq
    (at least that much is stored when it is delivered); returns the seqs pushed, in order."""
    cursor = Cursor()
    pushed: list[int] = []
    for seq in sorted(own):
        cursor.has(seq)
    for seq in arrivals:
        step = cursor.next(seq)
        if step is Next.PUSH:
            pushed.append(seq)
            cursor.has(seq)
        elif step is Next.FILL:
            for stored in range(cursor.position + 1, seq + 1):
                if cursor.next(stored) is not Next.DROP:
                    pushed.append(stored)
                    cursor.has(stored)
    return pushed


@given(
    last=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32),
    own_share=st.floats(min_value=0, max_value=0.5),
)
def test_whatever_the_order_and_repeats_every_message_is_pushed_once_in_order(
    last: int, seed: int, own_share: float
) -> None:
    draw = random.Random(seed)
    own = {seq for seq in range(1, last + 1) if draw.random() < own_share}
    arrivals = [seq for seq in range(1, last + 1) for _ in range(draw.randint(1, 2))]
    draw.shuffle(arrivals)
    pushed = _client_view(arrivals, own)
    assert pushed == sorted(set(range(1, last + 1)) - own)
