"""A model measured on a corpus offline, with scripted customers (pure; docs/models.md,
"Measuring a model").

Each utterance of a need in the corpus opens one conversation. The customer says goodbye once the
bot answers with the intent they mean; after a wrong answer they say it did not help, and after
the bot's reply to that they put their need in other words (another utterance of it). Asked
"Did you mean ...?", they say yes or no, truthfully; asked to rephrase, they use another
utterance of their need. After `MAX_CUSTOMER_MESSAGES` they leave. Their messages are not
scored for sentiment: the corpus says what customers mean, not how they feel. The bot decides
every turn as it does live (`decide_turn`), so the figures are the ones its metrics would show
on that traffic: containment (conversations that ended with the bot, which counts a customer
who left after an answer) and resolution (contained after the right answer).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from switchboard.contract import Outcome
from switchboard.dataplane.bot.classifier import Ranking
from switchboard.dataplane.bot.corpus import GOODBYE, NOT_HELPFUL, Corpus
from switchboard.dataplane.bot.decision import Action, Memory, Reason, Understanding, decide_turn
from switchboard.dataplane.bot.model import DialogueModel
from switchboard.dataplane.wiring import HandoffPolicy

MAX_CUSTOMER_MESSAGES = 8
Rank = Callable[[str], Ranking]


@dataclass(frozen=True)
class Played:
    need: str
    outcome: Outcome
    resolved: bool
    """Contained after the bot answered what the customer meant."""
    reason: Reason | None
    """Why it was handed off."""
    messages: int
    """Customer messages it took."""


@dataclass(frozen=True)
class Evaluation:
    played: tuple[Played, ...]

    def share(self, predicate: Callable[[Played], bool]) -> float:
        return sum(1 for played in self.played if predicate(played)) / len(self.played)

    @property
    def containment(self) -> float:
        return self.share(lambda played: played.outcome == "contained")

    @property
    def resolution(self) -> float:
        return self.share(lambda played: played.resolved)

    @property
    def reasons(self) -> Counter[str]:
        return Counter(str(played.reason) for played in self.played if played.reason)


def play(
    rank: Rank,
    model: DialogueModel,
    policy: HandoffPolicy,
    corpus: Corpus,
    need: str,
    opening: str,
    rng: random.Random,
) -> Played:
    """One scripted conversation of a customer with `need` who opens with `opening`."""
    memory = Memory()
    helped = False
    complained = False
    message = stated = opening
    for sent in range(1, MAX_CUSTOMER_MESSAGES + 1):
        turn = decide_turn(message, None, Understanding(rank(message)), memory, policy, model)
        memory = turn.memory
        if turn.action is Action.HAND_OFF:
            return Played(need, "escalated", False, turn.reason, sent)
        if turn.action is Action.END or helped:
            # a goodbye the bot took as one, or one it did not: either way they leave happy
            return Played(need, "contained", helped, None, sent)
        if turn.action is Action.CONFIRM:
            message = "yes" if turn.intent == need else "no"
        elif turn.intent == need:
            helped = True
            message = rng.choice(corpus.utterances[GOODBYE])
        elif complained or turn.action is Action.REPHRASE:
            complained = False
            stated = rng.choice([text for text in corpus.utterances[need] if text != stated])
            message = stated
        else:
            complained = True
            message = rng.choice(corpus.utterances[NOT_HELPFUL])
    return Played(need, "contained", helped, None, MAX_CUSTOMER_MESSAGES)


def evaluate(
    rank: Rank, model: DialogueModel, policy: HandoffPolicy, corpus: Corpus, seed: int = 0
) -> Evaluation:
    """Every need utterance of the corpus played once, each with its own seeded customer."""
    return Evaluation(
        tuple(
            play(rank, model, policy, corpus, need, opening, random.Random(f"{seed}/{need}/{i}"))
            for need in corpus.needs
            for i, opening in enumerate(corpus.utterances[need])
        )
    )


def accuracy(rank: Rank, model: DialogueModel, corpus: Corpus) -> tuple[float, int]:
    """Share of the corpus's utterances of the model's intents whose top intent is right, and
    how many there were."""
    labelled = [
        (text, label)
        for label, texts in corpus.utterances.items()
        if label in model.intent_names
        for text in texts
    ]
    right = sum(1 for text, label in labelled if rank(text)[0][0] == label)
    return right / len(labelled), len(labelled)
