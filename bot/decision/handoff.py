"""The hand-off model: probability that the handbook answers a question with the section the bot leads
with, and the two thresholds that turn it into a reply tier (framework-free; no scikit-learn at run time).

    p = 1 / (1 + exp(-(intercept + Σ coef_i * (x_i - mean_i) / scale_i)))      x = Evidence (FEATURES)
    p >= answer_at        -> "answer"   (confident: the card leads with the section)
    p >= handoff_below    -> "unsure"   (closest sections + the hand-off to DAPA in the same card)
    otherwise             -> "handoff"  (nothing relevant: DAPA only)

A channel post (several sentences, ``Query.is_post``) has its own pair of thresholds
(``post_answer_at``, ``post_handoff_below``): the same probability means a different risk of a wrong
answer for a 60-word post than for a 5-word question, and each pair is chosen on its own style.

The parameters are data (``params.json`` beside this file), written by ``make train``
(``python -m benchmarks.quality.handoff --write``): a logistic regression fitted on the train sets'
cross-validated search results, the thresholds picked by cross-validation. ``HandoffModel.load`` checks
the file; the bot never starts with a model that does not match the features it computes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bot.decision.evidence import FEATURES, Evidence
from bot.decision.kinds import Kind

DEFAULT_PATH = Path(__file__).with_name("params.json")


class HandoffModelError(ValueError):
    """The parameters file is missing, unreadable, or does not match this code's features."""


@dataclass(frozen=True)
class HandoffModel:
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    answer_at: float          # p at or above: answer
    handoff_below: float      # p below: hand-off (between the two: unsure)
    post_answer_at: float | None = None       # the same two for a channel post (None: as above)
    post_handoff_below: float | None = None
    fitted: dict = field(default_factory=dict, compare=False)   # how and on what it was fitted (provenance)

    def probability(self, evidence: Evidence) -> float:
        """P(the handbook answers the question with the top hit), in [0, 1]."""
        z = self.intercept
        for name, m, s, c in zip(self.features, self.mean, self.scale, self.coef):
            z += c * (evidence.values[name] - m) / s
        if z < -35:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def thresholds(self, is_post: bool = False) -> tuple[float, float]:
        """(answer_at, handoff_below) for a short question or a channel post."""
        if is_post and self.post_answer_at is not None and self.post_handoff_below is not None:
            return self.post_answer_at, self.post_handoff_below
        return self.answer_at, self.handoff_below

    def tier(self, p: float, is_post: bool = False) -> Kind:
        """``Kind.ANSWER`` | ``UNSURE`` | ``HANDOFF`` for a probability from ``probability``."""
        answer_at, handoff_below = self.thresholds(is_post)
        if p >= answer_at:
            return Kind.ANSWER
        return Kind.UNSURE if p >= handoff_below else Kind.HANDOFF

    # ------------------------------------------------------------------ data
    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "answer_at": self.answer_at,
                "handoff_below": self.handoff_below, "post_answer_at": self.post_answer_at,
                "post_handoff_below": self.post_handoff_below, "fitted": self.fitted}

    @classmethod
    def from_json(cls, data: dict) -> HandoffModel:
        try:
            names = tuple(data["features"])
            model = cls(names, tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                        tuple(map(float, data["coef"])), float(data["intercept"]), float(data["answer_at"]),
                        float(data["handoff_below"]), _optional(data.get("post_answer_at")),
                        _optional(data.get("post_handoff_below")), dict(data.get("fitted") or {}))
        except (KeyError, TypeError, ValueError) as exc:
            raise HandoffModelError(f"hand-off parameters malformed: {exc}") from None
        unknown = set(names) - set(FEATURES)
        if unknown or not (len(names) == len(model.mean) == len(model.scale) == len(model.coef)):
            raise HandoffModelError(f"hand-off parameters do not match the evidence features (unknown: "
                                    f"{sorted(unknown)}); refit them: make train")
        post = model.thresholds(is_post=True)
        if any(s <= 0 for s in model.scale) or not 0 <= model.handoff_below <= model.answer_at <= 1 \
                or not 0 <= post[1] <= post[0] <= 1:
            raise HandoffModelError("hand-off parameters out of range (scale > 0, 0 <= handoff_below <= "
                                    "answer_at <= 1); refit them: make train")
        return model

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> HandoffModel:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise HandoffModelError(f"cannot read hand-off parameters {path}: {exc}") from None
        return cls.from_json(data)

    def save(self, path: str | Path = DEFAULT_PATH) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")


def _optional(value) -> float | None:
    return None if value is None else float(value)


@lru_cache(maxsize=1)
def default_model() -> HandoffModel:
    """The shipped parameters (``params.json``), read once."""
    return HandoffModel.load(DEFAULT_PATH)
