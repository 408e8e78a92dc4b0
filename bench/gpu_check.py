"""GPU readiness check: one table of pre-training throughput and memory on this machine (`make gpu-check`).

Cases, all through the trainer's own objects (``Trainer``: model, objective, optimizer, DataLoader with
workers / pinned memory / prefetch, augmentation in the workers, normalisation on the device), timed as in
bench/train_throughput.py (whose helpers this reuses):

* ResNet-50 at 224 px, bf16, channels_last, unimodal objective, fed from a real ``cxr prepare`` cache vs
  one synthetic batch already in device memory: the ratio says whether loading keeps the GPU busy
  (target >= 0.9x with the default ``data.workers``); also the loader alone, without a model;
* the same step with ``torch.compile`` (the synthetic feed, so only the model differs);
* a DLILP step (label head + image-text term) with a BERT-base-sized text encoder (random weights, built
  from a local config: no download), cache vs synthetic.

Each row: images/s (median of --repeats blocks of --steps optimizer steps, after --warmup steps), the
ratio to the synthetic feed of the same model, and peak memory (CUDA: max allocated on the device;
CPU: the process's peak RSS so far). The cache is built by the script with ``cxr prepare`` in a
temporary folder, from /work/shared/data/cxr-dev/nih-covid when present, else from synthetic phantom
PNGs it writes. The table is printed and written as gpu_check.{md,json,csv} to --out.

Without CUDA the script runs a quick CPU mode (tiny CNN at 32 px, a 2-layer BERT, fp32, torch.compile
with the "eager" backend, a few steps): the same table shape, for checking the script end to end.

    make gpu-check                                   # = python bench/gpu_check.py
    .venv/bin/python bench/gpu_check.py --quick      # CPU smoke run (also forced when there is no CUDA)
"""
from __future__ import annotations

import argparse
import csv
import gc
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402

from cxr.pretrain.config import load_config  # noqa: E402
from cxr.pretrain.engine.distributed import init_distributed  # noqa: E402
from cxr.pretrain.engine.trainer import Trainer  # noqa: E402
from train_throughput import batches, machine, step, timed_rounds  # noqa: E402  (bench/ is the script folder)

NIH_COVID = Path("/work/shared/data/cxr-dev/nih-covid")
OUT = Path(__file__).resolve().parent / "out" / "gpu_check"
NIH_LABELS = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema", "Fibrosis",
              "Hernia", "Infiltration", "Mass", "Nodule", "Pleural_Thickening", "Pneumonia", "Pneumothorax")


@dataclass(frozen=True)
class Mode:
    """Sizes of one run: the real check on a GPU, or the quick CPU smoke run."""
    device: str
    backbone: str
    size: int
    batch: int
    precision: str
    text_layers: int          # 12 x 768 = BERT-base
    text_width: int
    images: int               # distinct images in the cache
    copies: int               # each listed this many times, so an epoch spans many steps
    steps: int
    warmup: int
    repeats: int
    compile_backend: str      # "inductor" (torch's default) or "eager" (graph capture only: quick)


GPU = Mode("cuda", "resnet50", 224, 256, "bf16", 12, 768, 1124, 4, 20, 10, 3, "inductor")
QUICK = Mode("cpu", "tiny_cnn", 32, 8, "fp32", 2, 32, 48, 2, 3, 1, 1, "eager")


@dataclass
class Row:
    case: str
    input: str
    compile: str
    img_per_s: float
    vs_synthetic: float | None
    peak_memory_gib: float
    note: str = ""


# --- the cache -------------------------------------------------------------------------------------
def write_manifest(folder: Path, mode: Mode) -> tuple[Path, str]:
    """A manifest of real NIH PNGs (with a short report from their labels) or of synthetic phantoms."""
    import pandas as pd

    if (NIH_COVID / "manifest.csv").is_file():
        table = pd.read_csv(NIH_COVID / "manifest.csv", dtype=str).head(mode.images)
        frame = pd.DataFrame({"path": [str(NIH_COVID / p) for p in table["path"]],
                              "patient_id": table["patient_id"].fillna(table["path"]), "view": table["view"]})
        labels = table[list(NIH_LABELS)].astype(float)
        frame = pd.concat([frame, labels], axis=1)
        frame["report"] = [_report(row) for row in labels.to_dict("records")]
        what = f"nih-covid ({len(frame)} real PNGs)"
    else:
        from cxr.pretrain.synthetic import generate_corpus

        frame = generate_corpus(mode.images, size=max(mode.size, 64), seed=0, out_dir=folder / "phantoms")
        frame["path"] = [str(folder / "phantoms" / p) for p in frame["path"]]
        what = f"synthetic phantoms ({len(frame)} PNGs)"
    # copies (links: a manifest lists each file once) with their own ids: the same pixels, more steps per epoch
    frame = pd.concat([frame.assign(path=_links(frame["path"], folder / "images" / f"c{k}"),
                                    study_id=[f"c{k}-{i}" for i in range(len(frame))],
                                    patient_id=[f"c{k}-{p}" for p in frame["patient_id"]])
                       for k in range(mode.copies)], ignore_index=True)
    path = folder / "manifest.csv"
    frame.to_csv(path, index=False)
    return path, f"{what} x {mode.copies}"


