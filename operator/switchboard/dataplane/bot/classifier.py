"""An intents model compiled into a classifier (pure; docs/models.md, "How a model is compiled").

Features: TF-IDF of words (1-2 grams) and of characters within words (2-5 grams), so a typo
or an unseen inflection still shares most of its features with the examples. Classifier: a
linear support vector machine whose scores become probabilities by temperature scaling fitted
on cross-validation folds (scikit-learn's `CalibratedClassifierCV`), so a confidence of 0.8
means about 8 answers in 10 are right on text like the examples.

Calibration needs every intent on both sides of each split: with fewer than
`MIN_CALIBRATION_FOLDS` examples in some intent, the model falls back to a logistic
regression's own probabilities, which are under-confident on so little data (the bot hands off
more rather than answer wrongly).

scikit-learn fits; the bot serves the fitted parameters itself (vocabularies, IDF weights, the
linear model, the temperature): scikit-learn's per-call input checks cost milliseconds on one
short text, the arithmetic microseconds. `compile_model` checks on every example that both
give the same probabilities, so a scikit-learn that computes differently fails loudly at load.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from switchboard.dataplane.bot.model import DialogueModel

Ranking = tuple[tuple[str, float], ...]
"""Intents with their confidences, most likely first; the confidences sum to 1."""

CALIBRATION_FOLDS = 5
MIN_CALIBRATION_FOLDS = 3
SEED = 0  # the same model always compiles to the same classifier
AGREEMENT = 1e-6  # how close the served probabilities must be to scikit-learn's


@dataclass(frozen=True)
class _Features:
    """One TF-IDF vectorizer's fitted parameters (sublinear term frequency, l2 norm)."""

    analyze: Callable[[str], list[str]]
    columns: Mapping[str, int]
    idf: NDArray[np.float64]
    weights: NDArray[np.float64]
    """Rows: this vectorizer's features; columns: the intents' logits."""

    def logits(self, text: str) -> NDArray[np.float64]:
        counts = Counter(term for term in self.analyze(text) if term in self.columns)
        if not counts:
            return np.zeros(self.weights.shape[1])
        # numpy's own loops over the terms, not Python's: this is most of a turn's ranking
        size = len(counts)
        columns = np.fromiter(map(self.columns.__getitem__, counts), np.intp, size)
        values = np.log(np.fromiter(counts.values(), np.float64, size))
        values += 1.0
        values *= self.idf[columns]
        values /= math.sqrt(values @ values)
        result: NDArray[np.float64] = values @ self.weights[columns]
        return result


@dataclass(frozen=True)
class IntentClassifier:
    intents: tuple[str, ...]
    features: tuple[_Features, ...]
    bias: NDArray[np.float64]
    temperature: float
    """Logits are multiplied by it before the softmax."""
    calibrated: bool
    """False when some intent had too few examples to calibrate (the fallback)."""

    def probabilities(self, text: str) -> NDArray[np.float64]:
        logits = self.bias + sum(part.logits(text) for part in self.features)
        scaled = self.temperature * logits
        scaled -= scaled.max()
        exponentials = np.exp(scaled)
        result: NDArray[np.float64] = exponentials / exponentials.sum()
        return result

    def rank(self, text: str) -> Ranking:
        probabilities = self.probabilities(text)
        order = np.argsort(-probabilities, kind="stable")
        return tuple((self.intents[i], float(probabilities[i])) for i in order)


def compile_model(model: DialogueModel) -> IntentClassifier:
    """Fits the classifier of an intents model (CPU-bound: a fraction of a second for a few
    hundred examples)."""
    pipeline, calibrated = fit(model)
    classifier = served(pipeline, calibrated)
    _check_agreement(classifier, pipeline, [e for intent in model.intents for e in intent.examples])
    return classifier


def fit(model: DialogueModel) -> tuple[Pipeline, bool]:
    """scikit-learn's pipeline fitted on the model's examples, and whether it is calibrated."""
    texts = [example for intent in model.intents for example in intent.examples]
    labels = [intent.name for intent in model.intents for _ in intent.examples]
    folds = min(CALIBRATION_FOLDS, *Counter(labels).values())
    calibrated = folds >= MIN_CALIBRATION_FOLDS
    estimator: Any
    if calibrated:
        estimator = CalibratedClassifierCV(
            LinearSVC(C=1.0, random_state=SEED),
            method="temperature",
            ensemble=False,  # one classifier fitted on every example, one temperature
            cv=StratifiedKFold(folds, shuffle=True, random_state=SEED),
        )
    else:
        estimator = LogisticRegression(C=10.0, max_iter=5000)
    pipeline = Pipeline([("features", _vectorizers()), ("classifier", estimator)])
    pipeline.fit(texts, labels)
    return pipeline, calibrated


def _vectorizers() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", _tfidf(analyzer="word", ngram_range=(1, 2))),
            ("characters", _tfidf(analyzer="char_wb", ngram_range=(2, 5))),
        ]
    )


def _tfidf(**options: Any) -> TfidfVectorizer:
    # _Features.logits computes exactly this transform: change both together.
    return TfidfVectorizer(sublinear_tf=True, strip_accents="unicode", norm="l2", **options)


def served(pipeline: Pipeline, calibrated: bool) -> IntentClassifier:
    """The fitted pipeline's parameters, as the classifier serves them."""
    fitted: Any = pipeline.named_steps["classifier"]
    if calibrated:
        # ensemble=False: one (classifier, temperature) pair, fitted on cross-validated scores
        pair = fitted.calibrated_classifiers_[0]
        linear, temperature = pair.estimator, float(pair.calibrators[0].beta_)
        # With two intents, the temperature applies to the logits (-score, score).
        binary_scale = 2.0
    else:
        linear, temperature, binary_scale = fitted, 1.0, 1.0
    coefficients = np.asarray(linear.coef_, dtype=np.float64)
    intercepts = np.asarray(linear.intercept_, dtype=np.float64)
    if coefficients.shape[0] == 1:  # two intents: one score, for the second
        coefficients = np.vstack([np.zeros_like(coefficients), coefficients])
        intercepts = np.concatenate([[0.0], intercepts])
        temperature *= binary_scale
    parts = []
    offset = 0
    for _, vectorizer in pipeline.named_steps["features"].transformer_list:
        size = len(vectorizer.vocabulary_)
        parts.append(
            _Features(
                analyze=vectorizer.build_analyzer(),
                columns=dict(vectorizer.vocabulary_),
                idf=np.asarray(vectorizer.idf_, dtype=np.float64),
                weights=coefficients[:, offset : offset + size].T.copy(),
            )
        )
        offset += size
    intents = tuple(str(name) for name in fitted.classes_)
    return IntentClassifier(intents, tuple(parts), intercepts, temperature, calibrated)


def _check_agreement(classifier: IntentClassifier, pipeline: Pipeline, texts: list[str]) -> None:
    expected = pipeline.predict_proba(texts)
    served = np.array([classifier.probabilities(text) for text in texts])
    difference = float(np.abs(expected - served).max())
    if difference > AGREEMENT:
        raise RuntimeError(
            f"the served classifier's probabilities differ from scikit-learn's by {difference}: "
            "scikit-learn changed how it computes them; update classifier.py"
        )
