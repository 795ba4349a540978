"""The learned reranker: a linear model over generic features of the first stage's top sections.

Nothing here names a word, a page or a section: every feature is a score, a share, a rank, a length
or a page-level aggregate, so the weights carry over to an edited handbook or another organisation's.
The weights are plain data (``indexer/rerank.json``), refitted by ``make train`` on the team's
cross-validation folds (``benchmarks/quality``); ``fit_model`` is the fitting code.

Shapes: ``C`` candidates, ``F = len(FEATURES)``; ``candidate_features`` -> (C, F) float array.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from indexer.model import Section
from indexer.query import ParsedQuery

MODEL_PATH = Path(__file__).resolve().parent / "rerank.json"
FIELDS = ("title", "body", "passage", "example", "example_doc", "coverage", "heading", "specific", "approved")
STATIC = ("log_chars", "level", "is_faq", "is_page_top", "has_examples")
FEATURES = (
    "first", "first_rel", "first_gap", "log_rank", *FIELDS, "definition", *(f"ask_{f}" for f in FIELDS),
    *(f"post_ask_{f}" for f in ("body", "passage", "example", "coverage")), *STATIC,
    "page_max_rel", "page_share", "page_best", "page_title", "page_example", "log_query_terms",
)


# Scores against the questions approved from use alone (also in ``example``): weighted on top of a model fitted
# without them (``fit_added_features``), so an index without approved questions ranks as that model does.
APPROVED_FEATURES = ("approved", "ask_approved")


def static_features(sections: list[Section], page_starts: np.ndarray) -> np.ndarray:
    """(n, len(STATIC) - 1) section features that no question changes (has_examples is added at query
    time from the ranker's example counts)."""
    tops = set(int(i) for i in page_starts)
    rows = [(math.log1p(sum(len(line) for line in s.lines)), float(min(s.level, 4)), float(s.kind == "faq"),
             float(i in tops)) for i, s in enumerate(sections)]
    return np.asarray(rows, dtype=np.float64).reshape(len(sections), 4)


PER_SECTION = (*FIELDS, "definition", *(f"ask_{f}" for f in FIELDS))   # FEATURES read off ``fields`` as they are
POST_ASK = ("body", "passage", "example", "coverage")                    # ... and as ask minus whole post
_ASK_ROWS = [PER_SECTION.index(f"ask_{f}") for f in POST_ASK]
_POST_ROWS = [PER_SECTION.index(f) for f in POST_ASK]


def candidate_features(ranker, query: ParsedQuery, fields: dict[str, np.ndarray], first: np.ndarray,
                       cand: np.ndarray) -> np.ndarray:
    """(C, F) features of candidate rows ``cand`` (best first by ``first``), filled block by block: the
    rank features, one gather of the (K, n) field scores (``PER_SECTION``), the static features, the page
    aggregates."""
    c = len(cand)
    out = np.empty((c, len(FEATURES)))
    if not c:
        return out
    top = max(float(first[cand[0]]), 1e-9)
    multi = float(len(query.ask) < len(query.sentences))
    scored = first[cand]
    out[:, 0], out[:, 1], out[:, 2] = scored, scored / top, top - scored
    out[:, 3] = np.log1p(np.arange(c, dtype=np.float64))
    picked = np.array([fields[name] for name in PER_SECTION]).take(cand, axis=1)   # (K, C)
    k = 4 + len(PER_SECTION)
    out[:, 4:k] = picked.T
    out[:, k:k + len(POST_ASK)] = (multi * (picked[_ASK_ROWS] - picked[_POST_ROWS])).T
    k += len(POST_ASK)
    static = ranker.static.shape[1]
    out[:, k:k + static] = ranker.static[cand]
    out[:, k + static] = ranker.example_count[cand] > 0
    _page_features(out[:, k + static + 1:-1], ranker, fields, first, cand, top)
    out[:, -1] = math.log1p(len(query.terms))
    return out


def _page_features(out: np.ndarray, ranker, fields: dict[str, np.ndarray], first: np.ndarray, cand: np.ndarray,
                   top: float) -> None:
    """Into ``out`` (C, 5): the candidate's page's best first-stage score relative to the top, the page's
    share of the best page's total, whether the candidate is its page's best, the page's best title and
    example scores."""
    starts, pages = ranker.page_starts, ranker.page_of[cand]
    page_max = np.maximum.reduceat(first, starts)[pages]
    page_sum = np.add.reduceat(first, starts)
    out[:, 0] = page_max / top
    out[:, 1] = page_sum[pages] / max(float(page_sum.max()), 1e-9)
    out[:, 2] = first[cand] >= page_max
    out[:, 3] = np.maximum.reduceat(fields["title"], starts)[pages]
    out[:, 4] = np.maximum.reduceat(fields["example"], starts)[pages]


def load_model(path: str | Path = MODEL_PATH) -> dict | None:
    """The stored weights, or None when the file is absent or was fitted on other features."""
    path = Path(path)
    if not path.is_file():
        return None
    model = json.loads(path.read_text(encoding="utf-8"))
    if tuple(model.get("features", ())) != FEATURES:
        return None
    return {"features": list(FEATURES), "mean": np.asarray(model["mean"], dtype=np.float64),
            "scale": np.asarray(model["scale"], dtype=np.float64), "coef": np.asarray(model["coef"], dtype=np.float64),
            "intercept": float(model["intercept"]), "fitted": model.get("fitted", {})}


def logits(model: dict, features: np.ndarray) -> np.ndarray:
    """Linear scores (C,) of candidate features (C, F): log-odds that a candidate answers the question."""
    return ((features - model["mean"]) / model["scale"]) @ model["coef"] + model["intercept"]


def fit_model(features: np.ndarray, labels: np.ndarray, c: float = 1.0, fitted: dict | None = None) -> dict:
    """Pointwise logistic regression (scikit-learn) on standardised features -> model dict."""
    from sklearn.linear_model import LogisticRegression

    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    scale[scale < 1e-9] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit((features - mean) / scale, labels)
    return {"features": list(FEATURES), "mean": mean, "scale": scale, "coef": clf.coef_[0].astype(np.float64),
            "intercept": float(clf.intercept_[0]), "fitted": dict(fitted or {})}


def _listwise_loss(xs: list[np.ndarray], labels: list[np.ndarray], offsets: list, l2: float):
    """The L2-penalised negative log-likelihood of a softmax per question over its candidates' scores
    ``offsets[i] + xs[i] @ w`` (right candidates' share of ``labels``), and its gradient: w -> (loss, grad)."""
    ys = [y / y.sum() for y in labels]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for x, y, z0 in zip(xs, ys, offsets):
            z = z0 + x @ w
            z = z - z.max()
            p = np.exp(z)
            p /= p.sum()
            total -= float(y @ np.log(p + 1e-300))
            grad = grad + x.T @ (p - y)
        return total, grad

    return loss


def fit_listwise(features: list[np.ndarray], labels: list[np.ndarray], l2: float = 1.0,
                 fitted: dict | None = None) -> dict:
    """Listwise linear model (a conditional logit): per question, a softmax over its candidates' scores,
    maximising the probability of its right candidates; L2-penalised, fitted with L-BFGS (scipy) on
    standardised features -> model dict (the intercept is 0: it cannot change an order)."""
    from scipy.optimize import minimize

    stacked = np.vstack(features)
    mean = stacked.mean(axis=0)
    scale = stacked.std(axis=0)
    scale[scale < 1e-9] = 1.0
    xs = [(x - mean) / scale for x in features]
    loss = _listwise_loss(xs, labels, [0.0] * len(xs), l2)
    res = minimize(loss, np.zeros(stacked.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return {"features": list(FEATURES), "mean": mean, "scale": scale, "coef": res.x.astype(np.float64),
            "intercept": 0.0, "fitted": dict(fitted or {}, method="listwise", l2=l2)}


def fit_added_features(features: list[np.ndarray], labels: list[np.ndarray], base: dict, added: tuple[str, ...],
                       l2: float = 1.0, fitted: dict | None = None) -> dict:
    """``base`` with weights for the ``added`` features (its own weights for them are ignored), fitted
    listwise as ``fit_listwise`` with every other weight held at ``base``'s: the added features can only
    re-order what they are non-zero for. Their mean is 0, so a candidate whose added features are 0 (an
    index without what they measure) scores exactly as under ``base`` -> model dict."""
    from scipy.optimize import minimize

    cols = np.array([FEATURES.index(name) for name in added])
    fixed = np.ones(len(FEATURES), dtype=bool)
    fixed[cols] = False
    stacked = np.vstack(features)
    scale = stacked[:, cols].std(axis=0)
    scale[scale < 1e-9] = 1.0
    mean, full_scale = base["mean"].copy(), base["scale"].copy()
    mean[cols], full_scale[cols] = 0.0, scale
    offsets = [((x - mean) / full_scale)[:, fixed] @ base["coef"][fixed] for x in features]
    loss = _listwise_loss([x[:, cols] / scale for x in features], labels, offsets, l2)
    res = minimize(loss, np.zeros(len(cols)), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    coef = base["coef"].copy()
    coef[cols] = res.x
    return {"features": list(FEATURES), "mean": mean, "scale": full_scale, "coef": coef.astype(np.float64),
            "intercept": base["intercept"], "fitted": dict(base.get("fitted", {}), **(fitted or {}))}


def save_model(model: dict, path: str | Path = MODEL_PATH) -> None:
    data = {"features": list(model["features"]), "intercept": round(float(model["intercept"]), 6),
            "coef": [round(float(x), 6) for x in model["coef"]], "mean": [round(float(x), 6) for x in model["mean"]],
            "scale": [round(float(x), 6) for x in model["scale"]], "fitted": model.get("fitted", {})}
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
