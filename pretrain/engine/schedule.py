"""Learning-rate schedule: linear warmup, then cosine decay to ``min_ratio`` over the real run length."""
from __future__ import annotations

import math
from typing import Callable

import torch


def warmup_cosine(total_steps: int, warmup_steps: int, min_ratio: float = 0.0) -> Callable[[int], float]:
    """Multiplier of the base lr after ``step`` optimizer steps.

    A closure, not an object: ``LambdaLR.state_dict`` then stores only the step count, so a resumed run
    whose ``train.epochs`` changed follows the schedule of its new length.
    """
    warmup_steps = min(warmup_steps, total_steps)

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))
    return factor


def build_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int,
                    min_ratio: float) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(total_steps, warmup_steps, min_ratio))
