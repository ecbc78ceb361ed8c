"""Tests for mlc.class_weights: per-tag weights from prevalence (three rules) and their refusals."""

from __future__ import annotations

import numpy as np
import pytest

from mlc.class_weights import class_balanced_weights, inverse_frequency_weights, positive_weights


def test_inverse_frequency_weights():
    w = inverse_frequency_weights([0.5, 0.25])
    assert w == pytest.approx([2 / 3, 4 / 3])
    assert all(type(v) is float for v in w)
    prevalence = [0.4, 0.02, 0.3, 0.5, 0.6]
    w = inverse_frequency_weights(prevalence)
    assert np.mean(w) == pytest.approx(1.0)
    assert int(np.argmax(w)) == 1
    np.testing.assert_allclose(np.array(w) * prevalence, np.full(5, w[0] * 0.4))


def test_class_balanced_weights():
    prevalence, n = [0.5, 0.1, 0.02], 1000
    for beta in (0.9, 0.99, 0.999):
        w = class_balanced_weights(prevalence, n, beta=beta)
        n_c = np.array(prevalence) * n
        raw = (1 - beta) / (1 - beta**n_c)
        np.testing.assert_allclose(w, raw / raw.mean(), rtol=1e-12)
        assert np.mean(w) == pytest.approx(1.0)
        assert int(np.argmax(w)) == 2
    assert class_balanced_weights([0.5, 0.1], n_samples=100, beta=0.9) == pytest.approx([0.7913185593, 1.2086814407])
    assert class_balanced_weights(prevalence, n, beta=0.0) == [1.0, 1.0, 1.0]
    # beta -> 1 approaches inverse frequency.
    np.testing.assert_allclose(
        class_balanced_weights(prevalence, n, beta=1 - 1e-9),
        inverse_frequency_weights(prevalence),
        rtol=1e-4,
    )
    with pytest.raises(ValueError, match=r"beta must be a finite number in \[0, 1\), got 1.0"):
        class_balanced_weights(prevalence, n, beta=1.0)
    with pytest.raises(ValueError, match="n_samples must be a positive"):
        class_balanced_weights(prevalence, 0)


def test_positive_weights():
    w = positive_weights([0.5, 0.2, 0.01])
    assert w == pytest.approx([1.0, 4.0, 99.0])
    assert all(type(v) is float for v in w)


@pytest.mark.parametrize(
    "helper",
    [
        inverse_frequency_weights,
        lambda p: class_balanced_weights(p, 100),
        positive_weights,
    ],
    ids=["inverse_frequency", "class_balanced", "positive"],
)
def test_weight_helpers_reject_degenerate_prevalence(helper):
    with pytest.raises(ValueError) as info:
        helper([0.3, 0.2, 0.0])
    assert "tag 2" in str(info.value) and "never occurs" in str(info.value)
    with pytest.raises(ValueError) as info:
        helper([1.0, 0.2])
    assert "tag 0" in str(info.value) and "every sample" in str(info.value)
    with pytest.raises(ValueError, match="tag 1"):
        helper([0.3, float("nan")])
    with pytest.raises(ValueError, match="one fraction per tag"):
        helper([])
