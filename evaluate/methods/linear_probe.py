"""K-shot linear probe: logistic regression on frozen features, K per class, several seeds."""
from __future__ import annotations

from cxr.evaluate.fewshot import ALL, sample_k_shot
from cxr.evaluate.methods.base import METHODS, MethodContext, MethodOutput, result_row
from cxr.evaluate.probe import fit_probe, standardisation


@METHODS.register("linear-probe")
def linear_probe(ctx: MethodContext) -> MethodOutput:
    task, cfg = ctx.task, ctx.config
    x_pool, x_test = ctx.arrays("features", "train"), ctx.arrays("features", "test")
    y_pool, y_test = task.split.labels("train"), task.split.labels("test")
    stats = standardisation(x_pool, cfg.probe.standardise)
    n_classes = len(task.classes)
    # K='all' is the whole pool: every seed would fit the same deterministic problem, so fit it once.
    plan = [(k, s) for k in cfg.shots for s in (range(cfg.seeds) if k != ALL else [0])]
    rows = []
    for done, (k, seed) in enumerate(plan, start=1):
        idx = sample_k_shot(y_pool, k, seed)
        probe = fit_probe(x_pool[idx], y_pool[idx], n_classes, cfg.probe, stats)
        rows.append(result_row(ctx, "linear-probe", k, seed, y_test, probe.scores(x_test)))
        ctx.progress(done, len(plan), f"{task.name} linear probe")
    return MethodOutput(rows)
