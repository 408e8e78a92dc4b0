"""Does scispacy's abbreviation detector help the labeler? Measured on the Open-i development reports.

scispacy's ``AbbreviationDetector`` (spaCy factory ``"abbreviation_detector"``, Schwartz & Hearst 2003)
finds "long form (SF)" / "SF (long form)" definitions in a document and every later use of SF, so a
pipeline can expand SF to its long form before labeling. This script measures, on
/work/shared/data/reports-dev/iu_dev.csv (FINDINGS + IMPRESSION, built as in bench/labeler_accuracy.py):

1. whether the detector runs in ``spacy.blank("en")`` (no spaCy model can be downloaded here): it needs
   only the tokenizer and a ``Matcher``, no sentencizer / parser / tagger; a synthetic sentence checks
   that it finds a definition and its later use;
2. the reports in which it finds abbreviation definitions, and which (short form, long form, uses);
3. the label effect: every detected use of a short form (not the SF inside its own defining parentheses,
   which would read "long form (long form)") is replaced by its long form, the expanded text is labeled
   with ``cxr.labeler.engine.Labeler`` and scored with bench/labeler_accuracy.py's ``evaluate`` (imported):
   micro / macro F1 on PadChest / CheXpert / NegBio (headline variants of that script) before and after,
   and the number of reports whose label values change;
4. the speed cost: engine alone vs detector + expansion + engine, one core, sentence cache off, on all
   development reports, median of --runs interleaved rounds (spaCy pipeline start-up not counted).

    .venv/bin/python bench/scispacy_abbreviations.py      # prints a summary, writes bench/out/scispacy_abbreviations.json
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cxr.labeler import load_ontology  # noqa: E402
from cxr.labeler.engine import Labeler  # noqa: E402

DEV = Path("/work/shared/data/reports-dev/iu_dev.csv")
OUT = ROOT / "bench" / "out" / "scispacy_abbreviations.json"
SYNTHETIC = ("Known chronic obstructive pulmonary disease (COPD). Hyperinflated lungs consistent with COPD. "
             "No pneumothorax.")


def _accuracy_module():
    spec = importlib.util.spec_from_file_location("labeler_accuracy", ROOT / "bench" / "labeler_accuracy.py")
    acc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(acc)  # type: ignore[union-attr]
    return acc


def build_nlp():
    """``spacy.blank("en")`` + the abbreviation detector; the pipe names tell what it needed."""
    import warnings

    import spacy
    import scispacy.abbreviation  # noqa: F401  (registers the "abbreviation_detector" factory)

    # W036: the detector's per-document matcher is empty in documents without definitions (harmless)
    warnings.filterwarnings("ignore", message=r"\[W036\]")

    nlp = spacy.blank("en")
    nlp.add_pipe("abbreviation_detector")
    return nlp


def detect(nlp, text: str) -> list[dict]:
    """The detector's findings for one text: one dict per use of a short form, in text order."""
    doc = nlp(text)
    out = []
    for sf in doc._.abbreviations:
        lf = sf._.long_form
        # "long form (SF)": SF sits in parentheses right after its long form; "SF (long form)": the reverse
        defining = ((sf.start > 0 and sf.end < len(doc) and doc[sf.start - 1].text == "("
                     and doc[sf.end].text == ")" and lf.end == sf.start - 1)
                    or (sf.end < len(doc) and doc[sf.end].text == "(" and lf.start == sf.end + 1))
        out.append({"short": sf.text, "long": lf.text, "start": sf.start_char, "end": sf.end_char,
                    "defining": defining})
    return sorted(out, key=lambda a: a["start"])


