"""CLIP: symmetric InfoNCE between each image and one sentence of its report (the dataset samples the
sentence per epoch; label-only sources give a label prompt). Items without any text are left out."""
from __future__ import annotations

import torch

from cxr.pretrain.models.model import Heads
from cxr.pretrain.objectives.base import OBJECTIVES, Objective, Terms, detached
from cxr.pretrain.objectives.functional import masked_contrastive


def paired_clip(out: dict[str, torch.Tensor], rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(InfoNCE over the pairs of the selected rows, number of rows); 0 with fewer than 2 pairs."""
    eye = torch.eye(len(rows), dtype=torch.bool, device=rows.device)
    loss = masked_contrastive(out["image_emb"], out["text_emb"], out["logit_scale"], eye, rows)
    return loss, rows.sum()


@OBJECTIVES.register("clip")
class Clip(Objective):
    heads = Heads(text=True, labels=False)
    needs_text = True

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> Terms:
        clip, n = paired_clip(out, batch["has_text"])
        return {"loss": clip, **detached(clip=clip, n_text=n, logit_scale=out["logit_scale"])}
