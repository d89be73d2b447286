"""What a load-generator customer says and does next, given what it was shown (pure).

A customer comes with a need from the corpus (any labelled utterance of a need, so needs come as
often as the corpus has words for them) and opens with that utterance. Then, as the scripted
customers of the models' evaluation (docs/models.md, "Measuring a model"):

- a bot reply that answers the need: they say goodbye, and leave once the bot answered that;
- a reply that does not (another intent, a "please rephrase"): they say it did not help, and
  after the bot's answer to that they put the need in other words; after
  `MAX_CUSTOMER_MESSAGES` messages to the bot they give up and leave;
- the bot's handoff message: they wait for a person;
- with a person: the workspace's notice that an agent joined, then the agent's greeting, to
  which they restate their need; to the agent's answer they say thanks; then they wait for the
  agent to resolve (another notice) and leave.

How long they think before each message and how long they wait for any answer (their patience)
are drawn by the caller; this module only decides what comes next.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from switchboard.dataplane.bot.corpus import GOODBYE, NOT_HELPFUL, Corpus
from switchboard.dataplane.bot.evaluation import MAX_CUSTOMER_MESSAGES
from switchboard.dataplane.conversation import Sender
from switchboard.dataplane.loadgen.answers import Answers, Kind


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Wait:
    """Nothing to say: wait for the next message (while patience lasts)."""


@dataclass(frozen=True)
class Leave:
    """End the conversation."""


Move = Say | Wait | Leave


def choose_need(corpus: Corpus, rng: random.Random) -> tuple[str, str]:
    """A need and the utterance a customer opens with, drawn over every need utterance."""
    utterances = [(need, text) for need in corpus.needs for text in corpus.utterances[need]]
    return rng.choice(utterances)


@dataclass
class Script:
    corpus: Corpus
    answers: Answers
    need: str
    stated: str
    """How the customer last put their need."""
    rng: random.Random
    to_bot: int = 0
    """Messages said to the bot."""
    complained: bool = False
    said_goodbye: bool = False
    handed_off: bool = False
    agent_joined: bool = False
    to_agent: int = 0

    def opening(self) -> Say:
        self.to_bot = 1
        return Say(self.stated)

    def shown(self, sender: Sender, text: str) -> Move:
        """What to do about a message of someone else."""
        if sender == "bot":
            return self._bot(text)
        if sender == "system":
            return self._notice()
        if sender == "agent":
            return self._agent()
        return Wait()

    def _bot(self, text: str) -> Move:
        reading = self.answers.read(text)
        if reading.kind is Kind.HANDOFF:
            self.handed_off = True
            return Wait()
        if self.handed_off or reading.kind is Kind.GOODBYE or self.said_goodbye:
            return Leave()
        if self.to_bot >= MAX_CUSTOMER_MESSAGES:
            return Leave()
        self.to_bot += 1
        if reading.helps_with(self.need):
            self.said_goodbye = True
            return Say(self.rng.choice(self.corpus.utterances[GOODBYE]))
        if self.complained:
            self.complained = False
            others = [text for text in self.corpus.utterances[self.need] if text != self.stated]
            self.stated = self.rng.choice(others)
            return Say(self.stated)
        self.complained = True
        return Say(self.rng.choice(self.corpus.utterances[NOT_HELPFUL]))

    def _notice(self) -> Move:
        """The workspace's notices: an agent joined, then the agent resolved it."""
        if self.agent_joined:
            return Leave()
        self.handed_off = self.agent_joined = True
        return Wait()

    def _agent(self) -> Move:
        self.handed_off = self.agent_joined = True
        self.to_agent += 1
        if self.to_agent == 1:
            others = [text for text in self.corpus.utterances[self.need] if text != self.stated]
            self.stated = self.rng.choice(others)
            return Say(self.stated)
        if self.to_agent == 2:
            return Say(self.rng.choice(self.corpus.utterances[GOODBYE]))
        return Wait()
