"""The training loop: one code path for CPU, one GPU and torchrun (DDP over many GPUs / nodes).

``train(cfg, resume=None, progress=None)`` is the library entry point; the CLI only builds the config.
Per optimizer step: ``accum_steps`` micro-batches (DDP gradient sync on the last one only), gradient
clipping, AdamW, warmup+cosine lr, temperature clamping; a metric row every ``log_every`` steps and
``checkpoint-last.pt`` every ``ckpt_every`` steps. Per epoch: validation, early stopping on the
validation loss, ``checkpoint-last.pt`` (+ ``checkpoint-best.pt`` when it improved). At the end the best
(else last) weights are exported to ``RUN/export``.
"""
from __future__ import annotations

import contextlib
import logging
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from cxr.core.atomic import atomic_path
from cxr.core.errors import CxrError
from cxr.core.progress import Progress, null_progress
from cxr.core.provenance import git_sha
from cxr.pretrain.config import Config, to_dict
from cxr.pretrain.engine import run as runfolder
from cxr.pretrain.engine.checkpoint import BEST, LAST, capture_rng, load_checkpoint, restore_rng, save_checkpoint
from cxr.pretrain.engine.data import build_datasets
from cxr.pretrain.engine.distributed import (DistContext, all_gather_object, broadcast_object, init_distributed,
                                         shutdown)
from cxr.pretrain.engine.finite import FiniteWatch, NonFiniteLoss
from cxr.pretrain.engine.loader import Collate, DevicePrep, EpochBatchSampler, ItemView, make_loader
from cxr.pretrain.engine.metrics import MetricsLogger
from cxr.pretrain.engine.schedule import build_scheduler
from cxr.pretrain.engine.step import forward_terms
from cxr.pretrain.engine.validation import evaluate
from cxr.pretrain.export import export_model
from cxr.pretrain.models.build import build_model
from cxr.pretrain.objectives import build_objective

log = logging.getLogger("pretrain")
EXPORT = "export"
TEXT_CONFIG = "text-encoder"   # text-encoder config + tokenizer, so `cxr pretrain export` works offline


