"""Training throughput: img/s of full training steps fed from a `cxr prepare` cache through the engine's
DataLoader pipeline, vs the same steps on one batch already in device memory (the synthetic upper bound).

Both loops use the trainer's own objects (``cxr.pretrain.engine.trainer.Trainer``: model, objective,
optimizer, DataLoader with workers / pinned memory / prefetch, uint8 augmentation in workers,
normalisation on the device) and its ``Stepper``, so the only difference is where batches come from.
The ratio real/synthetic says whether data loading keeps the device busy (target on a GPU: >= 0.9).
Also reported: the loader alone (no model), the ceiling of the data path.

Medians of --repeats timed blocks of --steps optimizer steps each, after --warmup steps.

    .venv/bin/python bench/train_throughput.py                           # CPU here: tiny CNN, 64 px
    python bench/train_throughput.py --device cuda --model resnet50 --size 224 --bf16 --batch 256 --workers 12

The cache is built once under bench/out/train_throughput/ from --n synthetic phantoms (PNG files decoded
by `cxr prepare`, as real images would be), unless --cache points at an existing one.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402

from cxr.pretrain.config import load_config  # noqa: E402
from cxr.pretrain.engine.distributed import init_distributed  # noqa: E402
from cxr.pretrain.engine.trainer import Trainer  # noqa: E402

OUT = Path(__file__).resolve().parent / "out" / "train_throughput"


def machine(device: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    gpu = f", {torch.cuda.get_device_name()}" if device == "cuda" else ""
    return (f"{cpu}, {os.cpu_count()} cores{gpu}, Python {platform.python_version()}, torch {torch.__version__}, "
            f"load average {os.getloadavg()[0]:.1f}")


def build_cache(size: int, n: int) -> Path:
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
    from cxr.pretrain.synthetic import generate_corpus
    cache = OUT / f"cache-{size}-{n}"
    if (cache / "meta.json").is_file():
        return cache
    synth = OUT / f"synth-{size}-{n}"
    if not (synth / "manifest.csv").is_file():
        generate_corpus(n, size=size, seed=0, out_dir=synth)
    prepare_cache(synth / "manifest.csv", cache, PrepareConfig(size=size, workers=os.cpu_count() or 1,
                                                                val_fraction=0.0))
    return cache


def make_trainer(args, cache: Path) -> Trainer:
    name = f"{args.device}-{args.model}-{args.size}-{args.objective}-{os.getpid()}"
    overrides = [
        f"name={name}", f"output={OUT / 'runs'}", f"data.cache={cache}", "data.vocabulary=",
        f"data.image_size={args.size}", f"data.workers={args.workers}", f"data.prefetch={args.prefetch}",
        f"model.backbone={args.model}", "model.pretrained=none", f"model.text={args.text}",
        f"model.channels_last={str(args.channels_last).lower()}", f"objective.name={args.objective}",
        f"train.batch_size={args.batch}", f"train.device={args.device}",
        f"train.precision={'bf16' if args.bf16 else 'fp32'}", "train.epochs=1000",
    ]
    cfg = load_config(None, overrides)
    return Trainer(cfg, init_distributed(args.device), resume=None, progress=None)


def batches(trainer: Trainer):
    """Endless batches from the training loader, epoch after epoch (as in a run)."""
    for epoch in itertools.count():
        trainer.train_sampler.set_epoch(epoch)
        yield from trainer.train_loader


def step(trainer: Trainer, batch: dict) -> None:
    trainer.stepper.micro(batch, sync=True, where=(0, 0, 0))
    trainer.stepper.update()


def timed_rounds(blocks: dict, repeats: int, sync) -> dict[str, list[float]]:
    """Time each block once per round, rounds interleaved, so a change of machine load hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in blocks}
    for _ in range(repeats):
        for name, run_block in blocks.items():
            sync()
            start = time.perf_counter()
            run_block()
            sync()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--model", default="tiny_cnn")
    p.add_argument("--objective", default="unimodal", help="unimodal (image only) or clip/unicl/dlilp (+ text)")
    p.add_argument("--text", default="tiny_bert", help="text encoder for text objectives")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--channels-last", action="store_true", default=None)
    p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    p.add_argument("--prefetch", type=int, default=4)
    p.add_argument("--steps", type=int, default=10, help="optimizer steps per timed block")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--n", type=int, default=1024, help="phantoms in the generated cache")
    p.add_argument("--cache", type=Path, default=None)
    args = p.parse_args()
    if args.channels_last is None:
        args.channels_last = args.device == "cuda"

    cache = args.cache or build_cache(args.size, args.n)
    trainer = make_trainer(args, cache)
    trainer.net.train()
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    stream = batches(trainer)
    for _ in range(args.warmup):
        step(trainer, trainer.prep(next(stream)))

    fixed = trainer.prep(next(stream))
    times = timed_rounds({
        "cache": lambda: [step(trainer, trainer.prep(next(stream))) for _ in range(args.steps)],
        "synthetic": lambda: [step(trainer, fixed) for _ in range(args.steps)],
        "loader_only": lambda: [trainer.prep(next(stream)) for _ in range(args.steps)],
    }, args.repeats, sync)

    images = args.steps * args.batch
    rate = {k: images / statistics.median(v) for k, v in times.items()}
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    result = {"machine": machine(args.device), **settings, "cache_path": str(cache), "img_per_s": rate,
              "ratio_cache_vs_synthetic": rate["cache"] / rate["synthetic"]}
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / f"result-{args.device}-{args.model}-{args.size}-{args.objective}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"machine: {result['machine']}")
    print(f"{args.model} {args.size}px, objective {args.objective}, batch {args.batch}, "
          f"{'bf16' if args.bf16 else 'fp32'}, {args.workers} workers; median of {args.repeats} x {args.steps} steps\n")
    print("| input | img/s | vs synthetic |\n|---|---:|---:|")
    for k, label in (("cache", "cxr prepare cache -> DataLoader -> step"), ("synthetic", "one batch in memory -> step"),
                     ("loader_only", "cache -> DataLoader, no model")):
        print(f"| {label} | {rate[k]:,.0f} | {rate[k] / rate['synthetic']:.2f}x |")
    print(f"\nwritten: {out}")
    shutil.rmtree(trainer.run_dir, ignore_errors=True)   # the bench's throwaway run folder


if __name__ == "__main__":
    main()
