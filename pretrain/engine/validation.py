"""Validation: the objective's loss on the validation split (global batches, no augmentation, the
sentences of epoch 0 so every epoch sees the same texts) and per-label AUC of the label head."""
from __future__ import annotations

import contextlib
from typing import Callable

import numpy as np
import torch

from cxr.pretrain.engine.step import forward_terms
from cxr.pretrain.objectives.functional import label_logits, resolve_targets


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties; NaN if one class only."""
    pos = positive.astype(bool)
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # average rank within each run of equal scores
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    ends = np.r_[starts[1:], len(scores)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + e + 1) / 2.0
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class LabelScores:
    """Collects label-head scores and targets by item index (padding duplicates count once)."""

    def __init__(self, uncertain: str, missing: str):
        self.uncertain, self.missing = uncertain, missing
        self.rows: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def add(self, out: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> None:
        logits = label_logits(out["label_emb"], out["prototypes"], out["label_scale"]).cpu().numpy()
        target, mask = resolve_targets(targets["labels"], targets["annotated"], self.uncertain, self.missing)
        for i, idx in enumerate(targets["index"].tolist()):
            self.rows[idx] = (logits[i], target[i].cpu().numpy(), mask[i].cpu().numpy())

    def per_label(self, names: list[str]) -> dict[str, float]:
        if not self.rows:
            return {}
        scores, target, mask = (np.stack(x) for x in zip(*self.rows.values()))
        return {name: auc(scores[mask[:, j], j], target[mask[:, j], j]) for j, name in enumerate(names)}


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, prep: Callable, objective: Callable,
             autocast: contextlib.AbstractContextManager, label_names: list[str] | None,
             uncertain: str, missing: str) -> dict[str, float]:
    """Mean of each loss term over the validation set (weighted by global batch size), plus AUCs."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    scores = LabelScores(uncertain, missing) if label_names else None
    for batch in loader:
        terms, out, targets = forward_terms(model, objective, prep(batch), autocast, grad=False)
        n = len(targets["index"])
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + float(v) * n
        count += n
        if scores is not None:
            scores.add(out, targets)
    metrics = {k: v / max(count, 1) for k, v in sums.items()}
    if scores is not None:
        per_label = scores.per_label(label_names)
        finite = [v for v in per_label.values() if np.isfinite(v)]
        metrics["auc_mean"] = float(np.mean(finite)) if finite else float("nan")
        metrics.update({f"auc/{k}": v for k, v in per_label.items()})
    return metrics
