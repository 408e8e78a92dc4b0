"""Loss building blocks shared by the objectives, as plain functions of tensors (hand-checkable)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def resolve_targets(labels: torch.Tensor, annotated: torch.Tensor, uncertain: str = "masked",
                    missing: str = "negative") -> tuple[torch.Tensor, torch.Tensor]:
    """Label values (1 / 0 / -1 / NaN) -> (BCE target, mask of entries that enter the loss).

    ``uncertain`` (-1): masked | negative | positive.  ``missing`` (NaN = not mentioned): masked | negative.
    A label the item's source does not annotate (``annotated`` False) is always masked.
    """
    pos, neg = labels == 1, labels == 0
    unc, nan = labels == -1, torch.isnan(labels)
    target = pos.clone()
    mask = pos | neg
    if uncertain == "positive":
        target |= unc
    if uncertain in ("positive", "negative"):
        mask |= unc
    if missing == "negative":
        mask |= nan
    return target.float(), mask & annotated.bool()


def masked_bce(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BCE averaged over each sample's valid labels, then over samples that have any (the paper's
    per-sample normalisation: a sample annotated for 3 labels weighs as much as one annotated for 80).
    0 when nothing is valid. Written without data-dependent branches: no host-device sync per step."""
    per_entry = F.binary_cross_entropy_with_logits(logits, target, reduction="none") * mask
    count = mask.sum(1)
    has = (count > 0).to(logits.dtype)
    per_sample = per_entry.sum(1) / count.clamp_min(1)
    return (per_sample * has).sum() / has.sum().clamp_min(1)


def label_logits(embedding: torch.Tensor, prototypes: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Cosine similarity to each (normalised) prototype divided by the temperature: [N, C]."""
    return embedding @ prototypes.t() * scale


#: Logit given to excluded pairs: exp() of it is 0 in fp32, yet it is finite (all-excluded rows stay finite).
_EXCLUDED = -1e4


def masked_contrastive(image: torch.Tensor, text: torch.Tensor, scale: torch.Tensor, positives: torch.Tensor,
                       valid: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with several positives per row (targets: ``positives`` normalised per row, image->text
    by rows, text->image by columns; the diagonal must be positive), restricted to the rows where ``valid``
    holds without indexing by a mask (which would force a host-device sync): excluded pairs get a -1e4
    logit and excluded rows weight 0.
    0 (with every input still in the graph, as DDP needs) when fewer than 2 rows are valid."""
    v = valid.bool()
    pair_ok = v.unsqueeze(1) & v.unsqueeze(0)
    logits = (image @ text.t() * scale).masked_fill(~pair_ok, _EXCLUDED)
    pos = (positives.bool() & pair_ok).to(logits.dtype)
    n = v.sum()

    def directed(lg: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        target = p / p.sum(1, keepdim=True).clamp_min(1)
        return -(target * F.log_softmax(lg, dim=1)).sum()   # rows without target contribute 0

    total = (directed(logits, pos) + directed(logits.t(), pos.t())) / 2
    return total / n.clamp_min(1) * (n >= 2).to(logits.dtype)
