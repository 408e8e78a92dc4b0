"""DLILP: the unimodal label loss plus lambda x CLIP on real report sentences, on separate heads.

The CLIP term uses only items whose text came from a real report (``has_report``); label prompts of
label-only sources are not text supervision here. With fewer than 2 such items in the (global) batch
the term is 0 and ``n_text`` says so in the logs.
"""
from __future__ import annotations

import torch

from cxr.pretrain.models.model import Heads
from cxr.pretrain.objectives.base import OBJECTIVES, Objective, Terms, detached
from cxr.pretrain.objectives.clip import paired_clip
from cxr.pretrain.objectives.unimodal import label_loss


@OBJECTIVES.register("dlilp")
class DLILP(Objective):
    heads = Heads(text=True, labels=True)
    needs_text = True
    text_kind = "report"    # label prompts are not text supervision here (see above)

    def __init__(self, uncertain: str = "masked", missing: str = "negative", clip_weight: float = 0.1):
        super().__init__(uncertain, missing)
        self.clip_weight = clip_weight

    @classmethod
    def from_config(cls, cfg):
        return cls(cfg.data.uncertain, cfg.data.missing, cfg.objective.clip_weight)

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> Terms:
        bce = label_loss(out, batch, self.uncertain, self.missing)
        clip, n = paired_clip(out, batch["has_report"] & batch["has_text"])
        loss = bce + self.clip_weight * clip
        return {"loss": loss, **detached(bce=bce, clip=clip, n_text=n, logit_scale=out["logit_scale"],
                                         label_scale=out["label_scale"])}
