"""Cache read throughput: CacheDataset items/s per worker vs reading + decoding the PNGs.

1. Builds a 224-px cache (``cxr prepare``) of /work/shared/data/cxr-dev/nih-covid (1,124 real 256-px
   PNGs) when present, else of 1,000 synthetic 256-px phantoms, under bench/out/ (timed: prepare img/s).
2. Reads random items in one process (= one DataLoader worker): ``CacheDataset[i]`` (image tensor,
   labels, annotation mask, sampled sentence), and the raw memmap slice alone (upper bound).
3. Baseline in the same script: PIL open + decode + pad-resize to 224 of random PNGs (what a loader
   without a cache does per item).
Medians of --repeats runs; the cache file is in the page cache (just written), as it is after the first
epoch of a run whose cache fits in RAM.

    .venv/bin/python bench/cache_read.py [--repeats 5] [--reads 20000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cxr.pretrain.data.dataset import CacheDataset  # noqa: E402
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache  # noqa: E402
from cxr.pretrain.data import layout  # noqa: E402
from cxr.datasets.images import square_image  # noqa: E402
from timing import median_seconds  # noqa: E402  (bench/ is on sys.path as the script folder)

NIH_COVID = Path("/work/shared/data/cxr-dev/nih-covid")
OUT = Path(__file__).resolve().parent / "out" / "cache_read"
SIZE = 224


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    import torch
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}, "
            f"load average {os.getloadavg()[0]:.1f}")


def source_manifest() -> tuple[Path, str]:
    """A manifest of real PNGs when the dev data is mounted, else of synthetic phantoms."""
    OUT.mkdir(parents=True, exist_ok=True)
    if (NIH_COVID / "manifest.csv").is_file():
        table = pd.read_csv(NIH_COVID / "manifest.csv", dtype=str)
        frame = pd.DataFrame({"path": [str(NIH_COVID / p) for p in table["path"]],
                              # COVID rows come without patient ids: each image counts as its own patient.
                              "patient_id": table["patient_id"].fillna(table["path"]), "view": table["view"],
                              "report": "FINDINGS: Heart size is normal. The lungs are clear. No effusion."})
        label = f"nih-covid ({len(frame)} real 256-px PNGs)"
    else:
        from cxr.pretrain.synthetic import generate_corpus
        synth = OUT / "synth"
        frame = generate_corpus(1000, size=256, seed=0, out_dir=synth)
        frame = frame[["path", "patient_id", "view", "report"]].assign(path=[str(synth / p) for p in frame["path"]])
        label = "synthetic phantoms (1,000 256-px PNGs)"
    path = OUT / "manifest.csv"
    frame.to_csv(path, index=False)
    return path, label


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reads", type=int, default=20000, help="cache reads per repeat")
    parser.add_argument("--decodes", type=int, default=300, help="PNG decodes per repeat (baseline)")
    args = parser.parse_args()

    manifest, label = source_manifest()
    cache = OUT / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    workers = os.cpu_count() or 1
    start = time.perf_counter()
    meta = prepare_cache(manifest, cache, PrepareConfig(size=SIZE, workers=workers)).meta
    prepare_s = time.perf_counter() - start

    ds = CacheDataset(cache)
    rng = np.random.default_rng(0)
    order = rng.integers(0, len(ds), args.reads)
    images = layout.open_images(cache, meta)
    files = pd.read_parquet(cache / layout.INDEX, columns=["path"])["path"].tolist()
    picks = rng.integers(0, len(files), args.decodes)

    def read_items():
        for i in order:
            ds[i]

    def read_raw():
        for i in order:
            np.array(images[i])

    def decode_pngs():
        for i in picks:
            square_image(files[i], SIZE, "pad")

    item_rate = args.reads / median_seconds(read_items, args.repeats)
    raw_rate = args.reads / median_seconds(read_raw, args.repeats)
    png_rate = args.decodes / median_seconds(decode_pngs, args.repeats)
    result = {"machine": machine(), "data": label, "size": SIZE, "items": len(ds),
              "prepare_img_per_s": meta["ok"] / prepare_s, "prepare_workers": workers,
              "cache_item_img_per_s": item_rate, "cache_raw_img_per_s": raw_rate,
              "png_decode_img_per_s": png_rate, "speedup_vs_png": item_rate / png_rate,
              "repeats": args.repeats}
    (OUT / "result.json").write_text(json.dumps(result, indent=2))
    print(f"machine: {result['machine']}\ndata: {label}, cache {SIZE} px, {len(ds)} items\n")
    print("| reader (one process = one worker) | img/s | vs PNG decode |\n|---|---:|---:|")
    print(f"| CacheDataset[i] (image, labels, mask, sentence) | {item_rate:,.0f} | {item_rate / png_rate:.0f}x |")
    print(f"| raw memmap slice only | {raw_rate:,.0f} | {raw_rate / png_rate:.0f}x |")
    print(f"| baseline: PIL open + decode + pad-resize PNG | {png_rate:,.0f} | 1x |")
    print(f"\ncxr prepare: {result['prepare_img_per_s']:,.0f} img/s with {workers} workers")


if __name__ == "__main__":
    main()
