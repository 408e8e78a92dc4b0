"""The training loop: one code path for CPU, one GPU and torchrun (DDP over many GPUs / nodes).

``train(cfg, resume=None, progress=None)`` is the library entry point; the CLI only builds the config.
One optimizer step reads top to bottom in three files: ``loader`` (batches: sampling, augmentation,
collation, to the device), ``step`` (forward, objective terms, backward over ``accum_steps``
micro-batches, clipping, AdamW and lr step) and ``Trainer._train_epoch`` here (the loop, a metric row
every ``log_every`` steps, ``checkpoint-last.pt`` every ``ckpt_every`` steps). Per epoch: validation,
early stopping on the validation loss, ``checkpoint-last.pt`` (+ ``checkpoint-best.pt`` when it
improved). At the end the best (else last) weights are exported to ``RUN/export``.
"""
from __future__ import annotations

import logging
import math
import random
import shutil
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
from cxr.pretrain.engine.data import build_datasets, check_text
from cxr.pretrain.engine.distributed import (DistContext, all_gather_object, barrier, broadcast_object,
                                             init_distributed, shutdown)
from cxr.pretrain.engine.loader import Collate, DevicePrep, EpochBatchSampler, ItemView, make_loader
from cxr.pretrain.engine.step import Stepper, TrainingError, Window
from cxr.pretrain.engine.validation import evaluate
from cxr.pretrain.export import RUN_EXPORT, RUN_TEXT, export_trained
from cxr.pretrain.models.backbones import check_backbone
from cxr.pretrain.models.build import build_model
from cxr.pretrain.objectives import build_objective

log = logging.getLogger("pretrain")


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
        # Everything that can be checked before a step is, before a run folder appears: the data, text for
        # a text objective, the model and one forward of its backbone at the configured size.
        self.data = build_datasets(cfg)
        self.objective = build_objective(cfg)
        counts = check_text(self.data, self.objective, cfg)
        if counts is not None:
            self.data.record["text"] = counts
        _seed(cfg.seed)
        self._build_model()
        check_backbone(self.model.backbone, cfg.data.image_size, cfg.model.backbone, ctx.device)
        self._build_loaders()
        self.run_dir, ckpt = self._open_run(resume)
        if ckpt is not None:
            runfolder.check_data_hash(ckpt, self.data.record, self.run_dir)
        self.stepper = Stepper(self.model, self.net, self.ddp, self.objective, cfg, ctx.device,
                               self.steps_per_epoch, self.run_dir / LAST)
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
                    runfolder.new_run_dir(self.cfg, leftovers=(RUN_TEXT,))   # its text encoder's files
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

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.stepper.load_state_dict(ckpt)
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
        (self.run_dir / runfolder.FAILED).unlink(missing_ok=True)   # an earlier attempt's; this one is live
        if self.objective.heads.text and not (self.run_dir / RUN_TEXT).exists():
            self.model.text.save_config(self.run_dir / RUN_TEXT)
        self.metrics = runfolder.MetricsLogger(self.run_dir, resume_step=resumed_at)

    # --- the loop ----------------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        try:
            while self.epoch < self.cfg.train.epochs and not self.stopped_early:
                self._train_epoch(self.epoch)
                self._end_epoch(self.epoch)
            export_dir = self._export() if self.ctx.is_main else None
        except BaseException as exc:   # interrupts too: the folder says what happened and what can follow
            if self.ctx.is_main:
                runfolder.mark_failed(self.run_dir, exc, self.step, self.epoch)
            raise
        finally:
            if self.metrics is not None:
                self.metrics.close()
        barrier()
        best = None if math.isinf(self.best_val) else self.best_val
        return TrainResult(self.run_dir, self.step, self.epoch, best, self.stopped_early, export_dir,
                           self.last_val)

    def _train_epoch(self, epoch: int) -> None:
        self.train_sampler.set_epoch(epoch, skip=self.batch_in_epoch)
        self.net.train()
        window = Window()
        for batch in self.train_loader:   # augmented and collated by the loader's workers
            last_micro = (self.batch_in_epoch + 1) % self.accum == 0
            terms = self.stepper.micro(self.prep(batch), sync=last_micro,
                                       where=(self.step + 1, epoch + 1, self.batch_in_epoch + 1))
            window.add(terms, len(batch["index"]) * self.ctx.world_size)
            self.batch_in_epoch += 1
            if not last_micro:
                continue
            self.stepper.update()
            self.step += 1
            self._after_step(epoch, window)

    def _after_step(self, epoch: int, window: Window) -> None:
        t = self.cfg.train
        end_of_epoch = self.batch_in_epoch == self.steps_per_epoch * self.accum
        if self.step % t.log_every == 0 or end_of_epoch:
            row = window.flush()
            row["lr"] = self.stepper.scheduler.get_last_lr()[0]
            if self.metrics is not None:
                self.metrics.log(self.step, epoch, "train", row)
        self.progress(self.step, self.stepper.total_steps, "pretrain")
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
        val = evaluate(self.net, self.val_loader, self.prep, self.objective, self.stepper.autocast(), names,
                       self.cfg.data.uncertain, self.cfg.data.missing)
        self.last_val = val
        return val

    # --- state ---------------------------------------------------------------------------------------------
    def _save(self, name: str) -> None:
        self.stepper.finite.check()   # never write weights a non-finite loss has touched
        rng = all_gather_object(capture_rng())
        if not self.ctx.is_main:
            return
        save_checkpoint(self.run_dir / name, {
            "model": self.model.state_dict(), **self.stepper.state_dict(), "rng": rng,
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
        return export_trained(self.model, self.cfg, self.run_dir / RUN_EXPORT, label_names=self.data.label_names,
                              data=self.data.record, extra=extra)


def export_init(cfg: Config, out_dir: str | Path) -> Path:
    """Export the model ``cfg`` describes as training would start it (same data checks, seed and build, no
    step): the untrained baseline of any config's architecture and init, evaluated like any export."""
    data = build_datasets(cfg)
    heads = build_objective(cfg).heads
    _seed(cfg.seed)
    model = build_model(cfg, heads, len(data.label_names))
    check_backbone(model.backbone, cfg.data.image_size, cfg.model.backbone)
    # no pre-training data hashes: this model has seen none (docs/contracts.md, "pretraining")
    seen = {k: data.record[k] for k in ("image_mode", "vocabulary") if data.record.get(k) is not None}
    extra = {"objective": cfg.objective.name, "source": {
        "init": cfg.model.init, "pretrained": cfg.model.pretrained, "seed": cfg.seed, "step": 0,
        "git_sha": git_sha()}}
    return export_trained(model, cfg, out_dir, label_names=data.label_names, data=seen, extra=extra)


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)


def _copy_atomic(src: Path, dst: Path) -> None:
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)

