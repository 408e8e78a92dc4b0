"""Non-finite loss detection without a host-device sync per step.

Reading the loss on the host every step (``float(loss)``) stalls the GPU: the next step's kernels are
only queued once the current ones finished. Instead each step's "is finite" flag is copied to pinned
host memory asynchronously and read one step later, when the next step is already queued. Before a
checkpoint is written every pending flag is read, so a checkpoint never holds weights that a
non-finite loss touched.
"""
from __future__ import annotations

from typing import Any

import torch


class NonFiniteLoss(Exception):
    def __init__(self, value: float, where: Any):
        super().__init__(f"loss is {value} at {where}")
        self.value, self.where = value, where


class FiniteWatch:
    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.pending: list[tuple[torch.Tensor, Any, torch.Tensor, Any]] = []

    def push(self, loss: torch.Tensor, where: Any) -> None:
        loss = loss.detach()
        ok = torch.isfinite(loss)
        event = None
        if self.cuda:
            host = torch.empty((), dtype=torch.bool, pin_memory=True)
            host.copy_(ok, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            ok = host
        self.pending.append((ok, event, loss, where))

    def check(self, keep: int = 0) -> None:
        """Read all but the newest ``keep`` flags; raise ``NonFiniteLoss`` for the first bad one."""
        while len(self.pending) > keep:
            ok, event, loss, where = self.pending.pop(0)
            if event is not None:
                event.synchronize()
            if not bool(ok):
                self.pending.clear()
                raise NonFiniteLoss(float(loss), where)
