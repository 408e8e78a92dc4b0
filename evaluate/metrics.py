"""Classification metrics of the protocol: ACA (headline), AUC, macro-F1 and Cohen's kappa.

Implemented on numpy from the confusion matrix so every value can be checked by hand in tests and the
class set is always the task's (a class nobody predicted still counts).
"""
from __future__ import annotations

import math

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """``m[i, j]`` = number of samples of true class i predicted as j."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, int), np.asarray(y_pred, int)), 1)
    return m


def per_class_recall(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Recall of each class; NaN for a class with no test sample."""
    m = confusion(y_true, y_pred, n_classes)
    support = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(m) / np.maximum(support, 1), np.nan)


def aca(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Average class accuracy (balanced accuracy): mean recall over the classes present in y_true."""
    recall = per_class_recall(y_true, y_pred, n_classes)
    return float(np.nanmean(recall)) if np.isfinite(recall).any() else math.nan


def subset_aca(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int, classes: list[int]) -> float:
    """ACA restricted to some classes (base or novel), predictions still made over all classes."""
    if not classes:
        return math.nan
    recall = per_class_recall(y_true, y_pred, n_classes)[classes]
    return float(np.nanmean(recall)) if np.isfinite(recall).any() else math.nan


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Mean F1 over classes that occur in y_true or y_pred (F1 = 0 where precision or recall is 0)."""
    m = confusion(y_true, y_pred, n_classes)
    tp = np.diag(m).astype(float)
    support, predicted = m.sum(axis=1), m.sum(axis=0)
    present = (support + predicted) > 0
    denom = support + predicted
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(f1[present].mean()) if present.any() else math.nan


def cohen_kappa(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Unweighted Cohen's kappa; NaN when chance agreement is already perfect (undefined)."""
    m = confusion(y_true, y_pred, n_classes).astype(float)
    n = m.sum()
    if n == 0:
        return math.nan
    observed = np.trace(m) / n
    expected = float((m.sum(axis=1) * m.sum(axis=0)).sum()) / (n * n)
    if math.isclose(expected, 1.0):
        return math.nan
    return float((observed - expected) / (1.0 - expected))


def binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula; ties count one half."""
    from scipy.stats import rankdata

    positive = np.asarray(positive, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Binary AUC for two classes (score of class 1), else macro one-vs-rest over classes with both
    positives and negatives in y_true."""
    y_true = np.asarray(y_true, int)
    scores = np.asarray(scores, float)
    if scores.shape[1] == 2:
        return binary_auc(y_true == 1, scores[:, 1])
    values = [binary_auc(y_true == c, scores[:, c]) for c in range(scores.shape[1])]
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def all_metrics(y_true: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The four reported metrics from class scores (argmax is the prediction)."""
    n_classes = scores.shape[1]
    y_pred = scores.argmax(axis=1)
    return {"aca": aca(y_true, y_pred, n_classes), "auc": auc(y_true, scores),
            "f1": macro_f1(y_true, y_pred, n_classes), "kappa": cohen_kappa(y_true, y_pred, n_classes)}