def expand(text: str, found: list[dict]) -> str:
    """Replace each non-defining use of a short form by its long form (right to left keeps offsets)."""
    for a in sorted(found, key=lambda a: a["start"], reverse=True):
        if not a["defining"]:
            text = text[:a["start"]] + a["long"] + text[a["end"]:]
    return text


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _f1s(res: dict, headline: dict) -> dict:
    return {k: {"headline": headline[k], "micro_f1": res[k][headline[k]]["micro_f1"],
                "macro_f1": res[k][headline[k]]["macro_f1"]} for k in ("padchest", "chexpert", "negbio")}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEV)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if not args.data.exists():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2

    import pandas as pd

    acc = _accuracy_module()
    onto = load_ontology()
    df = pd.read_csv(args.data)
    df = df[df.apply(lambda r: bool(acc.report_text(r)), axis=1)]
    texts = [acc.report_text(row) for _, row in df.iterrows()]
    uids = list(df["uid"])

    # 1. does it run with a blank pipeline?
    t0 = time.perf_counter()
    nlp = build_nlp()
    startup = time.perf_counter() - t0
    synthetic = detect(nlp, SYNTHETIC)
    results: dict = {
        "data": str(args.data), "reports": len(texts),
        "runs_with_blank_en": {"pipe_names": nlp.pipe_names, "needs_sentencizer_or_parser": False,
                               "pipeline_startup_s": round(startup, 3),
                               "synthetic_text": SYNTHETIC, "synthetic_found": synthetic,
                               "synthetic_expanded": expand(SYNTHETIC, synthetic)}}

    lab = Labeler(onto)
    syn_before, syn_after = lab.label(SYNTHETIC).values, lab.label(expand(SYNTHETIC, synthetic)).values
    results["runs_with_blank_en"]["synthetic_labels_changed"] = {
        k: [syn_before.get(k), syn_after.get(k)] for k in sorted(set(syn_before) | set(syn_after))
        if syn_before.get(k) != syn_after.get(k)}

    # 2. which reports define abbreviations
    found = [detect(nlp, t) for t in texts]
    expanded = [expand(t, f) for t, f in zip(texts, found)]
    with_defs = [{"uid": int(u), "abbreviations": f, "expanded_text_changed": e != t}
                 for u, t, f, e in zip(uids, texts, found, expanded) if f]
    results["reports_with_definitions"] = len(with_defs)
    results["reports_text_changed_by_expansion"] = sum(e != t for t, e in zip(texts, expanded))
    results["reports_with_parentheses"] = sum("(" in t for t in texts)
    results["definitions"] = with_defs

    # 3. label effect
    base = [lab.label(t) for t in texts]
    expd = [lab.label(t) for t in expanded]
    r_base = acc.evaluate(onto, df, [r.values for r in base], "closed", [r.direct_values() for r in base])
    r_expd = acc.evaluate(onto, df, [r.values for r in expd], "closed", [r.direct_values() for r in expd])
    f_base, f_expd = _f1s(r_base, acc.HEADLINE), _f1s(r_expd, acc.HEADLINE)
    changed = [int(u) for u, a, b in zip(uids, base, expd) if a.values != b.values]
    results["accuracy"] = {
        "engine_alone": f_base, "with_expansion": f_expd,
        "micro_f1_change": {k: round(f_expd[k]["micro_f1"] - f_base[k]["micro_f1"], 4) for k in f_base},
        "reports_with_changed_labels": len(changed), "changed_uids": changed}

    # 4. speed, one core, sentence cache off
    fresh = Labeler(onto, cache_size=0)
    kinds = {"engine": lambda: [fresh.label(t) for t in texts],
             "detect": lambda: [expand(t, detect(nlp, t)) for t in texts],
             "both": lambda: [fresh.label(expand(t, detect(nlp, t))) for t in texts]}
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(args.runs):            # interleaved rounds: load from other jobs hits all three alike
        for k, fn in kinds.items():
            times[k].append(timed(fn))
    t_engine, t_detect, t_both = (statistics.median(times[k]) for k in ("engine", "detect", "both"))
    n = len(texts)
    results["speed"] = {
        "runs": args.runs, "cache": "off",
        "engine_alone": {"us_per_report": round(1e6 * t_engine / n), "reports_per_s": round(n / t_engine)},
        "detector_and_expansion_alone": {"us_per_report": round(1e6 * t_detect / n),
                                         "reports_per_s": round(n / t_detect)},
        "detector_expansion_engine": {"us_per_report": round(1e6 * t_both / n), "reports_per_s": round(n / t_both)},
        "slowdown": round(t_both / t_engine, 2),
        "detector_share_of_engine": round(t_detect / t_engine, 2)}

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))

    print(f"blank('en') pipeline {nlp.pipe_names}; synthetic: {[(a['short'], a['long']) for a in synthetic]}; "
          f"its labels changed by expansion: {results['runs_with_blank_en']['synthetic_labels_changed']}")
    print(f"{n} reports, {results['reports_with_parentheses']} with parentheses, "
          f"{len(with_defs)} with detected abbreviations, "
          f"{results['reports_text_changed_by_expansion']} changed by expansion")
    for d in with_defs:
        print(f"  uid {d['uid']}: " + "; ".join(f"{a['short']} = {a['long']}" + (" (definition)" if a["defining"]
                                                                                  else "")
                                                 for a in d["abbreviations"]))
    for k in f_base:
        print(f"  {k:9s} micro {f_base[k]['micro_f1']:.4f} -> {f_expd[k]['micro_f1']:.4f}   "
              f"macro {f_base[k]['macro_f1']:.4f} -> {f_expd[k]['macro_f1']:.4f}")
    print(f"  reports with changed labels: {len(changed)}")
    s = results["speed"]
    print(f"  speed: engine {s['engine_alone']['us_per_report']} us/report, detector+expansion "
          f"{s['detector_and_expansion_alone']['us_per_report']} us, both "
          f"{s['detector_expansion_engine']['us_per_report']} us ({s['slowdown']}x)")
    print(f"results in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
