"""Heads on top of the encoders: projections to the joint space, temperatures, class prototypes."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Projection(nn.Module):
    """Features -> L2-normalised embedding. ``linear`` is the paper's bias-free linear map."""

    def __init__(self, in_dim: int, out_dim: int, kind: str = "linear"):
        super().__init__()
        if kind == "mlp":
            self.net = nn.Sequential(nn.Linear(in_dim, in_dim), nn.GELU(), nn.Linear(in_dim, out_dim, bias=False))
        else:
            self.net = nn.Linear(in_dim, out_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)


class LogitScale(nn.Module):
    """1/temperature, stored as a log so it stays positive. Clamped to [1, max_scale] after each optimizer
    step (as CLIP does) rather than in forward, so the gradient never silently vanishes."""

    def __init__(self, temperature: float, learnable: bool = True, max_scale: float = 100.0):
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)), requires_grad=learnable)
        self.max_log = math.log(max_scale)

    def forward(self) -> torch.Tensor:
        return self.log_scale.exp()

    @torch.no_grad()
    def clamp_(self) -> None:
        self.log_scale.clamp_(0.0, self.max_log)


class LabelHead(nn.Module):
    """Learned class prototypes in the embedding space; logits = cos(embedding, prototype) / temperature."""

    def __init__(self, num_classes: int, dim: int, temperature: float, learnable: bool, max_scale: float):
        super().__init__()
        self.prototypes = nn.Parameter(nn.init.kaiming_normal_(torch.empty(num_classes, dim)))
        self.scale = LogitScale(temperature, learnable, max_scale)

    def normalized_prototypes(self) -> torch.Tensor:
        return F.normalize(self.prototypes, dim=-1)
