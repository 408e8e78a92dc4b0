"""Zero-shot transfer: nearest class embedding (text prompts or label-head prototypes), no training.

The protocol's route decides which head scores each class (``cxr.evaluate.class_embeddings.ROUTES``).
With ``subsets`` (the paper protocol) the base and the novel classes are also scored as two separate
problems: only that subset's test images, a softmax over only its classes. A subset the encoder cannot
score at all (a unimodal encoder's novel classes) gives a row of NaN, the paper's "–".
"""
from __future__ import annotations

import numpy as np

from cxr.evaluate.class_embeddings import (ClassEmbeddings, build_class_embeddings, head_logit_scale,
                                           softmax_over, zero_shot_logits)
from cxr.evaluate.methods.base import METHODS, MethodContext, MethodOutput, result_row, subset_row

#: head -> the ``ctx.arrays`` kind of the image embedding that pairs with it, when the encoder has a label
#: head (then the default embedding is the label head's); an encoder with one head uses "embed" for it.
TWO_HEAD_KINDS = {"label": "embed", "text": "embed-text"}


@METHODS.register("zero-shot")
def zero_shot(ctx: MethodContext) -> MethodOutput:
    model, task, zs = ctx.encoder.model, ctx.task, ctx.config.zero_shot
    ce = build_class_embeddings(model, task.classes, task.prompts, ctx.describe, ctx.onto, zs.route)
    warnings = [f"{task.name}: {w}" for w in ce.warnings]
    details = {"class_sources": dict(zip(task.classes, ce.sources)), "zero_shot_route": zs.route}
    if not ce.predictable.any():
        return MethodOutput([], warnings + [f"{task.name}: zero-shot skipped, no class is predictable"], details)
    logits = _logits(ctx, ce)
    y_test = task.split.labels("test")
    rows = [result_row(ctx, "zero-shot", 0, 0, y_test, softmax_over(logits))]
    if zs.subsets and task.partition.known:
        for subset in ("base", "novel"):
            rows += _subset_rows(ctx, subset, getattr(task.partition, subset), logits, ce, y_test)
    return MethodOutput(rows, warnings, details)


def _logits(ctx: MethodContext, ce: ClassEmbeddings) -> np.ndarray:
    encoder = ctx.encoder
    heads = sorted({h for h in ce.heads if h})
    kind = (lambda h: TWO_HEAD_KINDS[h]) if encoder.has_label_head else (lambda h: "embed")
    emb = {h: ctx.arrays(kind(h), "test") for h in heads}
    return zero_shot_logits(emb, ce, {h: head_logit_scale(encoder.model, h) for h in heads})


def _subset_rows(ctx, subset: str, columns: tuple[int, ...], logits, ce, y_test) -> list[dict]:
    """The subset as its own problem; none when it has fewer than two classes (nothing to choose)."""
    if len(columns) < 2:
        return []
    keep = np.isin(y_test, columns)
    y_sub = np.searchsorted(np.array(columns), y_test[keep])   # columns are sorted class indices
    scorable = ce.predictable[list(columns)].any()
    scores = softmax_over(logits[keep], columns) if scorable else None
    return [subset_row(ctx, "zero-shot", subset, 0, 0, y_sub, scores)]
