"""UniCL: image-text contrastive learning where label agreement also makes a pair positive.

Decision (documented): image i and text j are positives when i == j or, with ``overlap`` (default, as
the paper's code does), image i's positive labels intersect item j's positive labels; with
``same_set``, when both items have the same non-empty set of positive labels (UniCL's "same class").
The contract gives labels per item, not per sentence, so item j's labels stand for its text's labels
(exact for label-only sources, whose text is a prompt of their positive labels). Targets are the
positive matrix normalised per row, in both directions.
"""
from __future__ import annotations

import torch

from cxr.pretrain.models.model import Heads
from cxr.pretrain.objectives.base import OBJECTIVES, Objective, Terms, detached
from cxr.pretrain.objectives.functional import masked_contrastive, resolve_targets


def positive_pairs(positive: torch.Tensor, rule: str = "overlap") -> torch.Tensor:
    """[N, N] bool: which image/text pairs count as positives, given [N, C] positive labels (0/1)."""
    pos = positive.float()
    if rule == "same_set":
        same = (pos.unsqueeze(1) == pos.unsqueeze(0)).all(-1)
        pairs = same & (pos.sum(1) > 0).unsqueeze(1)
    else:
        pairs = pos @ pos.t() > 0
    return pairs | torch.eye(len(pos), dtype=torch.bool, device=pos.device)


@OBJECTIVES.register("unicl")
class UniCL(Objective):
    heads = Heads(text=True, labels=False)
    needs_text = True

    def __init__(self, uncertain: str = "masked", missing: str = "negative", positives: str = "overlap"):
        super().__init__(uncertain, missing)
        self.positives = positives

    @classmethod
    def from_config(cls, cfg):
        return cls(cfg.data.uncertain, cfg.data.missing, cfg.objective.unicl_positives)

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> Terms:
        valid = batch["has_text"]
        target, mask = resolve_targets(batch["labels"], batch["annotated"], self.uncertain, self.missing)
        pairs = positive_pairs(target * mask, self.positives)
        scale = out["logit_scale"]
        loss = masked_contrastive(out["image_emb"], out["text_emb"], scale, pairs, valid)
        n = valid.sum()
        n_pos = (pairs & valid.unsqueeze(0) & valid.unsqueeze(1)).sum() - n
        return {"loss": loss, **detached(unicl=loss, n_text=n, n_pos=n_pos, logit_scale=scale)}
