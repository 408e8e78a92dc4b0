"""Demo stage 6: the paper-style comparison of the demo's encoders, as Markdown, PNG and a verdict.

One row per pre-training (untrained first): zero-shot ACA on base / novel / all classes (as in the
paper's Table 3) and linear-probe ACA per K, mean ± std over the K-shot draws (as in Table 2).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pandas as pd

from cxr.demo.config import UNTRAINED
from cxr.evaluate.report import k_order, pct, probe_summary, results_frame

DISPLAY = {UNTRAINED: "untrained (random init)", "unimodal": "unimodal (labels)", "clip": "CLIP (reports)",
           "unicl": "UniCL (labels + reports)", "dlilp": "DLILP (labels + λ·CLIP)",
           "dlilp-text": "DLILP, image-text head", "unicl-text": "UniCL, image-text head"}
SHORT = {UNTRAINED: "untrained", "unimodal": "unimodal", "clip": "CLIP", "unicl": "UniCL", "dlilp": "DLILP",
         "dlilp-text": "DLILP\ntext head", "unicl-text": "UniCL\ntext head"}


@dataclass
class Comparison:
    frame: pd.DataFrame                  # every result row; ``encoder`` = pre-training name
    order: list[str]                     # row order: untrained first
    shots: list[str]

    @classmethod
    def from_rows(cls, rows: list[dict], order: list[str]) -> "Comparison":
        frame = results_frame(rows)
        shots = sorted({str(k) for k in frame.loc[frame["method"] == "linear-probe", "k"]}, key=k_order)
        return cls(frame, [o for o in order if o in set(frame["encoder"])], shots)

    @property
    def n_classes(self) -> int:
        """Classes of the task (the smallest ACA any guess reaches is 1 / n_classes)."""
        n = self.frame["n_base"] + self.frame["n_novel"]
        return int(n.dropna().iloc[0]) if n.notna().any() else 0

    def probe(self, encoder: str) -> dict[str, tuple[float, float, int]]:
        """K -> (mean, std, n) of linear-probe ACA for one encoder."""
        summary = probe_summary(self.frame[self.frame["encoder"] == encoder])
        return {k: v for (_, k), v in summary.items()}

    def probe_mean(self, encoder: str) -> float:
        """Linear-probe ACA averaged over K (each K's mean over seeds): the verdict's measure."""
        values = [m for m, _, _ in self.probe(encoder).values()]
        return sum(values) / len(values) if values else math.nan

    def zero_shot(self, encoder: str) -> dict[str, float]:
        zs = self.frame[(self.frame["encoder"] == encoder) & (self.frame["method"] == "zero-shot")]
        if zs.empty:
            return {"base": math.nan, "novel": math.nan, "all": math.nan}
        r = zs.iloc[0]
        return {"base": float(r["base_aca"]), "novel": float(r["novel_aca"]), "all": float(r["aca"])}


def verdict(comp: Comparison) -> list[str]:
    """A warning per pre-trained encoder that does not beat the untrained one on the linear probe."""
    if UNTRAINED not in comp.order:
        return []
    floor = comp.probe_mean(UNTRAINED)
    out = []
    for name in comp.order:
        mean = comp.probe_mean(name)
        if name == UNTRAINED or math.isnan(mean):    # a zero-shot-only row has no probe to compare
            continue
        if not mean > floor:
            out.append(f"WARNING: {DISPLAY.get(name, name)} pre-training did not beat the untrained encoder "
                       f"on the linear probe (ACA averaged over K: {pct(mean)}% vs {pct(floor)}%)")
    return out


def render_table(comp: Comparison, title: str) -> str:
    head = ["Pre-training", "ZS base", "ZS novel", "ZS all", *[f"LP K={k}" for k in comp.shots], "LP mean"]
    lines = [f"| {' | '.join(head)} |", "|---|" + "---:|" * (len(head) - 1)]
    for name in comp.order:
        zs, lp = comp.zero_shot(name), comp.probe(name)
        cells = [pct(zs["base"]), pct(zs["novel"]), pct(zs["all"])]
        cells += [f"{pct(lp[k][0])} ± {pct(lp[k][1])}" if k in lp else "–" for k in comp.shots]
        cells.append(pct(comp.probe_mean(name)))
        lines.append(f"| {DISPLAY.get(name, name)} | " + " | ".join(cells) + " |")
    return "\n".join([f"## {title}", "", *lines, ""])


def render_markdown(comp: Comparison, title: str, notes: list[str], warnings: list[str],
                    agreement: pd.DataFrame | None) -> str:
    parts = ["# cxr demo: does pre-training on report-derived labels transfer?", "",
             render_table(comp, title),
             "ACA = balanced accuracy (mean per-class recall), %. ZS = zero-shot; base classes are "
             "pre-training labels, the novel class is known only by its one-sentence description. "
             "LP = linear probe on frozen features, K labelled images per class, mean ± std over the "
             "K-shot draws. A zero-shot class an encoder cannot represent counts as wrong.", ""]
    parts += [f"- {n}" for n in notes] + ([""] if notes else [])
    if warnings:
        parts += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    if agreement is not None and not agreement.empty:
        parts += ["## Labeler vs phantom truth", "",
                  "How the labels the encoders were trained on compare with what the phantoms show "
                  "(hedged reports give uncertain, counted as not positive here).", "",
                  "| Finding | Shown | Labeled positive | Uncertain | Recall | Precision |",
                  "|---|---:|---:|---:|---:|---:|"]
        parts += [f"| {r.finding} | {r.shown} | {r.labeled_positive} | {r.uncertain} | {pct(r.recall)} | "
                  f"{pct(r.precision)} |" for r in agreement.itertuples()]
        parts.append("")
    return "\n".join(parts)


def render_plot(comp: Comparison, title: str) -> bytes:
    """Left: linear-probe ACA vs K per pre-training (± std band). Right: zero-shot base / novel bars."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), dpi=100)
    FigureCanvasAgg(fig)
    lp, zs = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    _plot_probe(lp, comp)
    _plot_zero_shot(zs, comp)
    if comp.n_classes:
        for ax in (lp, zs):
            ax.axhline(100 / comp.n_classes, color="gray", linewidth=0.8, linestyle=":", label="chance")
    for ax in (lp, zs):
        ax.set_ylabel("ACA (%)")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _plot_probe(ax, comp: Comparison) -> None:
    xs = list(range(len(comp.shots)))
    for name in comp.order:
        summary = comp.probe(name)
        if not summary:
            continue
        mean = [100 * summary[k][0] if k in summary else math.nan for k in comp.shots]
        std = [100 * summary[k][1] if k in summary else math.nan for k in comp.shots]
        line, = ax.plot(xs, mean, "--" if name == UNTRAINED else "-", marker="o", label=DISPLAY.get(name, name))
        ax.fill_between(xs, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        alpha=0.15, color=line.get_color())
    ax.set_xticks(xs, comp.shots)
    ax.set_xlabel("K labelled images per class")
    ax.set_title("Linear probe")


def _plot_zero_shot(ax, comp: Comparison) -> None:
    width = 0.8 / 3
    for j, (part, label) in enumerate((("base", "base classes"), ("novel", "novel class"), ("all", "all"))):
        values = [100 * comp.zero_shot(n)[part] for n in comp.order]
        ax.bar([i + (j - 1) * width for i in range(len(comp.order))],
               [0 if math.isnan(v) else v for v in values], width, label=label)
    ax.set_xticks(range(len(comp.order)), [SHORT.get(n, n) for n in comp.order], fontsize=8)
    ax.set_title("Zero-shot")
