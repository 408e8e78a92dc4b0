"""``run_demo(config)``: the whole pipeline on phantoms, every artefact inside one folder.

    OUT/images/  reports.csv  truth.csv          1. phantom corpus (pretrain.synthetic)
    OUT/labels.csv  sentences.parquet            2. the labeler (as `cxr label`)
    OUT/manifest.csv  cache/                     3. manifest + image cache (as `cxr prepare`)
    OUT/runs/<method>/  runs/untrained/          4. pre-training (as `cxr pretrain`), untrained baseline
    OUT/task/  results/<method>/                 5. test task, zero-shot + linear probe (as `cxr eval run`)
    OUT/results.csv  table.md  plot.png  config.yaml   6. the comparison
"""
from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import yaml

from cxr.core.atomic import atomic_path, atomic_write_text
from cxr.core.errors import CxrError, InputError
from cxr.core.progress import Progress, null_progress
from cxr.core.provenance import git_sha

from cxr.demo import corpus, pretraining, report, task, transfer
from cxr.demo.config import TASK_BASE, UNTRAINED, DemoConfig

MARKER = ".cxr-demo"
#: Everything a demo run writes: removed before a rerun into the same folder, nothing else is touched.
OWN = ("images", "task", "cache", "runs", "results", corpus.REPORTS, corpus.TRUTH, corpus.LABELS,
       corpus.SENTENCES, corpus.MANIFEST, "results.csv", "table.md", "plot.png", "config.yaml")

Notify = Callable[[str], None]


@dataclass
class DemoResult:
    out: Path
    table: str                                   # the comparison table (Markdown)
    warnings: list[str]
    files: dict[str, Path]
    seconds: dict[str, float] = field(default_factory=dict)


def run_demo(config: DemoConfig, progress: Progress = null_progress,
             notify: Notify = lambda message: None) -> DemoResult:
    """Run every stage; ``notify`` receives one line per stage, ``progress`` the bars."""
    config.check()
    device = resolve_device(config.device)   # fail on a bad option before touching the folder
    out = Path(config.out)
    claim_folder(out)
    clock = _Clock(notify)
    with _cpu_threads(device, config.cpu_threads):
        return _run(config, out, device, clock, progress)


def _run(config: DemoConfig, out: Path, device: str, clock: "_Clock", progress: Progress) -> DemoResult:
    from cxr.labeler.ontology import load_ontology
    from cxr.pretrain.synthetic import DEFAULT_FINDINGS, NOVEL_FINDING

    base_labels, novel = tuple(DEFAULT_FINDINGS), (NOVEL_FINDING,)
    with clock("1/6 phantom corpus", f"{config.images} phantoms at {config.size} px -> {out}"):
        phantoms = corpus.make_phantoms(out, config.images, config.size, config.seed, progress)
    with clock("2/6 labeling reports", "the labeler on reports.csv -> labels.csv, sentences.parquet"):
        corpus.label_reports(out, progress)
        agreement = corpus.labeler_agreement(out, (*base_labels, *novel))
    with clock("3/6 manifest + cache", f"label space: {len(base_labels)} base findings; "
                                       f"{novel[0]!r} is never a label"):
        manifest = corpus.build_manifest(out, base_labels)
        prepared = corpus.prepare_cache(out, config.size, config.seed, progress)
    label_names = list(prepared.meta["label_names"])
    onto = load_ontology()
    with clock("4/6 pre-training", f"{', '.join(config.methods)} for {config.epochs} epoch(s) on {device}"):
        exports = _pretrain(config, out, device, label_names, progress)
    with clock("5/6 transfer", "zero-shot and K-shot linear probes on a held-out phantom task"):
        spec = task.make_task(out, TASK_BASE, novel, config.size, config.train_per_class, config.test_per_class,
                              config.seed, {c: onto.description(c) for c in (*TASK_BASE, *novel)},
                              label_names, progress)
        _check_disjoint(manifest, spec)
        rows, order, blind = _transfer(config, out, device, spec, exports, progress)
    with clock("6/6 comparison", "results.csv, table.md, plot.png, config.yaml"):
        comp = report.Comparison.from_rows(rows, order)
        warnings = report.verdict(comp)
        title = (f"Phantom test task: {len(spec.base)} base + {len(spec.novel)} novel classes, "
                 f"{config.test_per_class} test images per class")
        notes = _notes(config, phantoms, spec, device) + _blind_notes(blind)
        table = report.render_table(comp, title)
        files = _write_outputs(out, comp, title, notes, warnings, agreement)
    seconds = {**clock.seconds, "total": round(time.perf_counter() - clock.start, 2)}
    _write_config(out, config, device, label_names, spec, comp, warnings, seconds)
    files["config.yaml"] = out / "config.yaml"
    return DemoResult(out, table, warnings, files, seconds)


