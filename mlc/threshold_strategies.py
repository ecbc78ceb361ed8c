"""Threshold strategies: how scores become decisions, fitted on one split and scored on another.

:data:`STRATEGIES` is a :class:`mlc.registry.Registry`, name -> :class:`Strategy`.
Each strategy declares its parameters once as :class:`mlc.loss_params.ParamSpec`
(default, range, help, hint), and ``strategy.fit(y_val, p_val, **params)``
returns a :class:`DecisionRule`. Shapes: ``y`` and ``p`` are ``(N, C)``; a rule's

* ``decide(p)`` -> ``(N, C)`` bools: the sure *yes* decisions;
* ``unsure(p)`` -> ``(N, C)`` bools: the uncertain band's "unsure" cells (all
  False for every other strategy); a cell is never both;
* ``states(p)`` -> ``(N, C)`` array of :class:`mlc.states.DecisionState`.

Ties in a ranking (top-k, "at least one", MCut) go to the lower tag index
(a stable sort), so the decisions never depend on float noise in the sort.

>>> rule = STRATEGIES["mcut"].fit([[1, 1, 0, 0]], [[0.9, 0.8, 0.2, 0.1]])
>>> rule.decide(np.array([[0.9, 0.8, 0.2, 0.1]])).tolist()
[[True, True, False, False]]
>>> STRATEGIES["top_k"].fit([[1, 0]], [[0.5, 0.5]], k=1).decide(np.array([[0.5, 0.5]])).tolist()
[[True, False]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlc import checks
from mlc.confusion import check_scores, positives, precision_recall_f1, ranking, ratio, tag_names
from mlc.loss_params import ParamSpec
from mlc.registry import Registry
from mlc.states import DecisionState

__all__ = ["STRATEGIES", "DecisionRule", "Strategy", "score_rule", "split_in_two", "tuned_vs_test"]


# ---------------------------------------------------------------- decision rules
@dataclass(frozen=True, eq=False)
class DecisionRule:
    """A fitted strategy: ``name``, its checked ``params`` and how it decides.

    ``thresholds`` (C,) is set for the rules that are one cut per tag (predict
    ``p >= t``); ``k`` for top-k; ``band`` ``(lo, hi)`` for the uncertain band;
    ``at_least_one`` keeps each image's top tag; ``mcut`` cuts at the largest gap.
    ``notes`` holds per-tag remarks from fitting (e.g. a precision not reached).

    >>> r = DecisionRule("fixed_global", {"t": 0.5}, thresholds=np.array([0.5, 0.5]))
    >>> [str(s) for s in r.states(np.array([[0.7, 0.2]]))[0]]
    ['yes', 'no']
    """

    name: str
    params: dict[str, Any]
    thresholds: np.ndarray | None = None
    k: int | None = None
    band: tuple[float, float] | None = None
    at_least_one: bool = False
    mcut: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: ``strategy``, ``params`` and the fitted per-tag ``thresholds`` (None if it has none).

        >>> DecisionRule("top_k", {"k": 2}, k=2).to_dict()
        {'strategy': 'top_k', 'params': {'k': 2}, 'thresholds': None}
        """
        thr = None if self.thresholds is None else [round(float(t), 6) for t in self.thresholds]
        return {"strategy": self.name, "params": dict(self.params), "thresholds": thr}

    def _check(self, p: Any) -> np.ndarray:
        arr = np.asarray(p, dtype=np.float64)
        if arr.ndim != 2:
            raise ValueError(f"p must be 2-D with shape (n_images, n_tags), got shape {arr.shape}")
        if self.thresholds is not None and arr.shape[1] != self.thresholds.shape[0]:
            raise ValueError(
                f"p must have {self.thresholds.shape[0]} tags (the rule was fitted on that many), got {arr.shape[1]}"
            )
        return arr

    def decide(self, p: Any) -> np.ndarray:
        """(N, C) bools: the sure yes decisions for scores ``p`` (N, C)."""
        p = self._check(p)
        if self.k is not None:
            return _top(p, np.full(p.shape[0], min(self.k, p.shape[1])))
        if self.mcut:
            return _top(p, _mcut_counts(p))
        if self.band is not None:
            return p >= self.band[1]
        yes = p >= self.thresholds
        if self.at_least_one:
            yes |= _top(p, np.ones(p.shape[0], dtype=np.int64))
        return yes

    def unsure(self, p: Any) -> np.ndarray:
        """(N, C) bools: scores in the band ``lo <= p < hi`` (all False outside the uncertain band)."""
        p = self._check(p)
        if self.band is None:
            return np.zeros(p.shape, dtype=bool)
        return (p >= self.band[0]) & (p < self.band[1])

    def states(self, p: Any) -> np.ndarray:
        """(N, C) object array of :class:`DecisionState` (yes / unsure / no)."""
        yes, maybe = self.decide(p), self.unsure(p)
        out = np.full(yes.shape, DecisionState.NO, dtype=object)
        out[maybe] = DecisionState.UNSURE
        out[yes] = DecisionState.YES
        return out


