"""Run metrics: ``metrics.csv`` (long format, flushed every row) and TensorBoard events. Rank 0 only.

Long format (``step,epoch,split,metric,value``) because train and validation log different terms and
per-label AUCs; ``pandas.read_csv(...).pivot_table(index=["step","split"], columns="metric")`` widens it.
On resume, rows past the checkpoint's step (written by the interrupted process) are dropped first, so
the file reads as one uninterrupted run.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Mapping

from cxr.core.atomic import atomic_open

FIELDS = ("step", "epoch", "split", "metric", "value")
CSV_NAME, TB_DIR = "metrics.csv", "tensorboard"


class MetricsLogger:
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
        self._tb = _writer(run_dir / TB_DIR, resume_step) if tensorboard else None

    def log(self, step: int, epoch: int, split: str, values: Mapping[str, float]) -> None:
        for name, value in values.items():
            self._csv.writerow((step, epoch, split, name, _fmt(value)))
            if self._tb is not None and math.isfinite(value):
                self._tb.add_scalar(f"{split}/{name}", value, step)
        self._fh.flush()
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def _fmt(value: float) -> str:
    return repr(float(value))


def _truncate_after(path: Path, step: int) -> None:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(keep)


def _writer(folder: Path, resume_step: int | None):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is a dependency, but a broken install must not stop training
        return None
    return SummaryWriter(str(folder), purge_step=None if resume_step is None else resume_step + 1)
