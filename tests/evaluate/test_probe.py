"""The linear probe learns a separable task, stays at chance on noise, and balances classes."""
from __future__ import annotations

import numpy as np

from cxr.evaluate import metrics
from cxr.evaluate.fewshot import sample_k_shot
from cxr.evaluate.probe import ProbeConfig, fit_probe, standardisation


def _blobs(rng, n_per_class, n_classes, dim, spread):
    centres = rng.normal(size=(n_classes, dim)) * 3
    y = np.repeat(np.arange(n_classes), n_per_class)
    return centres[y] + rng.normal(size=(len(y), dim)) * spread, y


def test_learns_a_separable_task_from_few_shots():
    rng = np.random.default_rng(0)
    x, y = _blobs(rng, 300, 5, 256, spread=1.0)
    pool = np.arange(0, len(y), 2)
    test = np.arange(1, len(y), 2)
    idx = pool[sample_k_shot(y[pool], 4, seed=0)]
    probe = fit_probe(x[idx], y[idx], 5, ProbeConfig(), standardisation(x[pool]))
    assert metrics.aca(y[test], probe.scores(x[test]).argmax(1), 5) > 0.99


def test_is_at_chance_on_noise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4000, 64))
    y = rng.integers(0, 4, 4000)
    probe = fit_probe(x[:400], y[:400], 4, ProbeConfig())
    acc = metrics.aca(y[400:], probe.scores(x[400:]).argmax(1), 4)
    assert abs(acc - 0.25) < 0.05


def test_class_weights_keep_the_minority_class_recall():
    rng = np.random.default_rng(2)
    # Two overlapping 1-D classes, 9:1 in training: unweighted fitting would favour the majority.
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    x = (y[:, None] * 1.0 + rng.normal(size=(1000, 1)))
    probe = fit_probe(x, y, 2, ProbeConfig(C=10.0))
    yt = np.r_[np.zeros(2000, int), np.ones(2000, int)]
    xt = yt[:, None] * 1.0 + rng.normal(size=(4000, 1))
    recall = metrics.per_class_recall(yt, probe.scores(xt).argmax(1), 2)
    assert abs(recall[0] - recall[1]) < 0.1


def test_scores_are_probabilities_and_fit_is_deterministic():
    rng = np.random.default_rng(3)
    x, y = _blobs(rng, 10, 3, 16, spread=2.0)
    a, b = fit_probe(x, y, 3, ProbeConfig()), fit_probe(x, y, 3, ProbeConfig())
    s = a.scores(x)
    assert np.allclose(s.sum(1), 1) and (s >= 0).all()
    assert np.array_equal(a.weight, b.weight)
