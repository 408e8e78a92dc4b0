"""Run outputs: results.csv, table.md (paper layout), plot.png, config.yaml; and ``compare`` of runs.

Everything is rendered in memory first and each file is then published atomically, so a failure leaves
the previous outputs (or nothing), never a half-written table.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import yaml

from cxr.core.atomic import atomic_path, atomic_write_text
from cxr.core.errors import InputError

from cxr.evaluate.methods.base import RESULT_COLUMNS

OUTPUT_FILES = ("results.csv", "table.md", "plot.png", "config.yaml")


def k_order(k) -> tuple[int, int]:
    return (1, 0) if str(k) == "all" else (0, int(k))


def pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def results_frame(rows: list[dict]):
    import pandas as pd

    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    frame["k"] = frame["k"].astype(str)
    frame["subset"] = frame["subset"].fillna("all")   # rows built before the column existed
    return frame


def whole_tasks(frame):
    """The rows of whole tasks (subset "all"); results written before the subset column are all such."""
    return frame[frame["subset"].fillna("all") == "all"] if "subset" in frame.columns else frame


def zero_shot_cells(frame) -> dict[str, dict[str, float]]:
    """task -> {"base", "novel", "all"} zero-shot ACA. Base / novel come from their separate problems
    when the run scored them (paper protocol), else from those classes' recall in the all-class problem."""
    zs = frame[frame["method"] == "zero-shot"]
    out = {}
    for _, r in whole_tasks(zs).iterrows():
        out[r["task"]] = {"base": r["base_aca"], "novel": r["novel_aca"], "all": r["aca"]}
    if "subset" in zs.columns:
        for _, r in zs[zs["subset"] != "all"].iterrows():
            out.setdefault(r["task"], {})[r["subset"]] = r["aca"]
    return out


def probe_summary(frame):
    """task x K -> (mean, std, n seeds) of linear-probe ACA; std over seeds with ddof=0."""
    probe = whole_tasks(frame[frame["method"] == "linear-probe"])
    out = {}
    for (task, k), g in probe.groupby(["task", "k"], sort=False):
        out[(task, str(k))] = (float(g["aca"].mean()), float(g["aca"].std(ddof=0)), len(g))
    return out


def render_table(frame, encoder: str, seeds: int, warnings: Sequence[str] = ()) -> str:
    lines = [f"# Transfer evaluation: {encoder}", "",
             "ACA = balanced accuracy (mean per-class recall), in %. Base classes are in the encoder's "
             "pre-training vocabulary, novel ones are not.", ""]
    lines += _zero_shot_table(frame)
    lines += _probe_table(frame, seeds)
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    return "\n".join(lines)


def _zero_shot_table(frame) -> list[str]:
    zs = whole_tasks(frame[frame["method"] == "zero-shot"])
    if zs.empty:
        return []
    cells = zero_shot_cells(frame)
    separate = "subset" in frame.columns and (frame["subset"] != "all").any()
    how = ("Base and novel: each scored as its own problem (only its classes and images)." if separate else
           "Base and novel: recall of those classes' images within the all-class problem.")
    lines = ["## Zero-shot ACA (%)", "", how, "", "| Task | Base | Novel | All classes | Base / novel classes |",
             "|---|---:|---:|---:|---|"]
    for _, r in zs.iterrows():
        c = cells[r["task"]]
        counts = "unknown vocabulary" if math.isnan(r["n_base"]) else f"{int(r['n_base'])} / {int(r['n_novel'])}"
        lines.append(f"| {r['task']} | {pct(c.get('base'))} | {pct(c.get('novel'))} | {pct(c['all'])} | {counts} |")
    means = {k: _mean([c.get(k) for c in cells.values()]) for k in ("base", "novel", "all")}
    lines.append(f"| **Mean** | {pct(means['base'])} | {pct(means['novel'])} | {pct(means['all'])} | |")
    return lines + [""]


