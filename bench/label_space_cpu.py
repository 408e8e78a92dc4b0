"""Label space in miniature, on CPU: do cxr's fine-grained labels beat the CheXpert-14 as pre-training targets?

The MIMIC-scale experiment (pretrain/configs/{unimodal,dlilp}_mimic_{chexpert14,fine85,fine_all}.yaml,
docs/reproduce.md) needs GPUs. This is the same question on the only real image-text set of the dev
data, CPU-sized:

1. pre-training data: the ieee8023 COVID collection (cxr-dev/ieee8023-covid), the images that have
   free-text clinical notes; `cxr.label` reads the notes, and the SAME labeler output is projected to
   three label spaces (`build_label_matrix`, what `cxr manifest --label-space` does): chexpert (14),
   dlilp (85), padchest (every ontology label);
2. `cxr prepare` (pad_topleft, SIZE px), then the shipped label-space configs with CPU overrides
   (resnet18 from scratch at 64 px, tiny random BERT for DLILP's text term, 5 epochs, batch 32, lr 1e-3,
   cosine over the run), for each of SEEDS seeds; plus the same resnet18 untrained (random init);
3. transfer: linear probe (cxr protocol) on an NIH task the encoders never saw, No finding vs
   Pneumonia from cxr-dev/nih-covid (NIH patients only: its COVID class comes from ieee8023, so it
   is left out), patient-disjoint, K-shot.

    .venv/bin/python bench/label_space_cpu.py                 # the table of docs/benchmarks.md
    .venv/bin/python bench/label_space_cpu.py --seeds 1 --epochs 1 --spaces chexpert   # smoke run
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DATA = Path("/work/shared/data/cxr-dev")
#: label space -> (config row of the MIMIC experiment, ontology vocabulary)
SPACES = {"chexpert": "chexpert14", "dlilp": "fine85", "padchest": "fine_all"}
PROBE_CLASSES = {"No_findings": "No finding", "Pneumonia": "Pneumonia"}


def notes_manifest(data: Path, out: Path) -> Path:
    """ieee8023 images with clinical notes, labelled by cxr's labeler in the padchest vocabulary."""
    import cxr
    meta = pd.read_csv(data / "metadata.csv", dtype=str)
    meta = meta[meta["clinical_notes"].notna() & (meta["clinical_notes"].str.strip() != "")]
    meta = meta.drop_duplicates("filename").reset_index(drop=True)   # a few images are listed twice
    labels = cxr.label(meta["clinical_notes"].tolist(), "padchest")
    frame = pd.DataFrame({"path": [str(data / p) for p in meta["filename"]],
                          "patient_id": "covid:" + meta["patientid"],
                          "study_id": meta["filename"].map(lambda p: Path(p).stem),
                          "view": meta["view"], "report": meta["clinical_notes"]})
    frame = pd.concat([frame, labels.reset_index(drop=True)], axis=1)
    path = out / "ieee8023_padchest.csv"
    frame.to_csv(path, index=False)
    return path


def build_cache(notes: Path, space: str, out: Path, size: int) -> tuple[Path, dict]:
    from cxr.labeler.ontology import load_ontology
    from cxr.pretrain.data.labelspace import build_label_matrix
    from cxr.pretrain.data.manifest import write_manifest
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
    from cxr.pretrain.data.sources.base import read_source
    onto = load_ontology()
    source = read_source("manifest", notes, onto, vocabulary="padchest", source="ieee8023-covid")
    frame = build_label_matrix([source], space, onto)
    manifest = write_manifest(frame, out / f"manifest_{space}.parquet")
    labels = frame[onto.vocabulary(space)]
    stats = {"labels": labels.shape[1], "labels_with_a_positive": int((labels == 1).any().sum()),
             "positives_per_image": float((labels == 1).sum(axis=1).mean()),
             "images_with_a_positive": int((labels == 1).any(axis=1).sum()), "images": len(frame)}
    cache = out / f"cache_{space}_{size}"
    prepare_cache(manifest, cache, PrepareConfig(size=size, mode="pad_topleft", val_fraction=0.0, workers=1),
                  onto=onto)
    return cache, stats


def pretrain_config(objective: str, space: str, cache: Path, out: Path, args, seed: int):
    from cxr.pretrain.config import config_path, load_config, validate
    cfg = load_config(config_path(f"{objective}_mimic_{SPACES[space]}"), [
        "model.backbone=resnet18", "model.pretrained=none", "model.text=tiny_bert", "model.text_max_length=64",
        "model.embed_dim=128", "model.channels_last=false", f"data.image_size={args.size}", "data.workers=0",
        f"train.epochs={args.epochs}", "train.batch_size=32", "train.precision=fp32", "train.device=cpu",
        "train.patience=0", "train.log_every=5", "train.ckpt_every=1000", "optim.lr=1e-3",
        "optim.horizon_epochs=0", f"seed={seed}"])
    cfg.name, cfg.output, cfg.data.cache = f"{objective}_{space}_s{seed}", str(out / "runs"), str(cache)
    validate(cfg)
    return cfg


def untrained_export(cfg, label_names: list[str], out: Path, seed: int) -> Path:
    import torch

    from cxr.pretrain.export import export_trained
    from cxr.pretrain.models.build import build_model
    from cxr.pretrain.objectives import OBJECTIVES
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg, OBJECTIVES.get("unimodal").heads, len(label_names))
    return export_trained(model, cfg, out / f"untrained_s{seed}", label_names=label_names,
                          data={"image_mode": "pad_topleft"}, extra={"objective": "none (random init)"})


