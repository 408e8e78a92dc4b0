"""Cheap per-item augmentation on uint8 images, run in DataLoader workers (about 0.5 ms at 224 px).

The random draws come from a generator seeded by (seed, epoch, item), never from a global RNG: the
same item gets the same augmentation whatever the worker count, the number of processes, or a resume
in the middle of an epoch.
"""
from __future__ import annotations

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from cxr.pretrain.config import AugmentConfig


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def augment(image: torch.Tensor, cfg: AugmentConfig, rng: np.random.Generator) -> torch.Tensor:
    """The paper's recipe: horizontal flip, small affine (rotation + zoom out), brightness/contrast jitter."""
    u = rng.random(3)
    if u[0] < cfg.p:
        angle = float(rng.uniform(-cfg.rotate, cfg.rotate))
        scale = float(rng.uniform(*cfg.scale))
        image = TF.affine(image, angle=angle, translate=[0, 0], scale=scale, shear=[0.0, 0.0])
    if u[1] < cfg.hflip:
        image = TF.horizontal_flip(image)
    if u[2] < cfg.p:
        image = TF.adjust_brightness(image, float(rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)))
        image = TF.adjust_contrast(image, float(rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)))
    return image


def fit_size(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a square [1, S, S] cache image to ``size`` (no-op when it already has that size)."""
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return TF.resize(image, [size, size], antialias=True)
