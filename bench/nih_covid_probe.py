"""Linear probe on real CXRs: COVID-19 vs Pneumonia vs No finding (cxr-dev/nih-covid) as a user task.

Builds a balanced, patient-disjoint split CSV from the dataset's manifest.csv (NIH patient ids; COVID
patient ids recovered from the ieee8023 COVID metadata by file name, else one patient per image; ids are
prefixed by source so NIH patient 19 and COVID patient 19 stay different people), then runs
``cxr eval``'s linear probe for each --checkpoint and prints the ACA table.

    .venv/bin/python bench/nih_covid_probe.py --checkpoint timm:resnet18 --checkpoint timm:resnet50
    .venv/bin/python bench/nih_covid_probe.py --checkpoint runs/dlilp      # a pre-trained cxr encoder
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxr.evaluate.config import EvalConfig  # noqa: E402
from cxr.evaluate.fewshot import parse_shots  # noqa: E402
from cxr.evaluate.report import probe_summary, results_frame, write_outputs  # noqa: E402
from cxr.evaluate.runner import run_evaluation  # noqa: E402
from cxr.evaluate.sampling import Quota, balanced_patient_split  # noqa: E402
from cxr.evaluate.splitfile import write_split  # noqa: E402

DATA = Path("/work/shared/data/cxr-dev/nih-covid")
CLASSES = {"Covid-19": "COVID-19", "Pneumonia": "Pneumonia", "No_findings": "No finding"}


def _stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def candidates(data: Path, covid_meta: Path | None) -> pd.DataFrame:
    manifest = pd.read_csv(data / "manifest.csv", dtype=str)
    covid_patient = {}
    if covid_meta and covid_meta.is_file():
        meta = pd.read_csv(covid_meta, dtype=str)
        covid_patient = dict(zip(meta["filename"].map(_stem), meta["patientid"]))
    patients = []
    for path, folder, pid in zip(manifest["path"], manifest["folder_class"], manifest["patient_id"]):
        if isinstance(pid, str) and pid:
            patients.append(f"nih:{pid}")
        elif _stem(path) in covid_patient:
            patients.append(f"covid:{covid_patient[_stem(path)]}")
        else:
            patients.append(f"image:{_stem(path)}")
    return pd.DataFrame({"path": manifest["path"], "label": manifest["folder_class"].map(CLASSES),
                         "patient_id": patients, "pool": "any"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--covid-meta", type=Path, default=DATA.parent / "ieee8023-covid" / "metadata.csv")
    ap.add_argument("--checkpoint", action="append", help="timm:NAME, export or run folder (repeatable)")
    ap.add_argument("--train-per-class", type=int, default=40)
    ap.add_argument("--test-per-class", type=int, default=70)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--shots", default="1,2,4,8,16,all")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/nih_covid_probe"))
    ap.add_argument("--cache-dir", type=Path, default=None)
    args = ap.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    cands = candidates(args.data, args.covid_meta)
    split = balanced_patient_split(cands, list(CLASSES.values()),
                                   Quota(args.train_per_class, args.test_per_class), args.split_seed, "nih-covid")
    split_path = args.out / "nih_covid.csv"
    sha = write_split(split, split_path, {"task": "nih_covid", "classes": list(CLASSES.values()),
                                          "seed": args.split_seed, "images_root": str(args.data.resolve())})
    print(f"split {split_path} sha256 {sha[:12]}: "
          + ", ".join(f"{p}/{c}={n}" for (p, c), n in split.groupby(["split", "label"]).size().items()))
    for ckpt in args.checkpoint or ["timm:resnet18"]:
        cfg = EvalConfig(checkpoint=ckpt, tasks=[f"csv:{split_path}"], methods=["zero-shot", "linear-probe"],
                         shots=parse_shots(args.shots), seeds=args.seeds, images=str(args.data),
                         image_size=args.image_size, workers=args.workers,
                         cache_dir=str(args.cache_dir or args.out / "cache"))
        start = time.perf_counter()
        result = run_evaluation(cfg)
        elapsed = time.perf_counter() - start
        name = ckpt.replace(":", "_").replace("/", "_")
        write_outputs(result, args.out / name)
        summary = probe_summary(results_frame(result.rows))
        cells = "  ".join(f"K={k}: {100 * m:.1f}±{100 * s:.1f}" for (_, k), (m, s, _) in summary.items())
        print(f"{result.encoder_name} [{elapsed:.0f}s]  {cells}")
        for row in (r for r in result.rows if r["method"] == "zero-shot"):
            print(f"  zero-shot ACA {100 * row['aca']:.1f} (base {row['base_aca']}, novel {row['novel_aca']})")


if __name__ == "__main__":
    main()
