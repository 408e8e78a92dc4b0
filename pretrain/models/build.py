"""Assemble a ``CxrModel`` from the run config and the objective's needs."""
from __future__ import annotations

from cxr.pretrain.config import Config
from cxr.pretrain.models.backbones import build_backbone
from cxr.pretrain.models.model import CxrModel, Heads
from cxr.pretrain.models.text import build_text_encoder
from cxr.pretrain.models.weights import resolve_pretrained


def build_model(cfg: Config, heads: Heads, num_labels: int) -> CxrModel:
    m, o = cfg.model, cfg.objective
    text = build_text_encoder(m.text, m.text_pretrained, m.text_max_length, m.text_pooling) if heads.text else None
    backbone = build_backbone(m.backbone, resolve_pretrained(m.backbone, m.pretrained), cfg.data.image_size,
                              m.init)
    return CxrModel(
        backbone, heads, num_labels=num_labels if heads.labels else 0,
        embed_dim=m.embed_dim, projection=m.projection, text=text,
        temperature=o.temperature, learn_temperature=o.learn_temperature,
        label_temperature=o.label_temperature, learn_label_temperature=o.learn_label_temperature,
        max_logit_scale=o.max_logit_scale, normalize=m.normalize)
