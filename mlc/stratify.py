"""Iterative stratification: a seeded multi-label split that spreads every tag's positives in proportion.

The algorithm of K. Sechidis, G. Tsoumakas and I. Vlahavas, "On the Stratification
of Multi-label Data", ECML PKDD 2011 (LNCS 6913, pp. 145-158), Algorithm 1:

1. each subset *j* wants ``c_j = N * r_j`` examples and, for each tag *i*,
   ``c_j^i = |D^i| * r_j`` of the examples with that tag;
2. take the tag with the fewest examples still unassigned (ties: at random),
   and give each of its examples to the subset that wants most of that tag
   (ties: the one that wants most examples overall, then at random); lower the
   wishes of that subset for every tag of the example and for examples overall;
3. repeat until only examples without any tag are left; they go to the subset
   that wants most examples (ties at random).

Starting from the rarest tag matters: a random split easily puts all 5
positives of a rare tag in training and none in validation; this one does not.
Pure NumPy, no scikit-learn or TensorFlow.

>>> y = np.array([[1, 0]] * 10 + [[0, 1]] * 10 + [[0, 0]] * 20)
>>> part = iterative_split(y, (0.5, 0.5), seed=0)
>>> [int(y[part == j, 0].sum()) for j in (0, 1)], [int((part == j).sum()) for j in (0, 1)]
([5, 5], [20, 20])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlc import checks

#: Train / validation / test fractions used when a data set does not fix its split.
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)


def iterative_split(y, fractions: Sequence[float] = DEFAULT_FRACTIONS, seed: int = 0) -> np.ndarray:
    """(N,) int subset index in ``0..len(fractions) - 1`` for the (N, C) labels ``y`` (a value ≥ 0.5 is a tag).

    ``fractions`` are normalised to sum to 1; the same ``y``, fractions and seed give
    the same split.

    >>> iterative_split(np.zeros((4, 1)), (0.5, 0.5), seed=1).tolist().count(0)
    2
    >>> iterative_split(np.zeros((2, 1)), (1.0, -1.0))
    Traceback (most recent call last):
    ...
    ValueError: fractions must be numbers of at least 0 with a positive sum, got (1.0, -1.0)
    """
    y = np.asarray(y)
    if y.ndim != 2:
        raise ValueError(f"y must be (N, C) labels, got shape {y.shape}")
    r = np.asarray(checks.number_tuple(fractions, "fractions"), dtype=np.float64)
    if r.size == 0 or (r < 0).any() or not np.isfinite(r).all() or r.sum() <= 0:
        raise ValueError(
            f"fractions must be numbers of at least 0 with a positive sum, got {tuple(float(v) for v in r)}"
        )
    r = r / r.sum()
    rng = np.random.default_rng(checks.whole(seed, "seed", 0))
    hard = y >= 0.5
    n, c = hard.shape
    want = n * r  # c_j
    want_tag = hard.sum(axis=0)[None, :] * r[:, None]  # (K, C): c_j^i
    part = np.full(n, -1, dtype=np.int64)
    left = hard.copy()  # positives not yet assigned, per example and tag

    def best(scores_first: np.ndarray) -> int:
        """The subset with the highest wish, ties by overall wish, then at random."""
        top = np.flatnonzero(scores_first == scores_first.max())
        if top.size > 1:
            top = top[want[top] == want[top].max()]
        return int(top[rng.integers(top.size)]) if top.size > 1 else int(top[0])

    while True:
        counts = left.sum(axis=0)
        if not counts.any():
            break
        fewest = counts[counts > 0].min()
        candidates = np.flatnonzero(counts == fewest)
        tag = int(candidates[rng.integers(candidates.size)])
        for i in np.flatnonzero(left[:, tag]):
            j = best(want_tag[:, tag])
            part[i] = j
            want_tag[j] -= hard[i]
            want[j] -= 1
            left[i] = False
    for i in rng.permutation(np.flatnonzero(part < 0)):
        part[i] = best(want)
        want[part[i]] -= 1
    return part
