"""Accuracy of the report labeler on the Open-i development reports (iu_dev.csv).

Each report is built as ``FINDINGS: <findings>\\nIMPRESSION: <impression>`` (missing parts skipped; rows with
neither are left out), labeled with ``cxr.labeler.engine.Labeler`` and compared with the three gold columns:

- ``padchest_gold``  ontology labels, scored on labels with >= 10 gold positives in the whole file;
- ``chexpert_gold``  the labeler output projected with ``ontology/projections/chexpert.yaml``;
- ``negbio14_gold``  projected with ``chestxray14.yaml`` (NegBio's published Open-i gold standard).

Scoring: 1 = positive; uncertain (-1), negative (0) and not mentioned (NaN) all count as negative (the
gold codes hedged findings as absent). Per label precision / recall / F1 / support, micro and macro F1,
each with and without the 'no finding' label (No Finding / normal). The headline keeps each vocabulary
as its authors define it: CheXpert-14 with 'No Finding', ChestX-ray14's 14 findings without our extra
'normal', PadChest with 'normal' (``HEADLINE``). Targets that the gold never codes
(zero positives in the whole file: CheXpert 'Enlarged Cardiomediastinum' and 'Pleural Other', NegBio
'Hernia') are not annotated by that gold and are left out of the averages.

The PadChest gold lists ancestors only partly (e.g. 'calcified granuloma' without 'calcified densities');
the labeler always propagates positives to every ancestor. The headline PadChest score therefore closes
the gold under the same ontology (``--padchest-gold closed``); the raw gold is reported alongside.

To guard against tuning the ontology to these reports, the file is split by uid: even = tune, odd =
check. Both halves and the whole are reported. The script also measures how well the projections
reproduce the CheXpert / NegBio gold from the PadChest gold alone (``projection_agreement``): that is the
ceiling the labeler can reach through a projection.

    python bench/labeler_accuracy.py                      # table + bench/out/labeler_accuracy.json
    python bench/labeler_accuracy.py --errors cardiomegaly --split tune   # FP / FN sentences of one label
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from cxr.labeler.engine import Labeler  # noqa: E402
from cxr.labeler.ontology import POSITIVE, load_ontology  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/reports-dev/iu_dev.csv")
OUT = ROOT / "bench" / "out" / "labeler_accuracy.json"
MIN_PADCHEST_POSITIVES = 10
NO_FINDING = {"padchest": "normal", "chexpert": "No Finding", "negbio": "normal"}
TARGETS = {"chexpert": "micro-F1 >= 0.92", "negbio": "micro-F1 >= 0.90",
           "padchest": "micro-F1 >= 0.85, macro-F1 >= 0.75"}
#: Headline average per vocabulary: the vocabulary as its authors define it. CheXpert's 14 observations
#: include 'No Finding'; ChestX-ray14's 14 findings do not include 'normal' (our extra column); the
#: PadChest vocabulary includes 'normal'. Both variants are always reported.
HEADLINE = {"padchest": "with_no_finding", "chexpert": "with_no_finding", "negbio": "without_no_finding"}
#: NIH 'Infiltration' is the word "infiltrate"; PadChest's 'infiltrates' groups the alveolar and
#: interstitial patterns below it, so every airspace / interstitial finding reaches it by propagation.
#: The NegBio average without it is reported as a diagnostic (never as the headline).
STRUCTURAL = {"negbio": ["Infiltration"]}


def report_text(row) -> str:
    parts = []
    for header, col in (("FINDINGS", "findings"), ("IMPRESSION", "impression")):
        val = row.get(col)
        if isinstance(val, str) and val.strip():
            parts.append(f"{header}: {val.strip()}")
    return "\n".join(parts)


def gold_sets(col: pd.Series) -> list[set[str]]:
    return [set(s.split(";")) - {""} if isinstance(s, str) else set() for s in col]


def closed(onto, labels: set[str]) -> set[str]:
    out = set(labels)
    for lab in labels:
        if lab in onto:
            out.update(onto.ancestors(lab))
    return out


def positives(values: dict, names) -> set[str]:
    return {n for n in names if _is_pos(values.get(n))}


def _is_pos(v) -> bool:
    return v is not None and not (isinstance(v, float) and math.isnan(v)) and int(v) == POSITIVE


def score(pred: list[set[str]], gold: list[set[str]], labels: list[str], no_finding: str | None) -> dict:
    per = {}
    for lab in labels:
        tp = sum(lab in p and lab in g for p, g in zip(pred, gold))
        fp = sum(lab in p and lab not in g for p, g in zip(pred, gold))
        fn = sum(lab not in p and lab in g for p, g in zip(pred, gold))
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        per[lab] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                    "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}

    def averages(names):
        tp = sum(per[n]["tp"] for n in names)
        fp = sum(per[n]["fp"] for n in names)
        fn = sum(per[n]["fn"] for n in names)
        micro = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        macro = sum(per[n]["f1"] for n in names) / len(names) if names else 0.0
        return {"micro_f1": round(micro, 4), "macro_f1": round(macro, 4), "labels": len(names)}

    findings = [n for n in labels if n != no_finding]
    out = {"with_no_finding": averages(labels), "without_no_finding": averages(findings), "per_label": per}
    return out


def add_structural(res: dict, key: str) -> None:
    """Findings-only averages without the labels of ``STRUCTURAL[key]`` (diagnostic)."""
    skip = STRUCTURAL.get(key)
    if not skip:
        return
    per = res["per_label"]
    names = [n for n in per if n not in skip and n != NO_FINDING[key]]
    tp = sum(per[n]["tp"] for n in names)
    fp = sum(per[n]["fp"] for n in names)
    fn = sum(per[n]["fn"] for n in names)
    res["without_structural"] = {"excluded": skip, "labels": len(names),
                                 "micro_f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else 0.0,
                                 "macro_f1": round(sum(per[n]["f1"] for n in names) / len(names), 4)}


def scored_labels(gold: list[set[str]], vocabulary: list[str], minimum: int) -> list[str]:
    return [n for n in vocabulary if sum(n in g for g in gold) >= minimum]


def evaluate(onto, df: pd.DataFrame, values: list[dict], padchest_gold: str = "closed",
             direct: list[dict] | None = None) -> dict:
    """Scores of labeler output ``values`` (one dict per row of ``df``) against the three gold columns.

    ``direct``: per row, the values the report states itself (``ReportResult.direct_values()``), which
    feed the projections' direct (mention-based) targets.
    """
    if direct is None:
        direct = [None] * len(values)  # type: ignore[list-item]
    res = {}
    g_pad_raw = gold_sets(df["padchest_gold"])
    g_pad = [closed(onto, g) for g in g_pad_raw] if padchest_gold == "closed" else g_pad_raw
    pad_labels = scored_labels(g_pad, onto.vocabulary("padchest"), MIN_PADCHEST_POSITIVES)
    pred_pad = [positives(v, pad_labels) for v in values]
    res["padchest"] = score(pred_pad, g_pad, pad_labels, NO_FINDING["padchest"])
    for key, vocab, col in (("chexpert", "chexpert", "chexpert_gold"), ("negbio", "chestxray14", "negbio14_gold")):
        gold = gold_sets(df[col])
        labels = scored_labels(gold, onto.vocabulary(vocab), 1)
        pred = [positives(onto.project(v, vocab, d), labels) for v, d in zip(values, direct)]
        res[key] = score(pred, gold, labels, NO_FINDING[key])
        add_structural(res[key], key)
    return res


def projection_agreement(onto, df: pd.DataFrame) -> dict:
    """How well projecting the PadChest gold reproduces the CheXpert / NegBio gold (raw and closed)."""
    out = {}
    raw_pad = gold_sets(df["padchest_gold"])
    stated = [{n: POSITIVE for n in g if n in onto} for g in raw_pad]   # the coded labels, as stated
    for mode in ("raw", "closed"):
        gold_pad = raw_pad
        if mode == "closed":
            gold_pad = [closed(onto, g) for g in gold_pad]
        values = [{n: POSITIVE for n in g if n in onto} for g in gold_pad]
        res = {}
        for key, vocab, col in (("chexpert", "chexpert", "chexpert_gold"), ("negbio", "chestxray14", "negbio14_gold")):
            gold = gold_sets(df[col])
            labels = scored_labels(gold, onto.vocabulary(vocab), 1)
            pred = [positives(onto.project(v, vocab, d), labels) for v, d in zip(values, stated)]
            res[key] = score(pred, gold, labels, NO_FINDING[key])
        out[mode] = res
    return out


def print_table(title: str, res: dict, file=sys.stdout) -> None:
    print(f"\n== {title}", file=file)
    print(f"{'label':42s} {'P':>6s} {'R':>6s} {'F1':>6s} {'n':>5s}", file=file)
    for lab, m in res["per_label"].items():
        print(f"{lab:42s} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['support']:5d}", file=file)
    w, wo = res["with_no_finding"], res["without_no_finding"]
    print(f"{'micro / macro F1 (findings only)':42s} {wo['micro_f1']:6.3f} {wo['macro_f1']:6.3f}", file=file)
    print(f"{'micro / macro F1 (with no-finding label)':42s} {w['micro_f1']:6.3f} {w['macro_f1']:6.3f}", file=file)


def summary_line(name: str, res: dict) -> str:
    w, wo = res["with_no_finding"], res["without_no_finding"]
    line = (f"{name:12s} micro {wo['micro_f1']:.3f} macro {wo['macro_f1']:.3f} (findings)   "
            f"micro {w['micro_f1']:.3f} macro {w['macro_f1']:.3f} (with no-finding)")
    head = HEADLINE.get(name)
    if head:
        line += f"   headline micro {res[head]['micro_f1']:.3f}"
    if "without_structural" in res:
        s = res["without_structural"]
        line += f"   [without {', '.join(s['excluded'])}: micro {s['micro_f1']:.3f}]"
    return line


def show_errors(onto, lab: Labeler, df: pd.DataFrame, label: str, limit: int) -> None:
    """Print false positives / negatives of one label (PadChest name, or a CheXpert / NegBio target)."""
    if label in onto:
        vocab, col = "padchest", "padchest_gold"
    elif label in onto.vocabulary("chexpert"):
        vocab, col = "chexpert", "chexpert_gold"
    else:
        vocab, col = "chestxray14", "negbio14_gold"
    shown = {"FP": 0, "FN": 0}
    for _, row in df.iterrows():
        text = report_text(row)
        res = lab.label(text)
        vals = onto.project(res.values, vocab, res.direct_values())
        gold = gold_sets(pd.Series([row[col]]))[0]
        if vocab == "padchest":
            gold = closed(onto, gold)
        pred = _is_pos(vals.get(label))
        kind = "FP" if pred and label not in gold else "FN" if not pred and label in gold else None
        if kind is None or shown[kind] >= limit:
            continue
        shown[kind] += 1
        print(f"--- {kind} uid={row['uid']} gold={sorted(gold)}")
        print("   ", text.replace("\n", " | ")[:700])
        for m in res.mentions:
            print(f"     [{m.label}] {m.text!r} status={m.status} rule={m.rule} cue={m.cue!r}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="iu_dev.csv")
    ap.add_argument("--ontology", type=Path, default=None, help="ontology folder (default: the shipped one)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--padchest-gold", choices=["closed", "raw"], default="closed",
                    help="headline PadChest gold: closed under ontology ancestors (default) or as given")
    ap.add_argument("--errors", metavar="LABEL", help="print false positives / negatives of LABEL and exit")
    ap.add_argument("--split", choices=["tune", "check", "all"], default="tune", help="rows for --errors")
    ap.add_argument("--limit", type=int, default=15, help="examples per error kind for --errors")
    ap.add_argument("--quiet", action="store_true", help="only the summary lines")
    args = ap.parse_args(argv)

    if not args.data.exists():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2
    onto = load_ontology(args.ontology)
    lab = Labeler(onto)
    df = pd.read_csv(args.data)
    # A row with neither findings nor impression gives the labeler nothing to read (all 'normal' in the
    # gold); it is left out rather than counted as a miss.
    has_text = df.apply(lambda r: bool(report_text(r)), axis=1)
    skipped = int((~has_text).sum())
    df = df[has_text]
    halves = {"tune": df[df["uid"] % 2 == 0], "check": df[df["uid"] % 2 == 1], "all": df}

    if args.errors:
        show_errors(onto, lab, halves[args.split], args.errors, args.limit)
        return 0

    t0 = time.perf_counter()
    labeled = [lab.label(report_text(row)) for _, row in df.iterrows()]
    seconds = time.perf_counter() - t0
    by_uid = {u: (r.values, r.direct_values()) for u, r in zip(df["uid"], labeled)}

    results: dict = {"data": str(args.data), "reports": len(df), "skipped_without_text": skipped,
                     "seconds": round(seconds, 2),
                     "padchest_gold": args.padchest_gold, "min_padchest_positives": MIN_PADCHEST_POSITIVES,
                     "uncertain_counts_as": "negative", "headline": HEADLINE, "structural": STRUCTURAL,
                     "targets": TARGETS, "splits": {}}
    for name, part in halves.items():
        vals = [by_uid[u][0] for u in part["uid"]]
        stated = [by_uid[u][1] for u in part["uid"]]
        res = evaluate(onto, part, vals, args.padchest_gold, stated)
        other = "raw" if args.padchest_gold == "closed" else "closed"
        res[f"padchest_{other}_gold"] = evaluate(onto, part, vals, other)["padchest"]
        results["splits"][name] = {"reports": len(part), **res}
    results["projection_agreement"] = projection_agreement(onto, df)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))

    if not args.quiet:
        full = results["splits"]["all"]
        print_table("PadChest labels (>= 10 positives, all reports)", full["padchest"])
        print_table("CheXpert projection (all reports)", full["chexpert"])
        print_table("NegBio ChestX-ray14 projection (all reports)", full["negbio"])
    print(f"\n{len(df)} reports labeled in {seconds:.1f} s ({skipped} without findings/impression skipped); "
          f"uncertain = negative; results in {args.out}")
    for name in ("tune", "check", "all"):
        r = results["splits"][name]
        print(f"-- {name} ({r['reports']} reports)")
        for key in ("padchest", "chexpert", "negbio"):
            print("  " + summary_line(key, r[key]))
        other = [k for k in r if k.startswith("padchest_") and k.endswith("_gold")][0]
        print("  " + summary_line(other.replace("_gold", "").replace("padchest_", "pc-"), r[other]))
    print("-- projection agreement (PadChest gold projected vs CheXpert / NegBio gold, all reports)")
    for mode, res in results["projection_agreement"].items():
        for key in ("chexpert", "negbio"):
            print("  " + summary_line(f"{key}/{mode}", res[key]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
