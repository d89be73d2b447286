"""What a load run did, counted as it happens (pure): conversations and how they ended, the
first answer of each tier against the service level, messages, latencies and the integrity
counters; a progress line, and the summary (a table and a JSON report)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from switchboard.dataplane.conversation import Sender
from switchboard.dataplane.loadgen.latency import Histogram
from switchboard.dataplane.loadgen.ledger import Ledger, Own, Shown

TIERS = ("bot", "agent")


@dataclass
class Visit:
    """One customer's conversation, timed from the customer's side."""

    started_at: float | None = None
    """When the gateway said the conversation started."""
    bot_wait: float | None = None
    """Start to the bot's first message."""
    agent_wait: float | None = None
    """The bot's last message (its handoff) to the agents tier's first (an agent joined)."""
    ended: str | None = None
    """How the gateway said it ended: resolved or abandoned; None while open."""
    _last_bot_at: float | None = None

    def shown(self, sender: Sender, at: float) -> None:
        if sender == "bot":
            if self.bot_wait is None and self.started_at is not None:
                self.bot_wait = at - self.started_at
            self._last_bot_at = at
        elif sender in ("agent", "system") and self.agent_wait is None:
            since = self._last_bot_at if self._last_bot_at is not None else self.started_at
            if since is not None:
                self.agent_wait = at - since


@dataclass
class _Tier:
    answered: int = 0
    within: int = 0


@dataclass
class Tally:
    within_seconds: float
    """The service level's answer time: a tier's first answer within it counts as in SLA."""
    started: int = 0
    finished: int = 0
    contained: int = 0
    handed_off: int = 0
    abandoned: int = 0
    unfinished: int = 0
    sent: int = 0
    resent: int = 0
    acknowledged: int = 0
    answered: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0
    reconnects: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    agent_events: Counter[str] = field(default_factory=Counter)
    reply_latency: Histogram = field(default_factory=Histogram)
    """A customer message sent to the bot's reply shown."""
    ack_latency: Histogram = field(default_factory=Histogram)
    """A customer message sent to its acknowledgement."""
    tiers: dict[str, _Tier] = field(default_factory=lambda: {tier: _Tier() for tier in TIERS})

    # --- as it happens ------------------------------------------------------------------

    def message_sent(self, *, again: bool) -> None:
        if again:
            self.resent += 1
        else:
            self.sent += 1

    def message_acknowledged(self, message: Own) -> None:
        self.acknowledged += 1
        if message.acknowledged_at is not None:
            self.ack_latency.add(message.acknowledged_at - message.sent_at)

    def message_shown(self, shown: Shown, at: float) -> None:
        for message in shown.answered:
            self.answered[shown.sender] += 1
            if shown.sender == "bot":
                self.reply_latency.add(at - message.sent_at)

    def conversation_started(self) -> None:
        self.started += 1

    def conversation_finished(
        self, visit: Visit, *, handed_off: bool, ledger: Ledger, lost: int
    ) -> None:
        """Counts a conversation once its customer is done with it; `lost` comes from
        `ledger.lost` against the stored transcript when something went unanswered."""
        self.finished += 1
        for tier, wait in (("bot", visit.bot_wait), ("agent", visit.agent_wait)):
            if wait is not None:
                self.tiers[tier].answered += 1
                self.tiers[tier].within += wait <= self.within_seconds
        if visit.ended is None:
            self.unfinished += 1
        elif visit.ended == "abandoned":
            self.abandoned += 1
        elif not handed_off:
            self.contained += 1
        self.handed_off += handed_off
        self.lost += lost
        self.duplicated += ledger.duplicated
        self.out_of_order += ledger.out_of_order

    # --- what it says -------------------------------------------------------------------

    def progress(self, elapsed: float, active: int) -> str:
        p50, p99 = (_ms(self.reply_latency.quantile(q)) for q in (0.5, 0.99))
        return (
            f"{elapsed:6.0f}s  active {active}  started {self.started}  "
            f"contained {self.contained}  handed off {self.handed_off}  "
            f"abandoned {self.abandoned}  messages {self.sent} sent {self.acknowledged} "
            f"acked {sum(self.answered.values())} answered  bot reply p50 {p50} p99 {p99}  "
            f"reconnects {self.reconnects}"
        )

    def report(self, elapsed: float) -> dict[str, Any]:
        """The summary, as the JSON report holds it."""
        answered = sum(self.answered.values())
        return {
            "elapsed_seconds": round(elapsed, 3),
            "conversations": {
                "started": self.started,
                "finished": self.finished,
                "contained": self.contained,
                "handed_off": self.handed_off,
                "abandoned": self.abandoned,
                "unfinished": self.unfinished,
            },
            "answered_within_sla": {
                tier: {
                    "answered": counts.answered,
                    "within": counts.within,
                    "share": round(counts.within / counts.answered, 4) if counts.answered else None,
                }
                for tier, counts in self.tiers.items()
            },
            "sla_seconds": self.within_seconds,
            "messages": {
                "sent": self.sent,
                "resent": self.resent,
                "acknowledged": self.acknowledged,
                "answered": answered,
                "answered_by": dict(self.answered),
                "answered_per_second": round(answered / elapsed, 2) if elapsed > 0 else None,
            },
            "latency_ms": {
                "bot_reply": _quantiles(self.reply_latency),
                "acknowledgement": _quantiles(self.ack_latency),
            },
            "lost_messages": self.lost,
            "duplicated_messages": self.duplicated,
            "out_of_order_messages": self.out_of_order,
            "reconnects": self.reconnects,
            "refusals": dict(self.refusals),
            "failures": dict(self.failures),
            "agents": dict(self.agent_events),
        }


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}ms"


def _quantiles(histogram: Histogram) -> dict[str, float | int | None]:
    def ms(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds * 1000, 1)

    return {
        "count": histogram.count,
        "p50": ms(histogram.quantile(0.5)),
        "p99": ms(histogram.quantile(0.99)),
        "mean": ms(histogram.mean),
    }


def summary_table(report: dict[str, Any]) -> str:
    """The report for people."""
    conversations, messages = report["conversations"], report["messages"]
    latency = report["latency_ms"]
    lines = [
        f"{'elapsed':<28}{report['elapsed_seconds']:.0f} s",
        "conversations",
        *(f"  {name.replace('_', ' '):<26}{count}" for name, count in conversations.items()),
        f"answered within {report['sla_seconds']:g} s",
    ]
    for tier, counts in report["answered_within_sla"].items():
        share = "-" if counts["share"] is None else f"{counts['share']:.1%}"
        lines.append(f"  {tier:<26}{counts['within']} of {counts['answered']} ({share})")
    lines.append("messages")
    for name in ("sent", "resent", "acknowledged", "answered", "answered_per_second"):
        lines.append(f"  {name.replace('_', ' '):<26}{messages[name]}")
    for name, title in (("bot_reply", "bot reply"), ("acknowledgement", "acknowledgement")):
        q = latency[name]
        figures = f"p50 {q['p50']} ms  p99 {q['p99']} ms  ({q['count']})"
        lines.append(f"{title + ' latency':<28}{figures}")
    for name in ("lost_messages", "duplicated_messages", "out_of_order_messages", "reconnects"):
        lines.append(f"{name.replace('_', ' '):<28}{report[name]}")
    for name in ("refusals", "failures", "agents"):
        if report[name]:
            counts = ", ".join(f"{key} {value}" for key, value in sorted(report[name].items()))
            lines.append(f"{name:<28}{counts}")
    return "\n".join(lines)
