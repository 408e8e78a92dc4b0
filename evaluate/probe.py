"""Multinomial logistic regression on frozen features (the linear probe).

Objective (scikit-learn's convention, so ``C`` means what it means there):
``C * sum_i w_i * CE(x_i, y_i) + 0.5 * ||W||^2`` with ``w_i = n / (n_classes * n_{y_i})`` (scikit-learn's
``class_weight="balanced"``; ``w_i = 1`` with ``class_weight="none"``), the bias not penalised, minimised
from zero by L-BFGS (scipy) with the analytic gradient in float64: deterministic, and free of per-op
framework overhead, which dominates on problems this small (it runs on CPU even when the encoder ran on a
GPU). ``C``, standardisation and class weights are set by the evaluation protocol
(``cxr.evaluate.config.PROTOCOLS``). Standardisation statistics come from the unlabeled train pool: with
K=1 the support set's own std would be computed from one image per class and is meaningless.

Few-shot sets have far fewer samples than feature dimensions (e.g. 80 x 2048). The optimal W lies in the
row space of X, so with the thin SVD X = U S V^T the same problem is solved over B = V^T W on the n
columns of U S (an exact reparametrisation: ||W|| = ||B||), which makes each step n/d times cheaper.
Such small problems also run on one BLAS thread: on a shared 2-core machine, spinning BLAS threads made
them 3x slower (docs/benchmarks.md, "Evaluation speed").
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

from cxr.core.errors import InputError


#: class_weight name -> per-sample weights from integer labels (scikit-learn's meanings)
CLASS_WEIGHTS = {
    "balanced": lambda y, counts: (len(y) / (len(counts) * np.maximum(counts, 1)))[y],
    "none": lambda y, counts: np.ones(len(y)),
}


@dataclass
class ProbeConfig:
    C: float = 1.0
    max_iter: int = 500
    standardise: bool = True
    class_weight: str = "balanced"       # a CLASS_WEIGHTS name

    def __post_init__(self):
        if self.class_weight not in CLASS_WEIGHTS:
            raise InputError(f"probe class_weight must be one of {sorted(CLASS_WEIGHTS)}, "
                             f"got {self.class_weight!r}")
        if not self.C > 0:
            raise InputError(f"probe C must be positive, got {self.C}")


@dataclass
class LinearProbe:
    weight: np.ndarray          # [D, n_classes]
    bias: np.ndarray            # [n_classes]
    mean: np.ndarray
    scale: np.ndarray

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Class probabilities [N, n_classes]."""
        return _softmax(((x - self.mean) / self.scale) @ self.weight + self.bias)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def standardisation(pool: np.ndarray, enabled: bool = True) -> tuple[np.ndarray, np.ndarray]:
    if not enabled:
        return np.zeros(pool.shape[1]), np.ones(pool.shape[1])
    pool = np.asarray(pool, np.float64)
    scale = pool.std(axis=0)
    return pool.mean(axis=0), np.where(scale > 1e-8, scale, 1.0)   # constant features stay at 0


def _objective(z: np.ndarray, onehot: np.ndarray, sample_w: np.ndarray, C: float):
    d, k = z.shape[1], onehot.shape[1]

    def f(params: np.ndarray):
        w, b = params[: d * k].reshape(d, k), params[d * k:]
        logits = z @ w + b
        shift = logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits - shift).sum(axis=1, keepdims=True)) + shift
        ce = (log_norm[:, 0] - (logits * onehot).sum(axis=1))
        residual = C * sample_w[:, None] * (np.exp(logits - log_norm) - onehot)
        loss = C * float(sample_w @ ce) + 0.5 * float((w * w).sum())
        grad = np.concatenate([(z.T @ residual + w).ravel(), residual.sum(axis=0)])
        return loss, grad
    return f


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, keep the defaults
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def fit_probe(x: np.ndarray, y: np.ndarray, n_classes: int, cfg: ProbeConfig,
              stats: tuple[np.ndarray, np.ndarray] | None = None) -> LinearProbe:
    small = x.shape[0] <= x.shape[1]
    with _one_blas_thread() if small else contextlib.nullcontext():
        return _fit(x, y, n_classes, cfg, stats)


def _fit(x, y, n_classes: int, cfg: ProbeConfig, stats) -> LinearProbe:
    from scipy.optimize import minimize

    mean, scale = stats if stats is not None else standardisation(x, cfg.standardise)
    z = (np.asarray(x, np.float64) - mean) / scale
    basis = None
    if z.shape[0] < z.shape[1]:
        u, sv, vh = np.linalg.svd(z, full_matrices=False)
        z, basis = u * sv, vh.T                      # [n, n] coordinates, [d, n] row-space basis
    y = np.asarray(y, np.int64)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    sample_w = CLASS_WEIGHTS[cfg.class_weight](y, counts)
    onehot = np.eye(n_classes)[y]
    start = np.zeros(z.shape[1] * n_classes + n_classes)
    res = minimize(_objective(z, onehot, sample_w, cfg.C), start, jac=True, method="L-BFGS-B",
                   options={"maxiter": cfg.max_iter, "gtol": 1e-6, "maxcor": 20})
    w = res.x[: z.shape[1] * n_classes].reshape(z.shape[1], n_classes)
    return LinearProbe(w if basis is None else basis @ w, res.x[z.shape[1] * n_classes:], mean, scale)
