"""The run folder: where it is, whether it may be (re)used, the resolved config with provenance, and the
metrics (``metrics.csv`` and TensorBoard events). Checkpoints: ``checkpoint``.

Resuming checks the new config against the one in the checkpoint: only ``RESUMABLE_KEYS`` may differ
(see pretrain.config); anything else is refused with the differing keys named, because continuing a
run under other settings would silently produce a model that no config describes. (A setting added to
cxr after the run started is accepted at its default.)

A run folder appears only once the data, the model and a forward of its backbone have been checked. A run
that then fails (or is interrupted) leaves ``failed.txt``: the error, the step, and whether a checkpoint
exists to resume from; without one, starting the same run again reuses the folder, dropping its metrics.
"""
from __future__ import annotations

import csv
import logging
import math
import platform
import shutil
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import torch

from cxr.core.atomic import atomic_open, atomic_write_text
from cxr.core.errors import CxrError
from cxr.core.provenance import git_sha
from cxr.pretrain.config import RESUMABLE_KEYS, Config, diff, dump_yaml, flatten, load_config, to_dict
from cxr.pretrain.engine.checkpoint import LAST, load_checkpoint

CONFIG_NAME, FAILED = "config.yaml", "failed.txt"
log = logging.getLogger("pretrain")


def config_for_resume(run_dir: str | Path, overrides: list[str] | None = None,
                      config_path: str | Path | None = None) -> Config:
    """The config to resume ``run_dir`` with: its saved config.yaml (or ``config_path``) plus overrides."""
    run_dir = Path(run_dir)
    source = Path(config_path) if config_path else run_dir / CONFIG_NAME
    if not source.is_file():
        raise CxrError(f"cannot resume {run_dir}: no {CONFIG_NAME} there (is it a cxr pretrain run folder?)")
    return load_config(source, overrides)


def new_run_dir(cfg: Config, leftovers: tuple[str, ...] = ()) -> Path:
    """``cfg.run_dir``, unless it holds a run; an unfinished start's files, and the folders in ``leftovers``,
    are removed."""
    run_dir = cfg.run_dir
    if (run_dir / LAST).exists():
        raise CxrError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                       f"or pick another name (--set name=...)")
    run_dir.mkdir(parents=True, exist_ok=True)
    _drop_unfinished(run_dir, leftovers)
    return run_dir


def _drop_unfinished(run_dir: Path, leftovers: tuple[str, ...]) -> None:
    """The files of an earlier start of this run that wrote no checkpoint: nothing can resume them, and
    its metrics rows would otherwise be continued by this run's."""
    for name in (CSV_NAME, FAILED):
        (run_dir / name).unlink(missing_ok=True)
    for name in (TB_DIR, *leftovers):
        shutil.rmtree(run_dir / name, ignore_errors=True)


def mark_failed(run_dir: Path, exc: BaseException, step: int, epoch: int) -> None:
    """``failed.txt``: what stopped the run, where, and what can follow."""
    has_ckpt = (run_dir / LAST).exists()
    follow = (f"continue from its last checkpoint: cxr pretrain --resume {run_dir}" if has_ckpt else
              "no checkpoint was written, so there is nothing to resume: start the same config again "
              "(this folder is reused)")
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    text = (f"failed at step {step} (epoch {epoch + 1}) on {when}\n{type(exc).__name__}: {exc}\n{follow}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        atomic_write_text(run_dir / FAILED, text)
    except OSError as err:   # a full disk must not hide the error that stopped the run
        log.warning("could not write %s: %s", run_dir / FAILED, err)


def load_for_resume(run_dir: Path, cfg: Config) -> dict[str, Any]:
    """The last checkpoint of ``run_dir``, after checking ``cfg`` may continue it."""
    ckpt = load_checkpoint(run_dir / LAST)
    saved, new = ckpt["config"], to_dict(cfg)
    changed = [k for k in diff(saved, new) if k not in RESUMABLE_KEYS and k not in _added_at_default(saved, new)]
    if changed:
        fs, fn = flatten(saved), flatten(new)
        detail = "; ".join(f"{k}: {fs.get(k)!r} -> {fn.get(k)!r}" for k in changed)
        raise CxrError(f"cannot resume {run_dir}: the config differs in {', '.join(changed)} ({detail}). "
                       f"Only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume; start a new run instead.")
    return ckpt


def _added_at_default(saved: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """Keys the run's saved config lacks (settings added to cxr since it started) that ``new`` leaves at
    their default."""
    defaults, fs, fn = flatten(to_dict(Config())), flatten(saved), flatten(new)
    return {k for k, v in defaults.items() if k not in fs and fn.get(k) == v}


def check_data_hash(ckpt: dict[str, Any], record: dict[str, Any], run_dir: Path) -> None:
    if ckpt.get("data_hash") != record.get("hash"):
        raise CxrError(f"cannot resume {run_dir}: the training data changed (hash {ckpt.get('data_hash')} "
                       f"when it started, {record.get('hash')} now)")


def write_config(run_dir: Path, cfg: Config, data_record: dict[str, Any], world_size: int,
                 resumed_at: int | None) -> None:
    provenance = {
        "git_sha": git_sha(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data_record, "world_size": world_size, "torch": str(torch.__version__),
        "python": platform.python_version(), "host": platform.node(),
        "resumed_at_step": resumed_at,
    }
    atomic_write_text(run_dir / CONFIG_NAME, dump_yaml({**to_dict(cfg), "provenance": provenance}))


# --- metrics ----------------------------------------------------------------------------------------------
#: Long format (``step,epoch,split,metric,value``) because train and validation log different terms and
#: per-label AUCs; ``pandas.read_csv(...).pivot_table(index=["step","split"], columns="metric")`` widens it.
FIELDS = ("step", "epoch", "split", "metric", "value")
CSV_NAME, TB_DIR = "metrics.csv", "tensorboard"


class MetricsLogger:
    """``metrics.csv`` (flushed every row) and TensorBoard events; rank 0 only.

    On resume, rows past the checkpoint's step (written by the interrupted process) are dropped first, so
    the file reads as one uninterrupted run.
    """

    def __init__(self, run_dir: Path, resume_step: int | None = None, tensorboard: bool = True):
        self.path = run_dir / CSV_NAME
        if resume_step is not None and self.path.exists():
            _truncate_after(self.path, resume_step)
        new = not self.path.exists()
        self._fh = open(self.path, "a", newline="", encoding="utf-8")
        self._csv = csv.writer(self._fh)
        if new:
            self._csv.writerow(FIELDS)
            self._fh.flush()
        self._tb = _tensorboard(run_dir / TB_DIR, resume_step) if tensorboard else None

    def log(self, step: int, epoch: int, split: str, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self._csv.writerow((step, epoch, split, name, repr(float(value))))
            if self._tb is not None and math.isfinite(value):
                self._tb.add_scalar(f"{split}/{name}", value, step)
        self._fh.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def _truncate_after(path: Path, step: int) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(keep)


def _tensorboard(folder: Path, resume_step: int | None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
        return None
    return SummaryWriter(str(folder), purge_step=None if resume_step is None else resume_step + 1)