def _links(paths, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, source in enumerate(paths):
        link = folder / f"{i:06d}{Path(source).suffix}"
        link.symlink_to(source)
        out.append(str(link))
    return out


def _report(labels: dict) -> str:
    found = [name.replace("_", " ").lower() for name, v in labels.items() if v == 1.0]
    return f"FINDINGS: {', '.join(found).capitalize()}." if found else "FINDINGS: No acute cardiopulmonary process."


def prepare(manifest: Path, cache: Path, mode: Mode) -> float:
    """``cxr prepare`` as a user runs it; returns images/s."""
    vocabulary = ["--vocabulary", "chestxray14"] if (NIH_COVID / "manifest.csv").is_file() else []
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cxr", "prepare", str(manifest), "-o", str(cache), "--size",
                    str(mode.size), "--val-fraction", "0", "-q", *vocabulary], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    return json.loads((cache / "meta.json").read_text())["ok"] / seconds


def text_encoder_folder(folder: Path, mode: Mode) -> Path:
    """A BERT config (+ a small WordPiece tokenizer) on disk: the encoder is built with random weights,
    offline. Only the token ids' range is small; every layer has BERT-base's size on the GPU."""
    from transformers import BertConfig

    from cxr.pretrain.models.text import tiny_tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    BertConfig(hidden_size=mode.text_width, num_hidden_layers=mode.text_layers,
               num_attention_heads=max(mode.text_width // 64, 2), intermediate_size=4 * mode.text_width,
               max_position_embeddings=512).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return folder


# --- one case ----------------------------------------------------------------------------------------
def make_trainer(mode: Mode, cache: Path, runs: Path, objective: str, text: Path, compiled: bool,
                 workers: int | None) -> Trainer:
    overrides = [
        f"name={objective}-{int(compiled)}", f"output={runs}", f"data.cache={cache}", "data.vocabulary=",
        f"data.image_size={mode.size}", f"model.backbone={mode.backbone}", "model.pretrained=none",
        f"model.text={text}", "model.text_pretrained=false", "model.channels_last=true",
        f"model.compile={str(compiled).lower()}", f"objective.name={objective}", f"train.batch_size={mode.batch}",
        f"train.device={mode.device}", f"train.precision={mode.precision}", "train.epochs=1000",
    ]
    if workers is not None:
        overrides.append(f"data.workers={workers}")
    cfg = load_config(None, overrides)
    if not compiled or mode.compile_backend == "inductor":
        return Trainer(cfg, init_distributed(mode.device), resume=None, progress=None)
    plain = torch.compile
    torch.compile = lambda model, **kw: plain(model, backend=mode.compile_backend, **kw)  # quick mode only
    try:
        return Trainer(cfg, init_distributed(mode.device), resume=None, progress=None)
    finally:
        torch.compile = plain


def reset_peak(mode: Mode) -> None:
    if mode.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gib(mode: Mode) -> float:
    if mode.device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20     # KiB on Linux


def run_case(mode: Mode, trainer: Trainer, feeds: tuple[str, ...]) -> dict[str, tuple[float, float]]:
    """img/s and peak memory per feed ("cache", "synthetic", "loader")."""
    sync = torch.cuda.synchronize if mode.device == "cuda" else (lambda: None)
    trainer.net.train()
    stream = batches(trainer)
    for _ in range(mode.warmup):          # also compiles, when compiled
        step(trainer, trainer.prep(next(stream)))
    fixed = trainer.prep(next(stream))
    blocks = {"cache": lambda: [step(trainer, trainer.prep(next(stream))) for _ in range(mode.steps)],
              "synthetic": lambda: [step(trainer, fixed) for _ in range(mode.steps)],
              "loader": lambda: [trainer.prep(next(stream)) for _ in range(mode.steps)]}
    out = {}
    for feed in feeds:
        reset_peak(mode)
        seconds = timed_rounds({feed: blocks[feed]}, mode.repeats, sync)[feed]
        out[feed] = (mode.steps * mode.batch / statistics.median(seconds), peak_gib(mode))
    return out


def cases(mode: Mode, cache: Path, runs: Path, text: Path, workers: int | None, say) -> list[Row]:
    image = f"{mode.backbone} {mode.size}px {mode.precision} channels_last"
    plan = [(f"{image}, unimodal", "unimodal", False, ("cache", "synthetic", "loader")),
            (f"{image}, unimodal", "unimodal", True, ("synthetic",)),
            (f"{image}, DLILP + BERT {mode.text_layers}x{mode.text_width}", "dlilp", False, ("cache", "synthetic"))]
    rows = []
    for name, objective, compiled, feeds in plan:
        say(f"{name}{', compiled' if compiled else ''}: {', '.join(feeds)}")
        trainer = make_trainer(mode, cache, runs, objective, text, compiled, workers)
        try:
            rates = run_case(mode, trainer, feeds)
        except torch.cuda.OutOfMemoryError:   # a smaller card: say so in the table, go on with the next case
            rows.append(Row(name, ", ".join(feeds), "on" if compiled else "off", float("nan"), None,
                            peak_gib(mode), f"out of memory at batch {mode.batch} (--batch)"))
            continue
        finally:
            shutil.rmtree(trainer.run_dir, ignore_errors=True)
            del trainer
            gc.collect()
        compile_label = f"on ({mode.compile_backend})" if compiled else "off"
        for feed, (rate, peak) in rates.items():
            ratio = rate / rates["synthetic"][0] if "synthetic" in rates and feed != "synthetic" else None
            label = {"cache": "cxr prepare cache", "synthetic": "synthetic batch in memory",
                     "loader": "cache, loader only (no model)"}[feed]
            rows.append(Row(name, label, compile_label, rate, ratio, peak))
    return rows


def compile_speedup(rows: list[Row]) -> None:
    plain = next((r for r in rows if r.input.startswith("synthetic") and r.compile == "off"), None)
    for r in rows:
        if plain is not None and r.compile != "off" and not r.note:
            r.vs_synthetic = r.img_per_s / plain.img_per_s
            r.note = "vs the uncompiled synthetic row"


# --- report ------------------------------------------------------------------------------------------
def markdown(rows: list[Row]) -> str:
    lines = ["| case | input | torch.compile | img/s | vs synthetic | peak memory (GiB) | note |",
             "|---|---|---|---:|---:|---:|---|"]
    for r in rows:
        ratio = f"{r.vs_synthetic:.2f}x" if r.vs_synthetic is not None else "1.00x" if r.input.startswith("synthetic") else ""
        lines.append(f"| {r.case} | {r.input} | {r.compile} | {r.img_per_s:,.0f} | {ratio} | {r.peak_memory_gib:.2f} "
                     f"| {r.note} |")
    return "\n".join(lines)


def write_outputs(out: Path, rows: list[Row], header: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu_check.json").write_text(json.dumps({**header, "rows": [asdict(r) for r in rows]}, indent=2))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(asdict(rows[0])))
    writer.writeheader()
    writer.writerows(asdict(r) for r in rows)
    (out / "gpu_check.csv").write_text(buffer.getvalue())
    (out / "gpu_check.md").write_text(markdown(rows) + "\n")


def verdict(rows: list[Row]) -> str:
    cache = next((r for r in rows if r.input == "cxr prepare cache" and "unimodal" in r.case), None)
    if cache is None or cache.vs_synthetic is None:
        return "cache vs synthetic feed: not measured (see the table)"
    ok = cache.vs_synthetic >= 0.9
    return (f"cache feed at {cache.vs_synthetic:.2f}x the synthetic feed (target >= 0.9x): "
            f"{'met' if ok else 'NOT met'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny CPU sizes (forced when there is no CUDA)")
    p.add_argument("--out", type=Path, default=OUT, help="folder for gpu_check.{md,json,csv}")
    p.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: data.workers of the config)")
    p.add_argument("--batch", type=int, default=None, help=f"batch size (default: {GPU.batch} on a GPU)")
    args = p.parse_args()
    started = time.perf_counter()
    cuda = torch.cuda.is_available()
    mode = QUICK if args.quick or not cuda else GPU
    quick = mode.device == "cpu"
    if args.batch:
        mode = replace(mode, batch=args.batch)
    if not cuda:
        print("no CUDA: quick CPU mode", flush=True)
    workers = args.workers if args.workers is not None else (min(2, os.cpu_count() or 1) if quick else None)
    default_workers = load_config(None, []).data.workers

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {message}", flush=True)

    with tempfile.TemporaryDirectory(prefix="cxr-gpu-check-") as tmp:
        tmp = Path(tmp)
        manifest, data = write_manifest(tmp, mode)
        say(f"cxr prepare: {data}")
        prepare_rate = prepare(manifest, tmp / "cache", mode)
        text = text_encoder_folder(tmp / "text", mode)
        rows = cases(mode, tmp / "cache", tmp / "runs", text, workers, say)
    compile_speedup(rows)
    header = {"machine": machine(mode.device), "mode": "quick CPU" if quick else "gpu", "settings": asdict(mode),
              "workers": workers if workers is not None else default_workers, "data": data,
              "prepare_img_per_s": prepare_rate, "seconds": time.perf_counter() - started}
    header["verdict"] = verdict(rows) + ("; quick CPU mode: numbers say nothing about a GPU" if quick else "")
    header["memory"] = "process peak RSS" if quick else "torch.cuda.max_memory_allocated per row"
    write_outputs(args.out, rows, header)
    print(f"\nmachine: {header['machine']}")
    print(f"mode: {header['mode']}; data: {data}; {header['workers']} DataLoader workers; batch {mode.batch}; "
          f"median of {mode.repeats} x {mode.steps} steps after {mode.warmup} warm-up steps; "
          f"memory: {header['memory']}\n")
    print(markdown(rows))
    print(f"\n{header['verdict']}; cxr prepare {prepare_rate:,.0f} img/s; "
          f"{header['seconds']:.0f} s in all; written: {args.out}/gpu_check.{{md,json,csv}}")


if __name__ == "__main__":
    main()
