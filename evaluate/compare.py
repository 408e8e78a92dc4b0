"""``cxr eval compare``: several runs' results side by side (one column per encoder)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import yaml

from cxr.core.errors import InputError

from cxr.evaluate.report import k_order, pct, probe_summary, zero_shot_cells


def _load_run(path: Path):
    import pandas as pd

    results, config = path / "results.csv", path / "config.yaml"
    if not results.is_file():
        raise InputError(f"{path}: no results.csv (is it an output folder of `cxr eval run`?)")
    frame = pd.read_csv(results, dtype={"k": str})
    meta = yaml.safe_load(config.read_text(encoding="utf-8")) if config.is_file() else {}
    name = ((meta or {}).get("encoder") or {}).get("name") or path.name
    return name, frame


def _unique_names(names: list[str], paths: Sequence[Path]) -> list[str]:
    return [f"{n} [{p.name}]" if names.count(n) > 1 else n for n, p in zip(names, paths)]


def render_compare(run_dirs: Sequence[str | Path]) -> str:
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise InputError("compare needs at least two output folders")
    loaded = [_load_run(p) for p in paths]
    names = _unique_names([n for n, _ in loaded], paths)
    frames = [f for _, f in loaded]
    tasks = list(dict.fromkeys(t for f in frames for t in f["task"]))
    mismatched = _split_mismatches(frames, tasks)
    lines = ["# Encoder comparison", "", "ACA (%); best per row in bold. " +
             ("† = this run used a different split file (hash) for the task: not comparable." if mismatched else ""),
             ""]
    lines += _zero_shot_section(frames, names, tasks, mismatched)
    lines += _probe_sections(frames, names, tasks, mismatched)
    return "\n".join(lines)


def _split_mismatches(frames, tasks) -> set[tuple[int, str]]:
    out = set()
    for t in tasks:
        hashes = [set(f.loc[f["task"] == t, "split_hash"]) for f in frames]
        reference = next((h for h in hashes if h), set())
        out |= {(i, t) for i, h in enumerate(hashes) if h and h != reference}
    return out


def _row(task: str, values: list[float | None], mismatched: set, extra: list[str] | None = None) -> str:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    best = max(finite) if finite else None
    cells = []
    for i, v in enumerate(values):
        text = pct(v) if v is not None else "–"
        if v is not None and best is not None and v == best and len(finite) > 1:
            text = f"**{text}**"
        cells.append(text + (extra[i] if extra else "") + (" †" if (i, task) in mismatched else ""))
    return f"| {task} | " + " | ".join(cells) + " |"


def _zero_shot_section(frames, names, tasks, mismatched) -> list[str]:
    zs = [zero_shot_cells(f) for f in frames]
    if not any(zs):
        return []
    lines = ["## Zero-shot ACA: all classes (base / novel)", "", "| Task | " + " | ".join(names) + " |",
             "|---|" + "---:|" * len(names)]
    for t in tasks:
        values = [float(z[t]["all"]) if t in z else None for z in zs]
        extra = [f" ({pct(z[t].get('base'))} / {pct(z[t].get('novel'))})" if t in z else "" for z in zs]
        lines.append(_row(t, values, mismatched, extra))
    return lines + [""]


def _probe_sections(frames, names, tasks, mismatched) -> list[str]:
    summaries = [probe_summary(f) for f in frames]
    ks = sorted({k for s in summaries for _, k in s}, key=k_order)
    lines = []
    for k in ks:
        lines += [f"## Linear probe ACA, {'all' if k == 'all' else f'K={k}'} (mean over seeds)", "",
                  "| Task | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for t in tasks:
            lines.append(_row(t, [s[(t, k)][0] if (t, k) in s else None for s in summaries], mismatched))
        means = [sum(s[(t, k)][0] for t in tasks) / len(tasks) if all((t, k) in s for t in tasks) else None
                 for s in summaries]
        lines += [_row("**Mean**", means, set()), ""]
    return lines