def _mean(values) -> float:
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return sum(finite) / len(finite) if finite else math.nan


def _probe_table(frame, seeds: int) -> list[str]:
    summary = probe_summary(frame)
    if not summary:
        return []
    ks = sorted({k for _, k in summary}, key=k_order)
    tasks = list(dict.fromkeys(t for t, _ in summary))
    head = " | ".join("all" if k == "all" else f"K={k}" for k in ks)
    lines = [f"## Linear probe ACA (%), mean ± std over {seeds} seeds", "", f"| Task | {head} |",
             "|---|" + "---:|" * len(ks)]
    for t in tasks:
        cells = [f"{pct(summary[(t, k)][0])} ± {pct(summary[(t, k)][1])}" if (t, k) in summary else "–"
                 for k in ks]
        lines.append(f"| {t} | " + " | ".join(cells) + " |")
    means = [pct(sum(summary[(t, k)][0] for t in tasks) / len(tasks))
             if all((t, k) in summary for t in tasks) else "–" for k in ks]
    lines.append("| **Mean** | " + " | ".join(means) + " |")
    note = ["K='all' uses the whole train pool (one fit; std 0).", ""] if "all" in ks else []
    return lines + [""] + note


def render_plot(frame, encoder: str) -> bytes:
    """ACA vs K per task (mean ± std band), zero-shot as a dashed line; PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    summary = probe_summary(frame)
    zs = whole_tasks(frame[frame["method"] == "zero-shot"]).set_index("task")["aca"].to_dict()
    tasks = list(dict.fromkeys(list(frame["task"])))
    ncols = min(4, max(1, len(tasks)))
    nrows = math.ceil(max(1, len(tasks)) / ncols)
    fig = Figure(figsize=(3.6 * ncols, 3.0 * nrows), dpi=100)
    FigureCanvasAgg(fig)
    for i, task in enumerate(tasks):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        _plot_task(ax, task, summary, zs.get(task))
    fig.suptitle(encoder)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _plot_task(ax, task: str, summary: dict, zero_shot) -> None:
    ks = sorted((k for t, k in summary if t == task), key=k_order)
    xs = list(range(len(ks)))
    if ks:
        mean = [100 * summary[(task, k)][0] for k in ks]
        std = [100 * summary[(task, k)][1] for k in ks]
        ax.plot(xs, mean, marker="o", label="linear probe")
        ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)], alpha=0.25)
        ax.set_xticks(xs, [str(k) for k in ks])
    if zero_shot is not None and not math.isnan(zero_shot):
        ax.axhline(100 * zero_shot, linestyle="--", color="gray", label="zero-shot")
    ax.set_title(task)
    ax.set_xlabel("K shots per class")
    ax.set_ylabel("ACA (%)")
    ax.legend(fontsize=7)


def plain(value):
    """YAML-safe copy: str subclasses (torch's version string), numpy scalars and tuples made plain."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    for kind in (str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value.item() if hasattr(value, "item") else str(value)


def render_config(result) -> str:
    doc = {"config": result.config.to_dict(), **result.provenance}   # config.protocol + resolved probe / zero_shot
    return yaml.safe_dump(plain(doc), sort_keys=False, allow_unicode=True)


def write_outputs(result, out_dir: str | Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output path exists and is not a folder: {out_dir}")
    frame = results_frame(result.rows)
    rendered = {
        "results.csv": frame.to_csv(index=False, float_format="%.6f", lineterminator="\n"),
        "table.md": render_table(frame, result.encoder_name, result.config.seeds, result.warnings),
        "plot.png": render_plot(frame, result.encoder_name),
        "config.yaml": render_config(result),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, content in rendered.items():
        if isinstance(content, bytes):
            with atomic_path(out_dir / name) as tmp:
                tmp.write_bytes(content)
        else:
            atomic_write_text(out_dir / name, content)
        written[name] = out_dir / name
    return written
