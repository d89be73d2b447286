"""The example dialogue models (examples/models/), measured offline on their held-out corpus.

For each model: accuracy on the corpus utterances of its own intents (none is a training
example), containment and resolution with scripted customers (switchboard.dataplane.bot.
evaluation: one conversation per need utterance, 230 in all) at a grid of handoff settings
(the headline's with clarification too), why conversations were handed off, compile time and
time to rank one message.

    .venv/bin/python -m bench.bot_models [--quick]

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from switchboard.api.bot import Handoff
from switchboard.dataplane.bot.classifier import compile_model
from switchboard.dataplane.bot.corpus import parse_corpus
from switchboard.dataplane.bot.evaluation import accuracy, evaluate
from switchboard.dataplane.bot.model import parse_model
from switchboard.dataplane.wiring import HandoffPolicy, handoff_policy

MODELS = Path(__file__).resolve().parent.parent / "examples" / "models"
VERSIONS = ("1.0.0", "2.0.0")


def settings(
    threshold: float, margin: float, failed_turns: int, clarify: bool = False
) -> HandoffPolicy:
    return handoff_policy(
        Handoff(
            confidence_threshold=threshold,
            ambiguity_margin=margin,
            max_failed_turns=failed_turns,
            clarify=clarify,
        )
    )


HEADLINE = settings(0.6, 0.1, 2)
CLARIFYING = settings(0.6, 0.1, 2, clarify=True)
GRID = (
    settings(0.5, 0.1, 2),
    HEADLINE,
    settings(0.7, 0.1, 2),
    settings(0.6, 0.2, 2),
    settings(0.6, 0.1, 3),
    CLARIFYING,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bot_models", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the headline settings only")
    args = parser.parse_args()
    corpus = parse_corpus((MODELS / "telco-corpus.yaml").read_text(), "telco-corpus.yaml")
    summary: dict[str, dict[str, float]] = {}
    for version in VERSIONS:
        path = MODELS / f"telco-support-{version}.yaml"
        model = parse_model(path.read_text(), path.name)
        started = time.perf_counter()
        classifier = compile_model(model)
        compile_seconds = time.perf_counter() - started
        texts = [text for texts in corpus.utterances.values() for text in texts]
        started = time.perf_counter()
        for text in texts:
            classifier.rank(text)
        rank_ms = (time.perf_counter() - started) / len(texts) * 1000
        share, count = accuracy(classifier.rank, model, corpus)
        print(
            f"{model.name} {version}: {len(model.intents)} intents, compiled in "
            f"{compile_seconds:.2f} s, {rank_ms:.3f} ms to rank a message; held-out accuracy "
            f"{share:.3f} of {count}"
        )
        for policy in (HEADLINE,) if args.quick else GRID:
            result = evaluate(classifier.rank, model, policy, corpus)
            print(
                f"  threshold {policy.confidence_threshold} margin {policy.ambiguity_margin} "
                f"failed turns {policy.max_failed_turns}"
                f"{', clarifying' if policy.clarify else ''}: containment "
                f"{result.containment:.3f}, resolution {result.resolution:.3f} of "
                f"{len(result.played)}; handed off: {dict(sorted(result.reasons.items()))}"
            )
            if policy == HEADLINE:
                summary[version] = {
                    "accuracy": round(share, 3),
                    "containment": round(result.containment, 3),
                    "resolution": round(result.resolution, 3),
                    "rank_ms": round(rank_ms, 3),
                }
            if policy == CLARIFYING:
                summary[version] |= {
                    "containment_clarifying": round(result.containment, 3),
                    "resolution_clarifying": round(result.resolution, 3),
                }
    print(json.dumps({"settings": HEADLINE.__dict__, "models": summary}))


if __name__ == "__main__":
    main()
