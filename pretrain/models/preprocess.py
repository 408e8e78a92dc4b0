"""What an encoder's input is: the preprocessing spec an export records, and its tensor half.

An image becomes input in two steps, each in one place:

1. geometry, ``cxr.datasets.images.square_image``: grayscale uint8, padded or resized to S×S (what
   ``cxr prepare`` caches);
2. ``Normalize``: uint8 -> float, replicated to C channels, normalised with a mean/std chosen by
   ``model.normalize`` (``NORMALIZATIONS``: the backbone's weights' statistics, or none = [0, 1] inputs)
   (training on the device per batch, evaluation per image, ``ExportedEncoder.preprocess``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from cxr.core.registry import Registry
from cxr.datasets.images import MODES

#: ``model.normalize``: backbone -> (mean, std) of the inputs, one value per channel
Stats = tuple[tuple[float, ...], tuple[float, ...]]
NORMALIZATIONS: Registry[Callable[[nn.Module], Stats]] = Registry("input normalization")


@NORMALIZATIONS.register("backbone")
def backbone_stats(backbone: nn.Module) -> Stats:
    """The statistics the backbone's weights were trained with (ImageNet's for timm ImageNet weights)."""
    cfg = getattr(backbone, "pretrained_cfg", None) or {}
    return tuple(cfg.get("mean", (0.5, 0.5, 0.5))), tuple(cfg.get("std", (0.5, 0.5, 0.5)))


@NORMALIZATIONS.register("none")
def unit_range(backbone: nn.Module) -> Stats:
    """Pixels / 255 only, inputs in [0, 1]: what the paper's reference code feeds its ResNet-50."""
    channels = len(backbone_stats(backbone)[0])
    return (0.0,) * channels, (1.0,) * channels


class Normalize(nn.Module):
    """uint8 [B, 1, S, S] -> float [B, C, S, S], C = len(mean)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.channels = len(mean)
        # Pixels of 0..255 minus 255·mean over 255·std rather than (x/255 - mean)/std: one operation
        # fewer per pixel, and the arithmetic encoders were trained with, so that evaluation feeds them
        # the training input bit for bit. Buffers, so that .to(device) moves them with the module.
        self.register_buffer("shift", torch.tensor(mean).view(1, -1, 1, 1) * 255.0, persistent=False)
        self.register_buffer("scale", torch.tensor(std).view(1, -1, 1, 1) * 255.0, persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.float().expand(-1, self.channels, -1, -1)
        return (x - self.shift) / self.scale


@dataclass(frozen=True)
class Preprocessing:
    """How images were prepared for an encoder (recorded in its export, applied again at evaluation)."""

    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    mode: str = "pad"            # "pad" (keep aspect, centred) | "pad_topleft" | "resize", as the cache
    channels: int = 3            # the grayscale image replicated to this many channels

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"preprocessing mode must be one of {MODES}, got {self.mode!r}")
        if not len(self.mean) == len(self.std) == self.channels:
            raise ValueError(f"mean {self.mean} and std {self.std} need one value per channel ({self.channels})")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        return cls(int(config["image_size"]), tuple(config["mean"]), tuple(config["std"]),
                   config.get("mode", "pad"), int(config.get("channels", 3)))

    def to_config(self) -> dict[str, Any]:
        return {"image_size": self.image_size, "mode": self.mode, "channels": self.channels,
                "mean": list(self.mean), "std": list(self.std)}

    @cached_property
    def normalize(self) -> Normalize:
        return Normalize(self.mean, self.std)

    def tensor(self, pixels: np.ndarray) -> torch.Tensor:
        """A square uint8 image (``square_image`` of ``image_size`` and ``mode``) -> float [1, C, S, S]."""
        return self.normalize(torch.tensor(pixels)[None, None])
