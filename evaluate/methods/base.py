"""What an evaluation method receives and returns, and the one place result rows are built."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cxr.core.progress import Progress, null_progress

from cxr.evaluate import metrics
from cxr.evaluate.classnames import Partition
from cxr.evaluate.config import EvalConfig
from cxr.evaluate.encoders import EncoderHandle
from cxr.evaluate.prompts import TaskPrompts
from cxr.core.registry import Registry
from cxr.evaluate.splitfile import Split

#: a method: (MethodContext) -> MethodOutput
METHODS: Registry[Callable[["MethodContext"], "MethodOutput"]] = Registry("evaluation method")

RESULT_COLUMNS = ["task", "method", "k", "seed", "encoder", "aca", "auc", "f1", "kappa", "n_test",
                  "split_hash", "base_aca", "novel_aca", "n_base", "n_novel"]


@dataclass
class TaskData:
    name: str
    split: Split
    partition: Partition
    prompts: TaskPrompts

    @property
    def classes(self) -> list[str]:
        return self.split.classes


@dataclass
class MethodContext:
    task: TaskData
    encoder: EncoderHandle
    arrays: Callable[[str, str], np.ndarray]     # (kind, part) -> cached encoder outputs of the split part
    config: EvalConfig
    describe: Callable[[str], list[str]] | None = None
    onto: object = None
    progress: Progress = null_progress


@dataclass
class MethodOutput:
    rows: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)     # recorded under the task in config.yaml


def result_row(ctx: MethodContext, method: str, k, seed: int, y_true: np.ndarray, scores: np.ndarray) -> dict:
    m = metrics.all_metrics(y_true, scores)
    y_pred = scores.argmax(axis=1)
    part = ctx.task.partition
    n = len(ctx.task.classes)
    return {
        "task": ctx.task.name, "method": method, "k": k, "seed": seed, "encoder": ctx.encoder.name,
        **m, "n_test": int(len(y_true)), "split_hash": ctx.task.split.sha256,
        "base_aca": metrics.subset_aca(y_true, y_pred, n, list(part.base)) if part.known else math.nan,
        "novel_aca": metrics.subset_aca(y_true, y_pred, n, list(part.novel)) if part.known else math.nan,
        "n_base": len(part.base) if part.known else math.nan,
        "n_novel": len(part.novel) if part.known else math.nan,
    }
