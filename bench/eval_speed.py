"""Evaluation speed: the full K-shot linear-probe grid on cached features, and feature extraction img/s.

1. Probe grid: 7 tasks x K in {1, 2, 4, 8, 16} x 5 seeds on synthetic 2048-d features with the paper's
   train-pool / test sizes (what `cxr eval run` does once features are cached). Median of --repeats
   totals; baseline in the same script: scikit-learn's LogisticRegression (same objective: C=1,
   class_weight='balanced', lbfgs) on the same support sets, with the ACA difference between the two.
2. Extraction: random-init resnet18 / resnet50 at 224 px on CPU, model only (random tensors) and with the
   real loading pipeline (nih-covid PNGs, DataLoader workers). Medians over batches.

    .venv/bin/python bench/eval_speed.py [--repeats 3] [--skip-extraction]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxr.evaluate import metrics  # noqa: E402
from cxr.evaluate.fewshot import sample_k_shot  # noqa: E402
from cxr.evaluate.probe import ProbeConfig, fit_probe, standardisation  # noqa: E402

# task: (classes, train pool, test) as in the paper's protocol table
TASKS = {"chexpert5x200": (5, 1000, 1000), "mimic5x200": (5, 1000, 1000), "rsna": (2, 8400, 3600),
         "siim": (2, 4800, 1200), "covid": (4, 1200, 4000), "nih-lt": (20, 920, 920), "vindr": (5, 2000, 2000)}
SHOTS, SEEDS, DIM = (1, 2, 4, 8, 16), 5, 2048
NIH_COVID = Path("/work/shared/data/cxr-dev/nih-covid")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    import torch
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__} "
            f"({torch.get_num_threads()} threads), load average {os.getloadavg()[0]:.1f}")


def synthetic(means: np.ndarray, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative 2048-d features like pooled CNN outputs, balanced classes, moderately separable."""
    y = np.arange(n) % len(means)
    x = np.maximum(means[y] + rng.normal(0, 1, (n, DIM)), 0).astype(np.float32)
    return x, y


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    data = {}
    for task, (c, n_pool, n_test) in TASKS.items():
        means = rng.normal(0, 0.12, (c, DIM))   # far from separable at K=1, like real CXR features
        data[task] = (*synthetic(means, n_pool, rng), *synthetic(means, n_test, rng), c)
    return data


def ours(x_pool, y_pool, x_test, idx, c, stats):
    return fit_probe(x_pool[idx], y_pool[idx], c, ProbeConfig(), stats).scores(x_test)


def sklearn_baseline(x_pool, y_pool, x_test, idx, c, stats):
    from sklearn.linear_model import LogisticRegression

    mean, scale = stats
    clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=500)
    clf.fit((x_pool[idx] - mean) / scale, y_pool[idx])
    return clf.predict_proba((x_test - mean) / scale)


def optimum_check(data) -> str:
    """Our fit vs scikit-learn run to a tight tolerance (tol=1e-10): the same optimum of the same objective."""
    from sklearn.linear_model import LogisticRegression

    from cxr.evaluate.probe import _objective

    x_pool, y_pool, x_test, y_test, c = data["nih-lt"]
    stats = standardisation(x_pool)
    gaps, agree = [], []
    for k in SHOTS:
        idx = sample_k_shot(y_pool, k, 0)
        z, y = (x_pool[idx] - stats[0]) / stats[1], y_pool[idx]
        probe = fit_probe(x_pool[idx], y, c, ProbeConfig(), stats)
        ref = LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000, tol=1e-10).fit(z, y)
        weight = (len(y) / (c * np.bincount(y, minlength=c)))[y]
        f = _objective(z, np.eye(c)[y], weight, 1.0)
        ours_obj = f(np.r_[probe.weight.ravel(), probe.bias])[0]
        ref_obj = f(np.r_[ref.coef_.T.ravel(), ref.intercept_])[0]
        gaps.append((ours_obj - ref_obj) / ref_obj)
        zt = (x_test - stats[0]) / stats[1]
        agree.append(np.mean(probe.scores(x_test).argmax(1) == ref.predict_proba(zt).argmax(1)))
    return (f"  optimum check (nih-lt, seed 0, K=1..16) vs sklearn tol=1e-10: objective gap max "
            f"{100 * max(gaps):+.4f}%, test predictions identical for {100 * min(agree):.1f}%+")


