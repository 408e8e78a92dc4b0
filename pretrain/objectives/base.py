"""The objective interface and its registry.

An objective is called on the model outputs and the batch targets of the GLOBAL batch (the trainer
gathers them across processes first, with gradients) and returns a dict of named terms: ``loss`` (the
total, differentiable) plus detached terms to log, e.g. ``{"loss", "bce", "clip", "n_text"}``.
Each objective declares which model heads it needs (``heads``) and whether its loss pairs images with
text (``needs_text``, and with which: ``text_kind``); the trainer refuses a text objective on data where
no training item has that text, which would otherwise train with an image-text term of 0.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from cxr.pretrain.config import Config
from cxr.pretrain.models.model import Heads
from cxr.core.registry import Registry

Terms = dict[str, torch.Tensor]


#: ``Objective.text_kind``: which items' text its image-text term uses
TEXT_KINDS = {"text": "text (a report sentence or a label prompt)", "report": "report text"}


class Objective:
    heads: ClassVar[Heads]
    needs_text: ClassVar[bool] = False
    text_kind: ClassVar[str] = "text"

    def __init__(self, uncertain: str = "masked", missing: str = "negative"):
        self.uncertain = uncertain
        self.missing = missing

    @classmethod
    def from_config(cls, cfg: Config) -> "Objective":
        return cls(uncertain=cfg.data.uncertain, missing=cfg.data.missing)

    def __call__(self, out: dict[str, torch.Tensor], batch: dict[str, torch.Tensor]) -> Terms:
        raise NotImplementedError


OBJECTIVES: Registry[type[Objective]] = Registry("objective")


def build_objective(cfg: Config) -> Objective:
    return OBJECTIVES.get(cfg.objective.name).from_config(cfg)


def detached(**terms: torch.Tensor | float | int) -> Terms:
    """Log-only terms: detached tensors (no graph kept alive), numbers as tensors."""
    return {k: (v.detach() if isinstance(v, torch.Tensor) else torch.tensor(float(v))) for k, v in terms.items()}
