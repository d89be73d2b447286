"""The metrics contract (docs/metrics.md): the series the data plane and the simulator export and
the operator reads. Declared once here; whoever exports it builds its families with
`ContractMetrics`, whoever queries it uses the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from switchboard.sizing.workloads import Workload

Handler = Literal["bot", "agent"]
Outcome = Literal["contained", "escalated", "failed"]

HANDLERS: Mapping[Workload, Handler] = {"bot": "bot", "agents": "agent"}
"""The tier each workload serves, as the `handler` label names it."""

ARRIVED = "switchboard_contacts_arrived_total"
ANSWERED = "switchboard_contacts_answered_total"
ABANDONED = "switchboard_contacts_abandoned_total"
QUEUE_WAIT = "switchboard_queue_wait_seconds"
HANDLE_TIME = "switchboard_handle_time_seconds"
ROUTING_QUEUE_HANDLE_TIME = "switchboard_routing_queue_handle_time_seconds"
BOT_CONVERSATIONS = "switchboard_bot_conversations_total"
BOT_RESPONSE = "switchboard_bot_response_seconds"
BOT_ACTIVE_CONVERSATIONS = "switchboard_bot_active_conversations"
BOT_HANDOFFS = "switchboard_bot_handoffs_total"
CUSTOMER_SENTIMENT = "switchboard_customer_sentiment"
ABANDON_WAIT = "switchboard_abandon_wait_seconds"
RESOLVED = "switchboard_contacts_resolved_total"
REPEAT_CONTACTS = "switchboard_repeat_contacts_total"
SURVEY_RESPONSES = "switchboard_survey_responses_total"

WAIT_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)
HANDLE_BUCKETS = (10, 30, 60, 90, 120, 180, 240, 300, 450, 600, 900, 1200, 1800, 3600)
BOT_RESPONSE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 2.0, 5.0)
# VADER's compound score is in [-1, 1]; -0.05 and 0.05 are its authors' cutoffs for negative and
# positive, so the share of negative messages is one bucket.
SENTIMENT_BUCKETS = (-0.8, -0.6, -0.4, -0.2, -0.05, 0.05, 0.2, 0.4, 0.6, 0.8, 1.0)


def _family(counter_name: str) -> str:
    # prometheus_client appends `_total` to a counter's name itself.
    return counter_name.removesuffix("_total")


class ContractMetrics:
    """The contract's metric families in one registry, labelled for one contact center."""

    def __init__(self, contact_center: str, registry: CollectorRegistry) -> None:
        self.contact_center = contact_center
        center_channel = ("contact_center", "channel")
        self._arrived = Counter(
            _family(ARRIVED), "Contacts offered.", center_channel, registry=registry
        )
        self._answered = Counter(
            _family(ANSWERED),
            "Contacts answered, by the tier that answered (bot: first answer; agent: accept).",
            (*center_channel, "handler", "within_sla"),
            registry=registry,
        )
        self._abandoned = Counter(
            _family(ABANDONED),
            "Contacts that left while waiting for a tier's answer.",
            (*center_channel, "handler"),
            registry=registry,
        )
        self._abandon_wait = Histogram(
            ABANDON_WAIT,
            "How long a customer who abandoned had waited for the tier's answer.",
            (*center_channel, "handler"),
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._resolved = Counter(
            _family(RESOLVED),
            "Contacts resolved: by the bot (contained) or by an agent.",
            center_channel,
            registry=registry,
        )
        self._repeat_contacts = Counter(
            _family(REPEAT_CONTACTS),
            "Resolved contacts whose customer came back, on any channel, within the "
            "first-contact-resolution window (by the channel of the resolved contact).",
            center_channel,
            registry=registry,
        )
        self._survey_responses = Counter(
            _family(SURVEY_RESPONSES),
            "Answers to the survey on resolve: `csat` 1-5, `nps` 0-10.",
            (*center_channel, "survey", "score"),
            registry=registry,
        )
        self._queue_wait = Histogram(
            QUEUE_WAIT,
            "A tier's wait: arrival to the bot's first answer, handoff to an agent's accept.",
            (*center_channel, "handler"),
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self._handle_time = Histogram(
            HANDLE_TIME,
            "Time a tier spent on a contact.",
            (*center_channel, "handler"),
            buckets=HANDLE_BUCKETS,
            registry=registry,
        )
        self._routing_queue_handle_time = Histogram(
            ROUTING_QUEUE_HANDLE_TIME,
            "Agents' handle time by the spec.routing queue that took the contact.",
            ("contact_center", "queue"),
            buckets=HANDLE_BUCKETS,
            registry=registry,
        )
        self._bot_conversations = Counter(
            _family(BOT_CONVERSATIONS),
            "Conversations that left the bot, by outcome.",
            ("contact_center", "model_version", "outcome"),
            registry=registry,
        )
        self._bot_response = Histogram(
            BOT_RESPONSE,
            "A bot turn: customer message to stored answer.",
            ("contact_center", "model_version"),
            buckets=BOT_RESPONSE_BUCKETS,
            registry=registry,
        )
        self._bot_active = Gauge(
            BOT_ACTIVE_CONVERSATIONS,
            "Conversations of the bot track that started on the model version and are still "
            "with the bot, as the store holds them.",
            ("contact_center", "model_version", "track"),
            registry=registry,
        )
        self._bot_handoffs = Counter(
            _family(BOT_HANDOFFS),
            "Conversations the bot handed to the agents' queue, by reason.",
            (*center_channel, "reason"),
            registry=registry,
        )
        self._customer_sentiment = Histogram(
            CUSTOMER_SENTIMENT,
            "Sentiment of the customer messages the bot handled (VADER's compound score).",
            center_channel,
            buckets=SENTIMENT_BUCKETS,
            registry=registry,
        )

    def arrived(self, channel: str) -> None:
        self._arrived.labels(self.contact_center, channel).inc()

    def answered(self, channel: str, handler: Handler, wait_seconds: float, within: float) -> None:
        """A tier answered after `wait_seconds`; within the objective if at most `within`."""
        within_sla = "true" if wait_seconds <= within else "false"
        self._answered.labels(self.contact_center, channel, handler, within_sla).inc()
        self._queue_wait.labels(self.contact_center, channel, handler).observe(wait_seconds)

    def abandoned(self, channel: str, handler: Handler, waited_seconds: float) -> None:
        """A customer left after waiting `waited_seconds` for the tier's answer."""
        self._abandoned.labels(self.contact_center, channel, handler).inc()
        self._abandon_wait.labels(self.contact_center, channel, handler).observe(waited_seconds)

    def resolved(self, channel: str) -> None:
        self._resolved.labels(self.contact_center, channel).inc()

    def repeat_contact(self, channel: str) -> None:
        """A resolved contact of `channel` was not resolved at first contact: its customer came
        back within the window."""
        self._repeat_contacts.labels(self.contact_center, channel).inc()

    def handled(
        self, channel: str, handler: Handler, seconds: float, routing_queue: str | None = None
    ) -> None:
        """A tier finished with a contact; an agent's, where spec.routing declares queues, in
        the queue that took it ("" for none): the autoscaler sizes each queue's skill group
        from its share of these and its own handle time."""
        self._handle_time.labels(self.contact_center, channel, handler).observe(seconds)
        if routing_queue is not None:
            self._routing_queue_handle_time.labels(self.contact_center, routing_queue).observe(
                seconds
            )

    def routing_queues(self, queues: Iterable[str]) -> None:
        """Makes each routing queue's handle-time series exist at 0 before its first contact
        finishes, for the reason `bot_model` gives."""
        for queue in queues:
            self._routing_queue_handle_time.labels(self.contact_center, queue)

    def survey_response(self, channel: str, survey: str, score: int) -> None:
        self._survey_responses.labels(self.contact_center, channel, survey, str(score)).inc()

    def bot_outcome(self, model_version: str, outcome: Outcome) -> None:
        self._bot_conversations.labels(self.contact_center, model_version, outcome).inc()

    def bot_turn(self, model_version: str, seconds: float) -> None:
        self._bot_response.labels(self.contact_center, model_version).observe(seconds)

    def bot_model(self, model_version: str) -> None:
        """Makes the model version's outcome and latency series exist at 0, before anything is
        counted in them: Prometheus' increase() takes a series' first value as its start, so
        a count made before the first scrape would be lost to a canary's analysis."""
        for outcome in get_args(Outcome):
            self._bot_conversations.labels(self.contact_center, model_version, outcome)
        self._bot_response.labels(self.contact_center, model_version)

    def bot_active(self, track: str, model_version: str, conversations: int) -> None:
        self._bot_active.labels(self.contact_center, model_version, track).set(conversations)

    def bot_handoff(self, channel: str, reason: str) -> None:
        """The bot handed a conversation to the agents' queue."""
        self._bot_handoffs.labels(self.contact_center, channel, reason).inc()

    def customer_sentiment(self, channel: str, score: float) -> None:
        """The bot scored a customer message."""
        self._customer_sentiment.labels(self.contact_center, channel).observe(score)