def _transfer(config: DemoConfig, out: Path, device: str, spec: task.TaskFiles, exports: dict[str, Path],
              progress: Progress) -> tuple[list[dict], list[str], dict[str, list[str]]]:
    """Result rows of every encoder (and of the text head of two-head ones), the row order, and per
    encoder the classes it could not represent zero-shot."""
    rows, order, blind = [], [], {}
    for name, export in exports.items():
        views = [(name, False)]
        if name != UNTRAINED and transfer.has_two_heads(export):
            views.append((name + transfer.TEXT_HEAD, True))
        for row_name, text_head in views:
            result = transfer.evaluate_encoder(row_name, export, spec, out, shots=config.shots,
                                               seeds=config.probe_seeds, device=device, text_head=text_head,
                                               progress=_named(progress, row_name))
            rows += result.rows
            order.append(row_name)
            sources = result.tasks.get(spec.name, {}).get("class_sources", {})
            blind[row_name] = [c for c, source in sources.items() if source == "none"]
    return rows, order, blind


def _pretrain(config: DemoConfig, out: Path, device: str, label_names: list[str],
              progress: Progress) -> dict[str, Path]:
    # Data-loader workers would compete with the training process for 2 CPU cores; on a GPU two
    # workers (the demo configs' value) keep it fed.
    settings = dict(size=config.size, epochs=config.epochs, batch_size=config.batch_size, device=device,
                    seed=config.seed, workers=0 if device == "cpu" else 2)
    untrained = pretraining.pretrain_config("dlilp", out, **settings)
    untrained.name = UNTRAINED
    exports = {UNTRAINED: pretraining.export_untrained(untrained, label_names, config.seed)}
    for method in config.methods:
        cfg = pretraining.pretrain_config(method, out, **settings)
        exports[method] = pretraining.train_encoder(cfg, _named(progress, method))
    return exports


def _check_disjoint(manifest, spec: task.TaskFiles) -> None:
    import pandas as pd

    shared = set(manifest["patient_id"]) & set(pd.read_csv(spec.split, dtype=str)["patient_id"])
    if shared:   # cannot happen with the ids the demo draws; guards future edits of either side
        raise CxrError(f"{len(shared)} test-task patient(s) are also in the pre-training manifest")


def _notes(config: DemoConfig, phantoms, spec: task.TaskFiles, device: str) -> list[str]:
    from cxr.pretrain.synthetic import NOVEL_FINDING

    share = float(phantoms[NOVEL_FINDING].mean()) if NOVEL_FINDING in phantoms else float("nan")
    notes = [
        f"Pre-training: {config.images} phantom studies of {phantoms['patient_id'].nunique()} patients at "
        f"{config.size} px, {config.epochs} epoch(s) per objective on {device}; labels = the labeler's "
        f"output on their reports for the base findings.",
        f"Novel class {', '.join(repr(n) for n in spec.novel)}: shown in {share:.0%} of the pre-training "
        f"images and named in their reports, never a pre-training label.",
        f"Test task: {len(spec.classes)} classes, {config.train_per_class} train-pool and "
        f"{config.test_per_class} test images per class, one image per new patient (no patient shared "
        f"with pre-training); K-shot draws: {config.probe_seeds} per K.",
    ]
    if config.smallest:
        notes.append("--smallest run: sizes are far too small for the numbers to mean anything.")
    return notes


