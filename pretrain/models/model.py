"""The pre-training model: one image encoder with up to two heads, and an optional text encoder.

* image-text head (CLIP, UniCL, DLILP): ``image_proj`` + ``text_proj`` into a joint space, ``logit_scale``.
* label head (unimodal, DLILP): ``label_proj`` + class prototypes with their own temperature.
DLILP has both, on separate projections (as in the paper's code), so the label and text objectives do
not compete for one embedding.

``forward`` returns every tensor the objectives need, including the normalised prototypes and the
scales, so that all parameters are used inside the (DDP-wrapped) forward.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from cxr.pretrain.models.heads import LabelHead, LogitScale, Projection
from cxr.pretrain.models.preprocess import NORMALIZATIONS
from cxr.pretrain.models.text import TextEncoder


@dataclass(frozen=True)
class Heads:
    """Which parts an objective needs (each objective declares its own)."""
    text: bool
    labels: bool


class CxrModel(nn.Module):
    def __init__(self, backbone: nn.Module, heads: Heads, *, num_labels: int = 0, embed_dim: int = 512,
                 projection: str = "linear", text: TextEncoder | None = None, temperature: float = 0.07,
                 learn_temperature: bool = True, label_temperature: float = 0.07,
                 learn_label_temperature: bool = True, max_logit_scale: float = 100.0,
                 normalize: str = "backbone"):
        super().__init__()
        self.input_stats = NORMALIZATIONS.get(normalize)(backbone)
        if heads.text and text is None:
            raise ValueError("an image-text head needs a text encoder")
        if heads.labels and num_labels <= 0:
            raise ValueError("a label head needs at least one label")
        self.backbone = backbone
        self.heads = heads
        feats = int(backbone.num_features)
        if heads.text:
            self.image_proj = Projection(feats, embed_dim, projection)
            self.text = text
            self.text_proj = Projection(text.width, embed_dim, projection)
            self.logit_scale = LogitScale(temperature, learn_temperature, max_logit_scale)
        if heads.labels:
            self.label_proj = Projection(feats, embed_dim, projection)
            self.label_head = LabelHead(num_labels, embed_dim, label_temperature, learn_label_temperature,
                                        max_logit_scale)

    # --- preprocessing the weights expect -------------------------------------------------------------
    @property
    def mean(self) -> tuple[float, ...]:
        return self.input_stats[0]

    @property
    def std(self) -> tuple[float, ...]:
        return self.input_stats[1]

    # --- training ---------------------------------------------------------------------------------------
    def forward(self, images: torch.Tensor, input_ids: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        feats = self.backbone(images)
        out: dict[str, torch.Tensor] = {}
        if self.heads.text:
            out["image_emb"] = self.image_proj(feats)
            out["logit_scale"] = self.logit_scale()
            if input_ids is not None:
                out["text_emb"] = self.text_proj(self.text(input_ids, attention_mask))
        if self.heads.labels:
            out["label_emb"] = self.label_proj(feats)
            out["prototypes"] = self.label_head.normalized_prototypes()
            out["label_scale"] = self.label_head.scale()
        return out

    @torch.no_grad()
    def after_step(self) -> None:
        """Keep the learned temperatures inside their allowed range (called after every optimizer step)."""
        for m in self.modules():
            if isinstance(m, LogitScale):
                m.clamp_()

    # --- inference --------------------------------------------------------------------------------------
    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images)

    def encode_image(self, images: torch.Tensor, head: str | None = None) -> torch.Tensor:
        """L2-normalised embedding; ``head`` = "label" (pairs with prototypes) or "text" (pairs with
        ``encode_text``); default: the label head when there is one."""
        head = head or ("label" if self.heads.labels else "text")
        proj = self.label_proj if head == "label" else self.image_proj
        return proj(self.backbone(images))

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.text_proj(self.text(input_ids, attention_mask))
