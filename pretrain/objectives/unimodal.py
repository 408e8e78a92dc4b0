"""Unimodal (label-supervised) pre-training: cosine to learned class prototypes / temperature, masked BCE."""
from __future__ import annotations

import torch

from cxr.pretrain.models.model import Heads
from cxr.pretrain.objectives.base import OBJECTIVES, Objective, Terms, detached
from cxr.pretrain.objectives.functional import label_logits, masked_bce, resolve_targets


def label_loss(out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor], uncertain: str,
               missing: str) -> torch.Tensor:
    target, mask = resolve_targets(batch["labels"], batch["annotated"], uncertain, missing)
    logits = label_logits(out["label_emb"], out["prototypes"], out["label_scale"])
    return masked_bce(logits, target, mask)


@OBJECTIVES.register("unimodal")
class Unimodal(Objective):
    heads = Heads(text=False, labels=True)

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> Terms:
        bce = label_loss(out, batch, self.uncertain, self.missing)
        return {"loss": bce, **detached(bce=bce, label_scale=out["label_scale"])}
