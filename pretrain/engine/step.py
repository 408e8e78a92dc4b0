"""One optimizer step, top to bottom. The trainer's loop calls ``Stepper.micro`` on every micro-batch
(already augmented, collated and on the device: ``loader``) and ``Stepper.update`` after every
``optim.accum_steps`` of them:

1. ``forward_terms``: the model under autocast; per-sample outputs and the targets are gathered across
   processes (outputs with gradients), so the objective sees the GLOBAL batch: contrastive terms get
   every process's negatives and every process computes the same loss (``distributed.all_gather_with_grad``).
   The objective returns its terms: ``loss`` plus detached terms to log.
2. backward of ``loss / accum_steps`` (scaled for fp16); DDP syncs gradients on the last micro-batch only.
3. the non-finite check, one micro-batch late (``FiniteWatch``), so the host never waits for the device.
4. ``update``: unscale, clip the gradient norm, AdamW, the lr schedule (``warmup_cosine``), temperature
   clamping (``model.after_step``).
5. the terms of the steps between two metric rows are summed on the device (``Window``).
"""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch

from cxr.core.errors import CxrError
from cxr.pretrain.config import Config, OptimConfig
from cxr.pretrain.engine.distributed import all_gather_nograd, all_gather_with_grad

Terms = dict[str, torch.Tensor]
#: Model outputs with one row per sample; the rest (prototypes, scales) are shared parameters.
PER_SAMPLE = ("image_emb", "text_emb", "label_emb")
TARGETS = ("labels", "annotated", "has_report", "has_text", "index")


class TrainingError(CxrError):
    """Training cannot go on (non-finite loss, out of memory, ...); the message says where and what to do."""


def forward_terms(model: torch.nn.Module, objective: Callable, batch: dict[str, torch.Tensor],
                  autocast: contextlib.AbstractContextManager, grad: bool = True):
    """-> (terms, gathered outputs, gathered targets). Outputs are cast to fp32 before the loss.

    Shared by training and validation."""
    with autocast:
        out = model(batch["image"], batch.get("input_ids"), batch.get("attention_mask"))
    gather = all_gather_with_grad if grad else all_gather_nograd
    out = {k: gather(v.float()) if k in PER_SAMPLE else v.float() for k, v in out.items()}
    targets = _gather_targets(batch)
    return objective(out, targets), out, targets


def _gather_targets(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key in TARGETS:
        t = batch[key]
        # gloo cannot all_gather bool tensors; uint8 round-trips them
        out[key] = all_gather_nograd(t.to(torch.uint8)).bool() if t.dtype == torch.bool else all_gather_nograd(t)
    return out


class Stepper:
    """The state an optimizer step uses and changes: optimizer, lr schedule, grad scaler, precision."""

    def __init__(self, model: torch.nn.Module, net: torch.nn.Module, ddp: Any, objective: Callable, cfg: Config,
                 device: torch.device, steps_per_epoch: int, last_good: Path):
        o = cfg.optim
        self.model, self.net, self.ddp, self.objective = model, net, ddp, objective
        self.accum, self.grad_clip = o.accum_steps, o.grad_clip
        self.device_type = device.type
        self.precision = _precision(cfg.train.precision, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == torch.float16)
        self.finite = FiniteWatch(device, last_good)
        self.optimizer = _adamw(model, o, fused=device.type == "cuda")
        self.total_steps = cfg.train.epochs * steps_per_epoch
        warmup = round(o.warmup_epochs * steps_per_epoch)
        # the cosine's length: the run's, or optim.horizon_epochs (the paper decays over 100 epochs and
        # stops at 30, so its rate ends near 0.8 x lr)
        horizon = round(o.horizon_epochs * steps_per_epoch) if o.horizon_epochs > 0 else self.total_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, warmup_cosine(horizon, warmup, o.min_lr_ratio))

    def micro(self, batch: dict[str, torch.Tensor], sync: bool, where: tuple[int, int, int]) -> Terms:
        """Forward and backward of one micro-batch; DDP syncs gradients only when ``sync`` (the last one of
        a step). ``where`` (step, epoch, batch; 1-based) names it if its loss turns out non-finite."""
        no_sync = self.ddp.no_sync() if (self.ddp is not None and not sync) else contextlib.nullcontext()
        with no_sync:
            terms, _, _ = forward_terms(self.net, self.objective, batch, self.autocast(), grad=True)
            loss = terms["loss"]
            self.scaler.scale(loss / self.accum).backward()
        self.finite.push(loss, where)
        self.finite.check(keep=1)
        return terms

    def update(self) -> None:
        """The optimizer step on the accumulated gradients, then the lr schedule and temperature clamping."""
        self.scaler.unscale_(self.optimizer)
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.model.after_step()

    def autocast(self):
        # (the dtype of a disabled autocast is irrelevant but must be one the device type accepts)
        return torch.autocast(self.device_type, dtype=self.precision or torch.bfloat16,
                              enabled=self.precision is not None)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])


def _adamw(model: torch.nn.Module, o: OptimConfig, fused: bool) -> torch.optim.AdamW:
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            # biases, norms and temperatures (1-d / scalars) are not weight-decayed
            (decay if p.ndim >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps, fused=fused)


def warmup_cosine(total_steps: int, warmup_steps: int, min_ratio: float = 0.0) -> Callable[[int], float]:
    """Multiplier of the base lr after ``step`` optimizer steps: linear warmup, then cosine decay to
    ``min_ratio`` at ``total_steps`` (the run length, or a longer horizon the run stops before).

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


def _precision(name: str, device: torch.device) -> torch.dtype | None:
    """None = fp32 without autocast."""
    if name == "auto":
        name = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if name == "fp16" and device.type != "cuda":
        raise CxrError("train.precision=fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[name]


class FiniteWatch:
    """Non-finite loss detection without a host-device sync per step.

    Reading the loss on the host every step (``float(loss)``) stalls the GPU: the next step's kernels are
    only queued once the current ones finished. Instead each step's "is finite" flag is copied to pinned
    host memory asynchronously and read one step later, when the next step is already queued. Before a
    checkpoint is written every pending flag is read, so a checkpoint never holds weights that a
    non-finite loss touched.
    """

    def __init__(self, device: torch.device, last_good: Path):
        self.cuda = device.type == "cuda"
        self.last_good = last_good
        self.pending: list[tuple[torch.Tensor, Any, torch.Tensor, tuple[int, int, int]]] = []

    def push(self, loss: torch.Tensor, where: tuple[int, int, int]) -> None:
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
        """Read all but the newest ``keep`` flags; raise ``TrainingError`` for the first bad one."""
        while len(self.pending) > keep:
            ok, event, loss, (step, epoch, batch) = self.pending.pop(0)
            if event is not None:
                event.synchronize()
            if not bool(ok):
                self.pending.clear()
                raise TrainingError(
                    f"loss is {float(loss)} at step {step} (epoch {epoch}, batch {batch}); training stopped. "
                    f"The last good checkpoint is {self.last_good} (if one was written). "
                    f"Try a lower optim.lr, train.precision=fp32, or optim.grad_clip=1.0.")


class Window:
    """Running sums of the loss terms between two metric rows (kept on the device: no sync per step)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps, self.images, self.start = 0, 0, time.perf_counter()

    def add(self, terms: Terms, images: int) -> None:
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0) + v.detach().float()
        self.steps += 1
        self.images += images

    def flush(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.start
        row = {k: float(v) / max(self.steps, 1) for k, v in self.sums.items()}
        row["images_per_s"] = self.images / elapsed if elapsed > 0 else float("nan")
        self.reset()
        return row
