"""What `--protocol paper` changes against cxr's default, measured on real images and on the demo task.

1. Linear probe on cxr-dev/nih-covid (the split of bench/nih_covid_probe.py): for each checkpoint, both
   protocols' probes (cxr: C=1 on standardised features; paper: C=0.316 on raw features; both with
   balanced class weights) are fitted on the same K-shot draws of the same cached features; prints ACA
   per protocol and the fraction of test predictions that differ between them.
2. Zero-shot on a `cxr demo` output folder (its phantom task and exports): ACA of all classes, and base /
   novel, under each protocol (the paper routes novel classes of a two-head encoder to its image-text
   head and scores base and novel as separate problems).

    .venv/bin/python bench/protocols.py --checkpoint timm:resnet18 --image-size 128 --demo /tmp/demo_out
"""
from __future__ import annotations

import argparse
from dataclasses import replace
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.nih_covid_probe import CLASSES, DATA, candidates  # noqa: E402
from cxr.evaluate import metrics  # noqa: E402
from cxr.evaluate.config import PROTOCOLS, EvalConfig  # noqa: E402
from cxr.evaluate.fewshot import sample_k_shot  # noqa: E402
from cxr.evaluate.probe import fit_probe, standardisation  # noqa: E402
from cxr.evaluate.runner import run_evaluation  # noqa: E402
from cxr.evaluate.sampling import Quota, balanced_patient_split  # noqa: E402
from cxr.evaluate.splitfile import read_split, write_split  # noqa: E402


def nih_covid_split(out: Path) -> Path:
    split = balanced_patient_split(candidates(DATA, DATA.parent / "ieee8023-covid" / "metadata.csv"),
                                   list(CLASSES.values()), Quota(40, 70), 0, "nih-covid")
    path = out / "nih_covid.csv"
    write_split(split, path, {"task": "nih_covid", "classes": list(CLASSES.values()), "seed": 0,
                              "images_root": str(DATA.resolve())})
    return path


def cached_features(cache: Path) -> dict[str, np.ndarray]:
    """The features the run just cached (one encoder, one task per cache folder)."""
    return {part: np.load(next(cache.rglob(f"*.features.{part}.npz")))["x"] for part in ("train", "test")}


def probe_diff(ckpt: str, split_path: Path, out: Path, shots, seeds: int, image_size: int | None) -> None:
    cache = out / "cache" / f"{ckpt.replace(':', '_').replace('/', '_')}-{image_size}"
    cfg = EvalConfig(checkpoint=ckpt, tasks=[f"csv:{split_path}"], methods=["linear-probe"], shots=[1],
                     seeds=1, images=str(DATA), image_size=image_size, workers=1, cache_dir=str(cache))
    run_evaluation(cfg)   # extracts and caches the features through the evaluation's own path
    x, split = cached_features(cache), read_split(split_path)
    y_pool, y_test = split.labels("train"), split.labels("test")
    probes = {name: PROTOCOLS.get(name).probe for name in ("cxr", "paper")}
    # which of the paper's two changes matters: its C on standardised features
    probes["C=0.316 std"] = replace(probes["paper"], standardise=True)
    stats = {name: standardisation(x["train"], p.standardise) for name, p in probes.items()}
    print(f"\n{ckpt} ({image_size or 'own'} px), nih-covid 3 classes, {len(y_test)} test images")
    print("| K | cxr ACA | paper ACA | C=0.316 standardised ACA | predictions changed, cxr vs paper |\n"
          "|---|---:|---:|---:|---:|")
    for k in shots:
        acas, changed = {n: [] for n in probes}, []
        for seed in range(seeds):
            idx = sample_k_shot(y_pool, k, seed)
            pred = {n: fit_probe(x["train"][idx], y_pool[idx], 3, p, stats[n]).scores(x["test"]).argmax(1)
                    for n, p in probes.items()}
            for n in probes:
                acas[n].append(metrics.aca(y_test, pred[n], 3))
            changed.append(float((pred["cxr"] != pred["paper"]).mean()))
        cells = [f"{100 * np.mean(acas[n]):.1f} ± {100 * np.std(acas[n]):.1f}" for n in probes]
        print(f"| {k} | {' | '.join(cells)} | {100 * np.mean(changed):.1f} % "
              f"({100 * min(changed):.1f}-{100 * max(changed):.1f}) |")


def zero_shot_diff(demo: Path) -> None:
    split = next((demo / "task").glob("*.csv"))
    prompts = next((demo / "task").glob("*.prompts.yaml"))
    vocabulary = demo / "task" / "pretraining_labels.txt"
    print(f"\nzero-shot on the demo task {split} (ACA %: all / base / novel)")
    print("| encoder | cxr all | cxr base | cxr novel | paper all | paper base | paper novel |\n|---|" + "---:|" * 6)
    for export in sorted((demo / "runs").glob("*/export")):
        cells = []
        for protocol in ("cxr", "paper"):
            cfg = EvalConfig(checkpoint=str(export), tasks=[f"csv:{split}"], methods=["zero-shot"],
                             prompts={split.stem: str(prompts)}, vocabulary=str(vocabulary), workers=0,
                             device="cpu", protocol=protocol)
            rows = {r["subset"]: r for r in run_evaluation(cfg).rows}
            if not rows:
                cells += ["–"] * 3
                continue
            whole = rows["all"]
            base = rows["base"]["aca"] if "base" in rows else whole["base_aca"]
            novel = rows["novel"]["aca"] if "novel" in rows else whole["novel_aca"]
            cells += [f"{100 * v:.1f}" for v in (whole["aca"], base, novel)]
        print(f"| {export.parent.name} | " + " | ".join(cells) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", action="append", default=[])
    ap.add_argument("--image-size", type=int, default=None, help="default: the encoder's own (timm: 224)")
    ap.add_argument("--shots", default="1,2,4,8,16")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--demo", type=Path, default=None, help="a `cxr demo` output folder")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_protocols"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.checkpoint:
        split_path = nih_covid_split(args.out)
        for ckpt in args.checkpoint:
            probe_diff(ckpt, split_path, args.out, [int(k) for k in args.shots.split(",")], args.seeds,
                       args.image_size)
    if args.demo:
        zero_shot_diff(args.demo)


if __name__ == "__main__":
    main()
