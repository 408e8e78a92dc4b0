"""Zero-shot transfer: nearest class embedding (text prompts or label-head prototypes), no training."""
from __future__ import annotations

from cxr.evaluate.class_embeddings import build_class_embeddings, zero_shot_scores
from cxr.evaluate.methods.base import METHODS, MethodContext, MethodOutput, result_row


@METHODS.register("zero-shot")
def zero_shot(ctx: MethodContext) -> MethodOutput:
    model, task = ctx.encoder.model, ctx.task
    ce = build_class_embeddings(model, task.classes, task.prompts, ctx.describe, ctx.onto)
    warnings = [f"{task.name}: {w}" for w in ce.warnings]
    details = {"class_sources": dict(zip(task.classes, ce.sources))}
    if not ce.predictable.any():
        return MethodOutput([], warnings + [f"{task.name}: zero-shot skipped, no class is predictable"], details)
    emb = ctx.arrays("embed", "test")
    scores = zero_shot_scores(emb, ce, getattr(model, "logit_scale", 1.0))
    row = result_row(ctx, "zero-shot", 0, 0, task.split.labels("test"), scores)
    return MethodOutput([row], warnings, details)