def grid(data, fit) -> tuple[float, dict, list[float]]:
    start, acas, per_fit = time.perf_counter(), {}, []
    for task, (x_pool, y_pool, x_test, y_test, c) in data.items():
        stats = standardisation(x_pool)
        for k in SHOTS:
            for seed in range(SEEDS):
                t = time.perf_counter()
                idx = sample_k_shot(y_pool, k, seed)
                scores = fit(x_pool, y_pool, x_test, idx, c, stats)
                acas[(task, k, seed)] = metrics.aca(y_test, scores.argmax(1), c)
                metrics.all_metrics(y_test, scores)
                per_fit.append(time.perf_counter() - t)
    return time.perf_counter() - start, acas, per_fit


def probe_bench(repeats: int) -> None:
    data = make_data()
    totals, per_fit = [], []
    for _ in range(repeats):
        total, acas, fits = grid(data, ours)
        totals.append(total)
        per_fit += fits
    base_total, base_acas, base_fits = grid(data, sklearn_baseline)
    diff = [abs(acas[key] - base_acas[key]) for key in acas]
    print(f"probe grid: {len(acas)} fits (7 tasks x 5 K x 5 seeds), 2048-d")
    print(f"  cxr probe   total median {statistics.median(totals):6.1f} s over {repeats} repeats "
          f"(min {min(totals):.1f}, max {max(totals):.1f}); per fit median {1e3 * statistics.median(per_fit):.0f} ms")
    print(f"  sklearn     total {base_total:6.1f} s (1 run); per fit median {1e3 * statistics.median(base_fits):.0f} ms")
    print(f"  ratio sklearn / cxr (total): {base_total / statistics.median(totals):.2f}x; "
          f"ACA |difference| mean {100 * np.mean(diff):.2f} pt, max {100 * max(diff):.2f} pt "
          f"(sklearn's default tol=1e-4 stops short of the optimum)")
    print(f"  ACA of the cxr probe, mean over tasks: " + ", ".join(
        f"K={k} {100 * np.mean([v for (t, kk, s), v in acas.items() if kk == k]):.1f}" for k in SHOTS))
    print(optimum_check(data))


def extraction_bench(batch: int = 32, batches: int = 4) -> None:
    import torch

    from cxr.evaluate.encoders import EncoderOptions, load_encoder
    from cxr.evaluate.features import LoaderOptions, extract
    from cxr.evaluate.images import ImageDataset

    x = torch.randn(batch, 3, 224, 224)
    pngs = sorted(NIH_COVID.rglob("*.png"))[: batch * batches]
    for name in ("resnet18", "resnet50"):
        enc = load_encoder(f"timm:{name}", EncoderOptions(image_size=224))
        rates = []
        with torch.inference_mode():
            enc.model.features(x)                                   # warm-up
            for _ in range(batches):
                t = time.perf_counter()
                enc.model.features(x)
                rates.append(batch / (time.perf_counter() - t))
        line = f"  {name:9s} model only: median {statistics.median(rates):6.1f} img/s (batch {batch}, 224 px)"
        if pngs:
            ds = ImageDataset(pngs, enc.model.preprocessing)
            t = time.perf_counter()
            extract(enc.model, ds, "features", LoaderOptions(batch, 2, "cpu"))
            line += f"; with PNG loading (2 workers): {len(pngs) / (time.perf_counter() - t):6.1f} img/s"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-extraction", action="store_true")
    args = ap.parse_args()
    print("machine:", machine())
    probe_bench(args.repeats)
    if not args.skip_extraction:
        print("feature extraction, random-init timm backbones on CPU:")
        extraction_bench()
    print("load average at the end:", f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