def _top(p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(N, C) bools: each row's ``counts[i]`` highest scores; ties go to the lower tag index."""
    order = np.argsort(-p, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(p.shape[1])[None, :].repeat(p.shape[0], 0), axis=1)
    return rank < counts[:, None]


def _mcut_counts(p: np.ndarray) -> np.ndarray:
    """How many tags MCut keeps per row: those above the largest gap between sorted scores."""
    if p.shape[1] == 1:
        return (p[:, 0] >= 0.5).astype(np.int64)  # one tag has no gap: fall back to 0.5
    s = -np.sort(-p, axis=1)
    gaps = s[:, :-1] - s[:, 1:]
    # argmax takes the first (highest) of equal gaps: the fewest labels.
    return np.argmax(gaps, axis=1) + 1


# ---------------------------------------------------------------- strategies and their parameters
@dataclass(frozen=True)
class Strategy:
    """A registered strategy: its ``label``, ``description``, declared ``params`` and ``fitter``.

    ``whole`` names the parameters that are whole numbers (checked with
    :func:`mlc.checks.whole`); ``needs_labels`` is False when ``fit`` ignores ``y_val``.
    """

    name: str
    label: str
    description: str
    params: Mapping[str, ParamSpec]
    fitter: Callable[..., DecisionRule]
    whole: tuple[str, ...] = ()
    needs_labels: bool = True

    def defaults(self, n_tags: int) -> dict[str, Any]:
        """The declared defaults, a per-tag parameter repeated ``n_tags`` times."""
        return {k: [s.default] * n_tags if s.kind == "per_tag" else s.default for k, s in self.params.items()}

    def check_params(self, given: Mapping[str, Any], n_tags: int) -> dict[str, Any]:
        """Defaults filled in, every value checked; ValueError names the field, its range and the value."""
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            accepted = ", ".join(self.params) or "no parameters"
            raise ValueError(f"unknown parameter {unknown[0]!r} for strategy {self.name!r}; it accepts: {accepted}")
        out = self.defaults(n_tags)
        for key, value in given.items():
            spec = self.params[key]
            if key in self.whole:
                out[key] = checks.whole(value, key, int(spec.low), int(spec.high))
            else:
                out[key] = spec.check(value, key)
            if spec.kind == "per_tag" and len(out[key]) != n_tags:
                raise ValueError(f"{key} must have one value per tag ({n_tags}), got {len(out[key])}")
        return out

    def fit(self, y_val: Any, p_val: Any, **params: Any) -> DecisionRule:
        """Fit on validation ``y_val``, ``p_val`` (N, C); returns the :class:`DecisionRule`."""
        y, p, _ = check_scores(y_val, p_val)
        return self.fitter(y, p, **self.check_params(params, p.shape[1]))


def _strategy(name: str, fitter: Any, **meta: Any) -> Strategy:
    return Strategy(name=name, fitter=fitter, **meta)


#: Strategy name -> :class:`Strategy`, in registration order.
STRATEGIES: Registry[Strategy] = Registry("threshold strategy", example="fixed_global", make=_strategy)

_UNIT = dict(low=0.0, high=1.0)
# fmt: off
_T = ParamSpec(0.5, **_UNIT, help="Predict a tag when its score is at least t.",
               hint="Use a probability cut-off such as 0.5.")


@STRATEGIES.register("fixed_global", label="one threshold for every tag", params={"t": _T},
                     description="Predict every tag whose score is at least t.")
def _fixed_global(y, p, *, t):
    return DecisionRule("fixed_global", {"t": t}, thresholds=np.full(p.shape[1], t))


@STRATEGIES.register(
    "manual_per_tag", label="a threshold per tag, set by hand",
    description="Predict tag c when its score is at least t[c].",
    params={"t": ParamSpec(0.5, **_UNIT, kind="per_tag", required=True, help="One cut-off per tag.",
                           hint="Give one probability cut-off per tag, e.g. [0.5, 0.3, 0.5, 0.5, 0.7].")},
)
def _manual(y, p, *, t):
    return DecisionRule("manual_per_tag", {"t": list(t)}, thresholds=np.asarray(t, dtype=np.float64))


@STRATEGIES.register("per_tag_f1", label="F1-optimal per tag", params={},
                     description="Each tag's cut that maximises its F1 on validation (mlc.thresholds.best_thresholds).")
def _per_tag_f1(y, p):
    # Imported here: mlc.thresholds re-exports STRATEGIES, so a top-level import would be circular.
    from mlc.thresholds import best_thresholds

    cuts = np.array([b["threshold"] for b in best_thresholds(y, p)])
    return DecisionRule("per_tag_f1", {}, thresholds=cuts)


@STRATEGIES.register(
    "fixed_precision", label="per tag, a precision of at least P",
    description="Each tag's lowest cut whose validation precision is at least P.",
    params={"precision": ParamSpec(0.9, **_UNIT, help="The precision each tag must reach on validation.",
                                   hint="Use a target precision such as 0.9.")},
)
def _fixed_precision(y, p, *, precision):
    return _target_cuts("fixed_precision", {"precision": precision}, y, p, precision, "precision")


@STRATEGIES.register(
    "fixed_recall", label="per tag, a recall of at least R",
    description="Each tag's highest cut whose validation recall is at least R.",
    params={"recall": ParamSpec(0.9, **_UNIT, help="The recall each tag must reach on validation.",
                                hint="Use a target recall such as 0.9.")},
)
def _fixed_recall(y, p, *, recall):
    return _target_cuts("fixed_recall", {"recall": recall}, y, p, recall, "recall")


@STRATEGIES.register(
    "top_k", label="the k highest tags of each image", whole=("k",), needs_labels=False,
    description="Each image gets its k highest-scoring tags (ties: the lower tag index; k above C gives all).",
    params={"k": ParamSpec(1, 1, 20, help="How many tags each image gets.", hint="Use a whole number such as 1.")},
)
def _top_k(y, p, *, k):
    return DecisionRule("top_k", {"k": k}, k=k)


@STRATEGIES.register("at_least_one", label="the top tag always, the others by threshold", params={"t": _T},
                     needs_labels=False,
                     description="Each image's highest tag is always predicted; the others when their score ≥ t.")
def _at_least_one(y, p, *, t):
    return DecisionRule("at_least_one", {"t": t}, thresholds=np.full(p.shape[1], t), at_least_one=True)


@STRATEGIES.register("mcut", label="MCut: the largest gap per image", params={}, needs_labels=False,
                     description="Per image, cut at the largest gap between the sorted scores "
                                 "(Largeron, Moulin & Géry, 2012); one tag falls back to 0.5.")
def _mcut(y, p):
    return DecisionRule("mcut", {}, mcut=True)


@STRATEGIES.register(
    "uncertain_band", label="an uncertain band: unsure between lo and hi", needs_labels=False,
    description="Yes when the score is at least hi, no below lo, unsure in between (counted apart).",
    params={"lo": ParamSpec(0.3, **_UNIT, help="Below lo: no.", hint="lo must not exceed hi; e.g. 0.3."),
            "hi": ParamSpec(0.7, **_UNIT, help="At least hi: yes.", hint="hi must not be below lo; e.g. 0.7.")},
)
def _band(y, p, *, lo, hi):
    if lo > hi:
        raise ValueError(f"lo must be at most hi ({hi:g}), got lo={lo:g}")
    return DecisionRule("uncertain_band", {"lo": lo, "hi": hi}, band=(lo, hi))
# fmt: on


def _target_cuts(name: str, params: dict, y: np.ndarray, p: np.ndarray, target: float, what: str) -> DecisionRule:
    """Per tag, the cut (a distinct validation score) reaching ``target`` precision (lowest) or recall (highest).

    A tag that cannot reach it (no positives, say) gets 1.0 and a note.
    """
    pos = positives(y)
    cuts, notes = np.ones(p.shape[1]), []
    for j in range(p.shape[1]):
        scores, tps, fps = ranking(pos[:, j], p[:, j])
        n_pos = int(tps[-1])
        if what == "precision":
            ok = np.flatnonzero(ratio(tps, tps + fps) >= target - 1e-12)
            k = int(ok[-1]) if ok.size and n_pos else None  # the lowest cut: the last qualifying score
        else:
            ok = np.flatnonzero(ratio(tps, np.full_like(tps, n_pos)) >= target - 1e-12)
            k = int(ok[0]) if ok.size and n_pos else None  # the highest cut: the first qualifying score
        if k is None:
            notes.append(f"tag {j}: no cut reaches {what} {target:g} on validation; threshold 1.0")
        else:
            cuts[j] = float(scores[k])
    return DecisionRule(name, params, thresholds=cuts, notes=notes)


# ---------------------------------------------------------------- scoring
def score_rule(y_test: Any, rule: DecisionRule, p_test: Any, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """How ``rule`` does on ``y_test``, ``p_test`` (N, C); unsure cells count as "not yes" in P/R/F1.

    Returns ``per_tag`` rows (``tag``, ``precision``, ``recall``, ``f1``, ``coverage``,
    ``threshold`` or None), ``micro_f1``, ``macro_f1``, ``subset_accuracy`` (every tag of
    an image right), ``labels_per_image`` (mean yes per image) next to ``true_per_image``,
    and for the band: ``coverage`` (share of cells decided, yes or no), ``unsure``
    (cells), ``sure_precision`` tp/(tp+fp) and ``sure_accuracy`` (right share) of the
    decided cells. F1 = 2tp / (2tp + fp + fn).

    >>> rule = STRATEGIES["uncertain_band"].fit([[1, 0]], [[0.9, 0.1]], lo=0.3, hi=0.7)
    >>> s = score_rule([[1, 0], [1, 1]], rule, [[0.9, 0.5], [0.2, 0.8]])
    >>> s["coverage"], s["sure_accuracy"], s["micro_f1"]
    (0.75, 0.6667, 0.8)
    """
    y, p, _ = check_scores(y_test, p_test)
    names = tag_names(classes, y.shape[1])
    pos, yes, maybe = positives(y), rule.decide(p), rule.unsure(p)
    tp = (yes & pos).sum(0)
    fp = (yes & ~pos).sum(0)
    fn = (~yes & pos).sum(0)
    prec, rec, f1 = precision_recall_f1(tp, fp, fn)
    _, _, micro = precision_recall_f1(tp.sum(), fp.sum(), fn.sum())
    sure = ~maybe
    cover = sure.mean(0)
    right = sure & (yes == pos)
    thr = rule.thresholds
    rows = [
        {
            "tag": name,
            "precision": round(float(prec[j]), 4),
            "recall": round(float(rec[j]), 4),
            "f1": round(float(f1[j]), 4),
            "coverage": round(float(cover[j]), 4),
            "threshold": None if thr is None else round(float(thr[j]), 4),
        }
        for j, name in enumerate(names)
    ]
    return {
        "strategy": rule.name,
        "params": dict(rule.params),
        "per_tag": rows,
        "micro_f1": round(float(micro), 4),
        "macro_f1": round(float(f1.mean()), 4),
        "subset_accuracy": round(float((yes == pos).all(1).mean()), 4),
        "labels_per_image": round(float(yes.sum(1).mean()), 4),
        "true_per_image": round(float(pos.sum(1).mean()), 4),
        "coverage": round(float(sure.mean()), 4),
        "unsure": int(maybe.sum()),
        "sure_precision": round(float(ratio(tp.sum(), tp.sum() + fp.sum())), 4),
        "sure_accuracy": round(float(ratio(right.sum(), sure.sum())), 4),
    }


def tuned_vs_test(
    y_val: Any,
    p_val: Any,
    y_test: Any,
    p_test: Any,
    strategy: str,
    classes: Sequence[str] | None = None,
    **params: Any,
) -> dict[str, Any]:
    """Fit ``strategy`` on validation, score it on validation and on test, and the gap per tag.

    ``gap`` rows hold, per tag, validation minus test for precision, recall and F1
    (positive: the tuned threshold did better on the data it was tuned on), plus
    ``micro_f1`` / ``macro_f1`` gaps. A rare tag's gap shows its cut overfitting.

    >>> y = np.array([[1], [0], [1], [0]]); p = np.array([[0.9], [0.8], [0.7], [0.1]])
    >>> tuned_vs_test(y, p, y, p, "per_tag_f1")["gap"]["per_tag"][0]["f1"]
    0.0
    """
    rule = STRATEGIES.lookup(strategy).fit(y_val, p_val, **params)
    val = score_rule(y_val, rule, p_val, classes)
    test = score_rule(y_test, rule, p_test, classes)
    gap_rows = [
        {"tag": v["tag"], **{m: round(v[m] - t[m], 4) for m in ("precision", "recall", "f1")}}
        for v, t in zip(val["per_tag"], test["per_tag"], strict=True)
    ]
    gap = {"per_tag": gap_rows, **{m: round(val[m] - test[m], 4) for m in ("micro_f1", "macro_f1")}}
    return {"rule": rule, "validation": val, "test": test, "gap": gap}


def split_in_two(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded halves of ``range(n)`` (tune on one, score on the other) until a data set has a test split.

    >>> a, b = split_in_two(5, seed=1)
    >>> sorted(np.concatenate([a, b]).tolist()), len(a)
    ([0, 1, 2, 3, 4], 2)
    """
    n = checks.whole(n, "n", 2)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])
