"""One conversation as its customer saw it, and whether the data plane kept its promises (pure).

The promises (docs/dataplane.md, "Sequence numbers, cursors and resume"): a message the gateway
acknowledged is stored under its seq, and every message is shown at most once, in seq order, on
a connection that resumed after the client's cursor. The ledger keeps:

- the client's cursor: the highest seq up to which it has every message, its own acknowledged
  ones included (what it resumes after);
- the cursor of the current connection, as the server must keep it: it starts at the `after`
  the client resumed with and moves with every message pushed and every acknowledgement. A
  message at or below it was sent twice (`duplicated`). A message may come past a gap only
  when the gap is the client's own message, stored but not acknowledged yet (its
  acknowledgement waits for the broker): a gap filled by anything else came out of order;
- what each seq and id was shown as: a seq shown with two ids, or an id under two seqs, is a
  duplicate in the store;
- the customer's own messages: when each was sent, acknowledged (its seq) and answered (a
  message of someone else shown after it). An acknowledged message that was never answered
  must at least be in the transcript; if it is not, or its seq holds another message, it is
  lost.

A message the client already has may come again after a resume (the server knows only the
cursor, not the own messages acknowledged past a gap): the client drops it silently, as the
web page does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from switchboard.dataplane.conversation import Sender
from switchboard.dataplane.gateway.cursor import Cursor


@dataclass
class Own:
    """A message of the customer's."""

    text: str
    sent_at: float
    seq: int | None = None
    acknowledged_at: float | None = None
    answered_at: float | None = None
    answered_by: Sender | None = None


@dataclass(frozen=True)
class Shown:
    """A message of someone else's, shown to the customer for the first time."""

    seq: int
    id: uuid.UUID
    sender: Sender
    text: str
    answered: tuple[Own, ...]
    """The customer's messages it is the first answer to."""


@dataclass
class Ledger:
    own: dict[uuid.UUID, Own] = field(default_factory=dict)
    seqs: dict[int, uuid.UUID] = field(default_factory=dict)
    """Every seq the customer has, with the id it was shown with."""
    duplicated: int = 0
    out_of_order: int = 0
    _client: Cursor = field(default_factory=Cursor)
    _connection: Cursor = field(default_factory=Cursor)
    _skipped: set[int] = field(default_factory=set)
    """Seqs the current connection passed over: only the client's own may fill them."""
    _ids: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def cursor(self) -> int:
        """What to resume after."""
        return self._client.position

    def outbox(self) -> list[uuid.UUID]:
        """The customer's messages not acknowledged yet, oldest first: to send again."""
        return [key for key, message in self.own.items() if message.seq is None]

    def connected(self, after: int) -> None:
        """A connection (or a read) starts: the server sends what follows `after`."""
        self._connection = Cursor(position=after)
        self._skipped = set()

    def sent(self, message_id: uuid.UUID, text: str, now: float) -> None:
        self.own.setdefault(message_id, Own(text, now))

    def acknowledged(self, message_id: uuid.UUID, seq: int, now: float) -> Own | None:
        """The gateway stored the customer's message under `seq`; the message, the first
        time."""
        message = self.own.get(message_id)
        if message is None:
            return None
        self._connection.has(seq)
        self._skipped.discard(seq)
        if message.seq is not None:
            if message.seq != seq:
                self.duplicated += 1  # one message stored twice
            return None
        message.seq, message.acknowledged_at = seq, now
        if self.seqs.get(seq, message_id) != message_id:
            self.duplicated += 1  # its seq was shown holding another message
        else:
            self._take(seq, message_id)
        return message

    def received(
        self, seq: int, message_id: uuid.UUID, sender: Sender, text: str, now: float
    ) -> Shown | None:
        """A message frame (or an item of a read); what to show, the first time."""
        if self._connection.holds(seq):
            self.duplicated += 1
            return None
        if seq in self._skipped:
            self.out_of_order += 1
            self._skipped.discard(seq)
        first_missing = self._connection.position + 1
        self._skipped.update(
            missing for missing in range(first_missing, seq) if not self._connection.holds(missing)
        )
        self._connection.has(seq)
        known = self.seqs.get(seq)
        if known is not None:
            if known != message_id:
                self.duplicated += 1
            return None  # it has it: sent again after a resume
        if self._ids.get(message_id, seq) != seq:
            self.duplicated += 1
            return None
        self._take(seq, message_id)
        if sender == "customer":
            return None  # its own (after a resume), or another device's
        answered = []
        for message in self.own.values():
            if message.seq is not None and message.seq < seq and message.answered_at is None:
                message.answered_at, message.answered_by = now, sender
                answered.append(message)
        return Shown(seq, message_id, sender, text, tuple(answered))

    def _take(self, seq: int, message_id: uuid.UUID) -> None:
        self.seqs[seq] = message_id
        self._ids[message_id] = seq
        self._client.has(seq)

    def record(self) -> dict[str, list[tuple[int, str]]]:
        """What was acknowledged and what was shown, as (seq, id): to check against the store."""
        return {
            "acknowledged": sorted(
                (m.seq, str(key)) for key, m in self.own.items() if m.seq is not None
            ),
            "shown": sorted((seq, str(key)) for seq, key in self.seqs.items()),
        }

    def unanswered(self) -> list[Own]:
        """Acknowledged messages no one answered: the transcript must hold them."""
        return [m for m in self.own.values() if m.seq is not None and m.answered_at is None]

    def lost(self, transcript: Iterable[tuple[int, uuid.UUID]] | None = None) -> int:
        """Acknowledged messages that are neither answered nor in `transcript` (the
        conversation's messages as the store has them, read at the end), or whose seq was
        shown holding another message."""
        stored = dict(transcript or ())

        def kept(message_id: uuid.UUID, message: Own) -> bool:
            if message.seq is None or self.seqs.get(message.seq) != message_id:
                return False
            return message.answered_at is not None or stored.get(message.seq) == message_id

        return sum(
            1
            for message_id, message in self.own.items()
            if message.seq is not None and not kept(message_id, message)
        )