def _blind_notes(blind: dict[str, list[str]]) -> list[str]:
    """One line per class some encoders cannot represent zero-shot (so its images count as wrong)."""
    by_class: dict[str, list[str]] = {}
    for encoder, classes in blind.items():
        for c in classes:
            by_class.setdefault(c, []).append(report.DISPLAY.get(encoder, encoder).split(" (")[0])
    return [f"Zero-shot: {', '.join(names)} cannot represent {c!r} (no label of the head is named in its "
            f"description), so its images count as wrong for them." for c, names in by_class.items()]


def _write_outputs(out: Path, comp: "report.Comparison", title: str, notes: list[str], warnings: list[str],
                   agreement) -> dict[str, Path]:
    files = {"results.csv": out / "results.csv", "table.md": out / "table.md", "plot.png": out / "plot.png"}
    atomic_write_text(files["results.csv"], comp.frame.to_csv(index=False, float_format="%.6f", lineterminator="\n"))
    atomic_write_text(files["table.md"], report.render_markdown(comp, title, notes, warnings, agreement))
    with atomic_path(files["plot.png"]) as tmp:
        tmp.write_bytes(report.render_plot(comp, title))
    return files


def _write_config(out: Path, config: DemoConfig, device: str, label_names: list[str], spec: task.TaskFiles,
                  comp: "report.Comparison", warnings: list[str], seconds: dict[str, float]) -> None:
    import torch

    from cxr.evaluate.report import plain

    summary = {name: {"zero_shot": comp.zero_shot(name), "linear_probe_mean": comp.probe_mean(name),
                      "linear_probe": {k: v[0] for k, v in comp.probe(name).items()}} for name in comp.order}
    doc = {
        "demo": config.to_dict(), "git_sha": git_sha(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": device, "torch": str(torch.__version__), "seconds": seconds,
        "pretrain_configs": {m: str(pretraining.config_dir() / f"demo_{m}.yaml") for m in config.methods},
        "pretraining_labels": label_names,
        "task": {"split": str(spec.split), "prompts": str(spec.prompts), "vocabulary": str(spec.vocabulary),
                 "base": list(spec.base),
                 "novel": list(spec.novel)},
        "summary": summary, "warnings": warnings,
    }
    atomic_write_text(out / "config.yaml", yaml.safe_dump(plain(doc), sort_keys=False, allow_unicode=True))


# --- plumbing --------------------------------------------------------------------------------------------
def claim_folder(out: Path) -> None:
    """Use ``out`` for a demo run: new, empty, or an earlier demo's folder (whose artefacts are removed)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"demo output {out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"{out} is not empty and was not written by `cxr demo`; choose another folder with -o")
    for name in OWN:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / MARKER, "written by `cxr demo`; a rerun replaces this folder's demo artefacts\n")


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA device is available (use --device cpu or auto)")
    return device


@contextmanager
def _cpu_threads(device: str, threads: int) -> Iterator[None]:
    """On CPU, pin torch to ``threads`` intra-op threads for the run, then restore the setting.

    Measured on a shared 2-core machine: a tiny CNN step took 0.78 s with 2 threads and 0.065 s with
    one, because spinning threads fight the other processes for the cores.
    """
    import torch

    if device != "cpu" or threads < 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _named(progress: Progress, prefix: str) -> Progress:
    """One bar per encoder: prefix each description with the encoder's name."""
    return lambda done, total, description: progress(done, total, f"{prefix}: {description}")


class _Clock:
    """Times each stage and announces it."""

    def __init__(self, notify: Notify):
        self.notify, self.seconds, self.start = notify, {}, time.perf_counter()

    @contextmanager
    def __call__(self, stage: str, detail: str) -> Iterator[None]:
        self.notify(f"[{stage}] {detail}")
        start = time.perf_counter()
        yield
        self.seconds[stage.split(" ", 1)[1]] = round(time.perf_counter() - start, 2)
