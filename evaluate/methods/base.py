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

#: ``subset``: "all" (every class of the task), or "base" / "novel" (only those classes and their test
#: images, scored as a classification problem of their own; the paper protocol's zero-shot numbers)
SUBSETS = ("all", "base", "novel")
RESULT_COLUMNS = ["task", "method", "subset", "k", "seed", "encoder", "aca", "auc", "f1", "kappa", "n_test",
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
    """The row of the whole task (subset "all"); base_aca / novel_aca: recall of those classes' images
    within the all-class problem."""
    m = metrics.all_metrics(y_true, scores)
    y_pred = scores.argmax(axis=1)
    part = ctx.task.partition
    n = len(ctx.task.classes)
    return {
        **_row_head(ctx, method, "all", k, seed), **m, "n_test": int(len(y_true)),
        "split_hash": ctx.task.split.sha256,
        "base_aca": metrics.subset_aca(y_true, y_pred, n, list(part.base)) if part.known else math.nan,
        "novel_aca": metrics.subset_aca(y_true, y_pred, n, list(part.novel)) if part.known else math.nan,
        **_counts(part),
    }


def subset_row(ctx: MethodContext, method: str, subset: str, k, seed: int, y_true: np.ndarray,
               scores: np.ndarray | None) -> dict:
    """The row of a separate base or novel problem: ``y_true`` and the columns of ``scores`` already
    restricted to that subset's classes (re-indexed); ``scores`` None when the encoder cannot score them
    (every metric NaN, shown as "–")."""
    m = metrics.all_metrics(y_true, scores) if scores is not None else \
        {name: math.nan for name in ("aca", "auc", "f1", "kappa")}
    return {**_row_head(ctx, method, subset, k, seed), **m, "n_test": int(len(y_true)),
            "split_hash": ctx.task.split.sha256, "base_aca": math.nan, "novel_aca": math.nan,
            **_counts(ctx.task.partition)}


def _row_head(ctx: MethodContext, method: str, subset: str, k, seed: int) -> dict:
    return {"task": ctx.task.name, "method": method, "subset": subset, "k": k, "seed": seed,
            "encoder": ctx.encoder.name}


def _counts(part: Partition) -> dict:
    return {"n_base": len(part.base) if part.known else math.nan,
            "n_novel": len(part.novel) if part.known else math.nan}