class TrainingError(CxrError):
    """Training cannot go on (non-finite loss, out of memory, ...); the message says where and what to do."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    epoch: int
    best_val_loss: float | None
    stopped_early: bool
    export_dir: Path | None
    val: dict[str, float] = field(default_factory=dict)


def train(cfg: Config, resume: str | Path | None = None, progress: Progress | None = None) -> TrainResult:
    """Train (or, with ``resume=RUN_DIR``, continue) the run described by ``cfg``."""
    joined = dist.is_available() and dist.is_initialized()
    ctx = init_distributed(cfg.train.device)
    try:
        return Trainer(cfg, ctx, resume, progress).fit()
    except torch.cuda.OutOfMemoryError:
        raise TrainingError(
            f"CUDA out of memory with train.batch_size={cfg.train.batch_size} on {ctx.world_size} process(es), "
            f"image size {cfg.data.image_size}. Lower the batch (--batch-size), keep the global batch with "
            f"gradient accumulation (--set optim.accum_steps=2), use bf16 (--set train.precision=bf16), "
            f"or a smaller image size.") from None
    finally:
        if not joined:
            shutdown()


class Trainer:
    def __init__(self, cfg: Config, ctx: DistContext, resume: str | Path | None, progress: Progress | None):
        self.cfg, self.ctx = cfg, ctx
        self.progress = progress if (progress and ctx.is_main) else null_progress
        self.accum = cfg.optim.accum_steps
        self.micro_batch = self._micro_batch()
        self.data = build_datasets(cfg)   # first: bad data settings fail before a run folder appears
        self.run_dir, ckpt = self._open_run(resume)
        _seed(cfg.seed)
        if ckpt is not None:
            runfolder.check_data_hash(ckpt, self.data.record, self.run_dir)
        self.objective = build_objective(cfg)
        self._build_model()
        self._build_loaders()
        self._build_optimizer()
        self.epoch, self.batch_in_epoch, self.step = 0, 0, 0
        self.best_val, self.bad_epochs, self.stopped_early = math.inf, 0, False
        self.last_val: dict[str, float] = {}
        if ckpt is not None:
            self._restore(ckpt)
        else:
            _seed(cfg.seed + ctx.rank)  # per-process dropout streams; a resumed run restores its RNG instead
        self._write_run_files(resumed_at=self.step if ckpt is not None else None)

    # --- setup ------------------------------------------------------------------------------------------
    def _micro_batch(self) -> int:
        per = self.ctx.world_size * self.accum
        if self.cfg.train.batch_size % per:
            raise CxrError(f"train.batch_size={self.cfg.train.batch_size} (global) is not divisible by "
                           f"processes x accum_steps = {self.ctx.world_size} x {self.accum}")
        return self.cfg.train.batch_size // per

    def _open_run(self, resume):
        if resume is None:
            # rank 0 decides; the others learn its verdict (a lone raise would leave them waiting)
            problem = None
            if self.ctx.is_main:
                try:
                    runfolder.new_run_dir(self.cfg)
                except CxrError as exc:
                    problem = str(exc)
            problem = broadcast_object(problem)
            if problem:
                raise CxrError(problem)
            return self.cfg.run_dir, None
        run_dir = Path(resume)
        return run_dir, runfolder.load_for_resume(run_dir, self.cfg)

    def _build_model(self) -> None:
        cfg, ctx = self.cfg, self.ctx
        model = build_model(cfg, self.objective.heads, len(self.data.label_names)).to(ctx.device)
        if cfg.model.channels_last:
            model = model.to(memory_format=torch.channels_last)
        if cfg.model.sync_bn and ctx.distributed:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model = model
        self.ddp = None
        net: torch.nn.Module = model
        if ctx.distributed:
            from torch.nn.parallel import DistributedDataParallel
            self.ddp = net = DistributedDataParallel(
                model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
        self.net = torch.compile(net) if cfg.model.compile else net
        self.precision = _precision(cfg.train.precision, ctx.device)
        self.scaler = torch.amp.GradScaler(ctx.device.type, enabled=self.precision == torch.float16)
        self.finite = FiniteWatch(ctx.device)

    def _build_loaders(self) -> None:
        cfg, ctx, d = self.cfg, self.ctx, self.cfg.data
        text = self.model.text if self.objective.heads.text else None
        collate = Collate(text.tokenizer if text else None, cfg.model.text_max_length)
        pin = ctx.device.type == "cuda"
        self.train_sampler = EpochBatchSampler(len(self.data.train), self.micro_batch, ctx.rank, ctx.world_size,
                                               cfg.seed, shuffle=True, drop_last=True, multiple_of=self.accum)
        self.steps_per_epoch = self.train_sampler.batches_per_epoch() // self.accum
        if self.steps_per_epoch == 0:
            raise CxrError(f"{len(self.data.train)} training items cannot fill one global batch of "
                           f"{cfg.train.batch_size}: lower train.batch_size")
        self.train_loader = make_loader(ItemView(self.data.train, d.image_size, cfg.augment, cfg.seed),
                                        self.train_sampler, collate, d.workers, d.prefetch, pin)
        self.val_loader = None
        if self.data.val is not None:
            sampler = EpochBatchSampler(len(self.data.val), self.micro_batch * self.accum, ctx.rank,
                                        ctx.world_size, cfg.seed, shuffle=False, drop_last=False)
            self.val_loader = make_loader(ItemView(self.data.val, d.image_size, None, cfg.seed), sampler,
                                          collate, d.workers, d.prefetch, pin)
        self.prep = DevicePrep(ctx.device, self.model.mean, self.model.std, cfg.model.channels_last)

    def _build_optimizer(self) -> None:
        o = self.cfg.optim
        decay, no_decay = [], []
        for p in self.model.parameters():
            if p.requires_grad:
                # biases, norms and temperatures (1-d / scalars) are not weight-decayed
                (decay if p.ndim >= 2 else no_decay).append(p)
        groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        self.optimizer = torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps,
                                           fused=self.ctx.device.type == "cuda")
        self.total_steps = self.cfg.train.epochs * self.steps_per_epoch
        warmup = round(o.warmup_epochs * self.steps_per_epoch)
        self.scheduler = build_scheduler(self.optimizer, self.total_steps, warmup, o.min_lr_ratio)

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.batch_in_epoch, self.step = ckpt["epoch"], ckpt["batch_in_epoch"], ckpt["step"]
        self.best_val, self.bad_epochs = ckpt["best_val"], ckpt["bad_epochs"]
        rng = ckpt["rng"]
        if len(rng) == self.ctx.world_size:
            restore_rng(rng[self.ctx.rank])
        else:
            log.warning("resuming on %d process(es), checkpoint from %d: dropout RNG streams restart",
                        self.ctx.world_size, len(rng))
            _seed(self.cfg.seed + self.ctx.rank + self.step)

    def _write_run_files(self, resumed_at: int | None) -> None:
        if not self.ctx.is_main:
            self.metrics = None
            return
        runfolder.write_config(self.run_dir, self.cfg, self.data.record, self.ctx.world_size, resumed_at)
        if self.objective.heads.text and not (self.run_dir / TEXT_CONFIG).exists():
            self.model.text.save_config(self.run_dir / TEXT_CONFIG)
        self.metrics = MetricsLogger(self.run_dir, resume_step=resumed_at)

    # --- the loop ----------------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        try:
            while self.epoch < self.cfg.train.epochs and not self.stopped_early:
                self._train_epoch(self.epoch)
                self._end_epoch(self.epoch)
            export_dir = self._export() if self.ctx.is_main else None
        finally:
            if self.metrics is not None:
                self.metrics.close()
        _barrier(self.ctx)
        best = None if math.isinf(self.best_val) else self.best_val
        return TrainResult(self.run_dir, self.step, self.epoch, best, self.stopped_early, export_dir,
                           self.last_val)

    def _train_epoch(self, epoch: int) -> None:
        self.train_sampler.set_epoch(epoch, skip=self.batch_in_epoch)
        self.net.train()
        window = _Window()
        for batch in self.train_loader:
            terms = self._micro_step(self.prep(batch), epoch)
            window.add(terms, len(batch["index"]) * self.ctx.world_size)
            self.batch_in_epoch += 1
            if self.batch_in_epoch % self.accum:
                continue
            self._optimizer_step()
            self.step += 1
            self._after_step(epoch, window)

    def _micro_step(self, batch: dict[str, torch.Tensor], epoch: int) -> dict[str, torch.Tensor]:
        last_micro = (self.batch_in_epoch + 1) % self.accum == 0
        no_sync = self.ddp.no_sync() if (self.ddp is not None and not last_micro) else contextlib.nullcontext()
        with no_sync:
            terms, _, _ = forward_terms(self.net, self.objective, batch, self._autocast(), grad=True)
            loss = terms["loss"]
            self.scaler.scale(loss / self.accum).backward()
        self.finite.push(loss, (self.step + 1, epoch + 1, self.batch_in_epoch + 1))
        self._check_finite(keep=1)
        return terms

    def _check_finite(self, keep: int = 0) -> None:
        try:
            self.finite.check(keep)
        except NonFiniteLoss as bad:
            step, epoch, batch = bad.where
            raise TrainingError(
                f"loss is {bad.value} at step {step} (epoch {epoch}, batch {batch}); training stopped. "
                f"The last good checkpoint is {self.run_dir / LAST} (if one was written). "
                f"Try a lower optim.lr, train.precision=fp32, or optim.grad_clip=1.0.") from None

    def _optimizer_step(self) -> None:
        self.scaler.unscale_(self.optimizer)
        if self.cfg.optim.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.model.after_step()

    def _after_step(self, epoch: int, window: "_Window") -> None:
        t = self.cfg.train
        end_of_epoch = self.batch_in_epoch == self.steps_per_epoch * self.accum
        if self.step % t.log_every == 0 or end_of_epoch:
            row = window.flush()
            row["lr"] = self.scheduler.get_last_lr()[0]
            if self.metrics is not None:
                self.metrics.log(self.step, epoch, "train", row)
        self.progress(self.step, self.total_steps, "pretrain")
        if self.step % t.ckpt_every == 0:
            self._save(LAST)

    def _end_epoch(self, epoch: int) -> None:
        val = self._validate()
        self.epoch, self.batch_in_epoch = epoch + 1, 0
        improved = bool(val) and val["loss"] < self.best_val
        if improved:
            self.best_val, self.bad_epochs = val["loss"], 0
        elif val:
            self.bad_epochs += 1
        patience = self.cfg.train.patience
        self.stopped_early = bool(val) and patience > 0 and self.bad_epochs >= patience
        if val and self.metrics is not None:
            self.metrics.log(self.step, epoch, "val", val)   # before the save: a resume never loses it
        self._save(LAST)
        if improved and self.ctx.is_main:
            _copy_atomic(self.run_dir / LAST, self.run_dir / BEST)
        if self.ctx.is_main:
            log.info("epoch %d/%d step %d: val %s%s", epoch + 1, self.cfg.train.epochs, self.step,
                     {k: round(v, 4) for k, v in val.items() if "/" not in k},
                     " (early stop)" if self.stopped_early else "")

    def _validate(self) -> dict[str, float]:
        if self.val_loader is None:
            return {}
        self.val_loader.batch_sampler.set_epoch(0)  # same sentences every epoch: comparable losses
        names = self.data.label_names if self.objective.heads.labels else None
        val = evaluate(self.net, self.val_loader, self.prep, self.objective, self._autocast(), names,
                       self.cfg.data.uncertain, self.cfg.data.missing)
        self.last_val = val
        return val

    # --- state ---------------------------------------------------------------------------------------------
    def _save(self, name: str) -> None:
        self._check_finite()   # never write weights a non-finite loss has touched
        rng = all_gather_object(capture_rng())
        if not self.ctx.is_main:
            return
        save_checkpoint(self.run_dir / name, {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(), "rng": rng,
            "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step,
            "best_val": self.best_val, "bad_epochs": self.bad_epochs,
            "config": to_dict(self.cfg), "data_hash": self.data.record.get("hash"),
            "label_names": list(self.data.label_names), "world_size": self.ctx.world_size,
        })

    def _export(self) -> Path:
        best = self.run_dir / BEST
        which = "best" if best.exists() else "last"
        if best.exists():
            self.model.load_state_dict(load_checkpoint(best)["model"])
        extra = {"objective": self.cfg.objective.name, "source": {
            "run": str(self.run_dir.resolve()), "checkpoint": which, "step": self.step,
            "git_sha": git_sha()}}
        return export_model(self.model, self.run_dir / EXPORT, backbone=self.cfg.model.backbone,
                            image_size=self.cfg.data.image_size, label_names=self.data.label_names, extra=extra)

    def _autocast(self):
        # (the dtype of a disabled autocast is irrelevant but must be one the device type accepts)
        return torch.autocast(self.ctx.device.type, dtype=self.precision or torch.bfloat16,
                              enabled=self.precision is not None)


class _Window:
    """Running sums of the loss terms between two metric rows (kept on the device: no sync per step)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps, self.images, self.start = 0, 0, time.perf_counter()

    def add(self, terms: dict[str, torch.Tensor], images: int) -> None:
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


def _precision(name: str, device: torch.device) -> torch.dtype | None:
    """None = fp32 without autocast."""
    if name == "auto":
        name = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if name == "fp16" and device.type != "cuda":
        raise CxrError("train.precision=fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[name]


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def _copy_atomic(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)

