"""Metric functions against hand-computed values (and scikit-learn on random cases)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cxr.evaluate import metrics

Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 1, 2])


def test_aca_is_mean_recall():
    # recalls 2/3, 2/2, 1/1
    assert metrics.aca(Y_TRUE, Y_PRED, 3) == pytest.approx((2 / 3 + 1 + 1) / 3)


def test_aca_ignores_classes_without_test_samples_and_subset_aca():
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    assert metrics.aca(y_true, y_pred, 3) == pytest.approx((0.5 + 1.0) / 2)
    assert metrics.subset_aca(y_true, y_pred, 3, [0]) == pytest.approx(0.5)
    assert math.isnan(metrics.subset_aca(y_true, y_pred, 3, []))


def test_macro_f1_by_hand():
    # class 0: tp 2, support 3, predicted 2 -> 0.8; class 1: tp 2, support 2, predicted 3 -> 0.8; class 2: 1
    assert metrics.macro_f1(Y_TRUE, Y_PRED, 3) == pytest.approx((0.8 + 0.8 + 1.0) / 3)


def test_macro_f1_counts_a_never_predicted_class_as_zero():
    assert metrics.macro_f1(np.array([0, 1]), np.array([0, 0]), 2) == pytest.approx((2 / 3 + 0) / 2)


def test_cohen_kappa_by_hand():
    # po = 5/6; row sums (3, 2, 1), column sums (2, 3, 1): pe = 13/36 -> kappa = 17/23
    assert metrics.cohen_kappa(Y_TRUE, Y_PRED, 3) == pytest.approx(17 / 23)
    assert metrics.cohen_kappa(np.array([0, 1]), np.array([1, 0]), 2) == pytest.approx(-1.0)


def test_binary_auc_by_hand_with_ties():
    y = np.array([0, 0, 1, 1])
    assert metrics.auc(y, np.c_[1 - np.array([.1, .4, .35, .8]), [.1, .4, .35, .8]]) == pytest.approx(0.75)
    assert metrics.binary_auc(np.array([True, False]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert math.isnan(metrics.binary_auc(np.array([True, True]), np.array([0.1, 0.2])))


def test_multiclass_auc_is_macro_one_vs_rest():
    y = np.array([0, 1, 2, 2])
    scores = np.array([[.8, .1, .1], [.2, .7, .1], [.6, .3, .1], [.1, .2, .7]])
    # class 0: pos .8 vs negs .2,.6,.1 -> 1; class 1: pos .7 vs .1,.3,.2 -> 1; class 2: pos {.1,.7} vs {.1,.1} -> (0.5+0.5+1+1)/4
    assert metrics.auc(y, scores) == pytest.approx((1 + 1 + 0.75) / 3)


def test_agrees_with_scikit_learn_on_random_predictions():
    from sklearn import metrics as sk

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 300)
    scores = rng.dirichlet(np.ones(4), 300)
    pred = scores.argmax(1)
    assert metrics.aca(y, pred, 4) == pytest.approx(sk.balanced_accuracy_score(y, pred))
    assert metrics.macro_f1(y, pred, 4) == pytest.approx(sk.f1_score(y, pred, average="macro"))
    assert metrics.cohen_kappa(y, pred, 4) == pytest.approx(sk.cohen_kappa_score(y, pred))
    assert metrics.auc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores, multi_class="ovr"))


def test_all_metrics_of_a_perfect_classifier():
    y = np.array([0, 1, 1, 0])
    m = metrics.all_metrics(y, np.eye(2)[y] * 0.8 + 0.1)
    assert m == {"aca": 1.0, "auc": 1.0, "f1": 1.0, "kappa": 1.0}
