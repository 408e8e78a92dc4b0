"""One forward pass to loss terms on the GLOBAL batch (shared by training and validation).

Per-sample model outputs are gathered across processes (with gradients when training) and so are the
targets, then the objective sees the whole global batch: contrastive terms get every process's
negatives, and every process computes the same loss (see ``distributed.all_gather_with_grad``).
"""
from __future__ import annotations

import contextlib
from typing import Callable

import torch

from cxr.pretrain.engine.distributed import all_gather_nograd, all_gather_with_grad

#: Model outputs with one row per sample; the rest (prototypes, scales) are shared parameters.
PER_SAMPLE = ("image_emb", "text_emb", "label_emb")
TARGETS = ("labels", "annotated", "has_report", "has_text", "index")


def gather_targets(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key in TARGETS:
        t = batch[key]
        # gloo cannot all_gather bool tensors; uint8 round-trips them
        out[key] = all_gather_nograd(t.to(torch.uint8)).bool() if t.dtype == torch.bool else all_gather_nograd(t)
    return out


def forward_terms(model: torch.nn.Module, objective: Callable, batch: dict[str, torch.Tensor],
                  autocast: contextlib.AbstractContextManager, grad: bool = True):
    """-> (terms, gathered outputs, gathered targets). Outputs are cast to fp32 before the loss."""
    with autocast:
        out = model(batch["image"], batch.get("input_ids"), batch.get("attention_mask"))
    gather = all_gather_with_grad if grad else all_gather_nograd
    out = {k: gather(v.float()) if k in PER_SAMPLE else v.float() for k, v in out.items()}
    targets = gather_targets(batch)
    return objective(out, targets), out, targets