def probe_split(out: Path, args) -> Path:
    from nih_covid_probe import candidates

    from cxr.evaluate.sampling import Quota, balanced_patient_split
    from cxr.evaluate.splitfile import write_split
    cands = candidates(DATA / "nih-covid", None)
    cands = cands[cands["label"].isin(PROBE_CLASSES.values())].reset_index(drop=True)
    split = balanced_patient_split(cands, list(PROBE_CLASSES.values()),
                                   Quota(args.train_per_class, args.test_per_class), 0, "nih-covid")
    path = out / "nih_pneumonia.csv"
    write_split(split, path, {"task": "nih_pneumonia", "classes": list(PROBE_CLASSES.values()), "seed": 0,
                              "images_root": str(DATA / "nih-covid")})
    return path


def probe(export: Path, split: Path, out: Path, args) -> dict[str, tuple[float, float]]:
    from cxr.evaluate.config import EvalConfig
    from cxr.evaluate.fewshot import parse_shots
    from cxr.evaluate.report import probe_summary, results_frame
    from cxr.evaluate.runner import run_evaluation
    cfg = EvalConfig(checkpoint=str(export), tasks=[f"csv:{split}"], methods=["linear-probe"],
                     shots=parse_shots(args.shots), seeds=args.probe_seeds, images=str(DATA / "nih-covid"),
                     workers=0, device="cpu", cache_dir=str(out / "features"))
    summary = probe_summary(results_frame(run_evaluation(cfg).rows))
    return {k: (m, s) for (_, k), (m, s, _) in summary.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "label_space_cpu")
    ap.add_argument("--spaces", default="chexpert,dlilp,padchest")
    ap.add_argument("--objectives", default="unimodal,dlilp")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--shots", default="4,16,all")
    ap.add_argument("--probe-seeds", type=int, default=5)
    ap.add_argument("--train-per-class", type=int, default=60)
    ap.add_argument("--test-per-class", type=int, default=150)
    args = ap.parse_args()
    import torch
    # one thread: on a shared, loaded machine two OpenMP threads made a run 20x slower (280 s vs 14 s/epoch)
    torch.set_num_threads(1)
    from cxr.pretrain.engine.trainer import train

    args.out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    notes = notes_manifest(DATA / "ieee8023-covid", args.out)
    split = probe_split(args.out, args)
    rows, stats = [], {}
    for space in args.spaces.split(","):
        cache, stats[space] = build_cache(notes, space, args.out, args.size)
        print(f"{space}: {json.dumps(stats[space])}", flush=True)
        for objective in args.objectives.split(","):
            for seed in range(args.seeds):
                cfg = pretrain_config(objective, space, cache, args.out, args, seed)
                t0 = time.perf_counter()
                result = train(cfg)
                took = time.perf_counter() - t0
                scores = probe(result.export_dir, split, args.out, args)
                rows.append({"objective": objective, "space": space, "seed": seed, "train_s": took, **{
                    f"K={k}": m for k, (m, _) in scores.items()}})
                print(rows[-1], flush=True)
        if space == args.spaces.split(",")[0]:
            for seed in range(args.seeds):
                export = untrained_export(cfg, vocabulary(space), args.out, seed)
                rows.append({"objective": "untrained", "space": "-", "seed": seed, "train_s": 0.0,
                             **{f"K={k}": m for k, (m, _) in probe(export, split, args.out, args).items()}})
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out / "results.csv", index=False)
    print(table(frame, stats, time.perf_counter() - start))
    (args.out / "stats.json").write_text(json.dumps(stats, indent=1))


def vocabulary(space: str) -> list[str]:
    from cxr.labeler.ontology import load_ontology
    return load_ontology().vocabulary(space)


def table(frame: pd.DataFrame, stats: dict, elapsed: float) -> str:
    shots = [c for c in frame.columns if c.startswith("K=")]
    lines = ["| pre-training | label space | " + " | ".join(f"ACA {s}" for s in shots) + " | train s/run |",
             "|---|---|" + "---:|" * (len(shots) + 1)]
    for (objective, space), g in frame.groupby(["objective", "space"], sort=False):
        cells = [f"{100 * g[s].mean():.1f} ± {100 * g[s].std(ddof=0):.1f}" for s in shots]
        lines.append(f"| {objective} | {space} | " + " | ".join(cells) + f" | {g['train_s'].mean():.0f} |")
    lines += ["", paired(frame, shots), ""]
    lines += [f"- {space}: {s}" for space, s in stats.items()]
    lines.append(f"- total {elapsed / 60:.1f} min, seeds per row {frame.groupby(['objective', 'space']).size().max()}")
    return "\n".join(lines)


def paired(frame: pd.DataFrame, shots: list[str]) -> str:
    """Fine minus CheXpert-14 per objective, seed by seed: a seed fixes the backbone's init and the batch
    order in every label space, so the pair differs only in the targets."""
    rows = []
    for objective, g in frame[frame["space"] != "-"].groupby("objective", sort=False):
        base = g[g["space"] == "chexpert"].set_index("seed")
        for space, h in g[g["space"] != "chexpert"].groupby("space", sort=False):
            d = h.set_index("seed")[shots] - base[shots]
            cells = ", ".join(f"{s} {100 * d[s].mean():+.1f} ± {100 * d[s].std(ddof=0):.1f}" for s in shots)
            rows.append(f"- paired {objective} {space} - chexpert: {cells}")
    return "\n".join(rows)


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()
