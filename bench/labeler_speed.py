"""Speed of `cxr label` (whole command, start-up included) against a naive labeler, in one script.

Input: the Open-i development reports (FINDINGS + IMPRESSION of /work/shared/data/reports-dev/iu_dev.csv)
repeated and shuffled to --reports rows in a temporary CSV; the embedded sample reports when that file is
absent. Every figure is the median of --runs runs.

Measured:
1. ``cxr label`` as a subprocess, wall clock from process start to exit: all cores (default), 1 worker,
   and without the sentence cache (repeated input makes the cache look better than on real corpora, so
   the no-cache figure is the honest one; the cache hit rate of one pass over the distinct reports is
   reported alongside).
2. The naive labeler for scale, in-process on --baseline-reports reports (spaCy start-up not counted):
   one regular expression per label (its synonyms joined) finds mentions, negspacy's default clinical
   termset (spaCy blank English + sentencizer + Negex) decides negation. The ratio compares reports/s.
3. Sentence splitting: the regex splitter against scispacy's pysbd (defined here, passed to
   ``Labeler(splitter=...)``), speed of the engine on the same reports and, when bench/labeler_accuracy.py
   is present, the micro/macro F1 of each.
4. Writing the labels CSV: hand-rendered rows against ``DataFrame.to_csv`` for the same values.

    python bench/labeler_speed.py                 # prints a summary, writes bench/out/labeler_speed.json
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cxr.labeler.engine import Labeler  # noqa: E402
from cxr.labeler.ontology import load_ontology  # noqa: E402
from cxr.labeler.samples import SAMPLE_REPORTS  # noqa: E402
from timing import median_seconds  # noqa: E402  (bench/ is on sys.path as the script folder)

DEV = Path("/work/shared/data/reports-dev/iu_dev.csv")
OUT = ROOT / "bench" / "out" / "labeler_speed.json"


def source_reports() -> tuple[list[str], str]:
    path, build = (DEV, _dev_text) if DEV.exists() else (SAMPLE_REPORTS, lambda r: r.get("report") or "")
    with open(path, newline="", encoding="utf-8") as fh:
        texts = [build(row) for row in csv.DictReader(fh)]
    return [t for t in texts if t.strip()], str(path)


def _dev_text(row: dict) -> str:
    parts = [f"{h}: {row[c]}" for h, c in (("FINDINGS", "findings"), ("IMPRESSION", "impression")) if row.get(c)]
    return "\n".join(parts)


def write_input(texts: list[str], n: int, path: Path, seed: int = 0) -> None:
    rng = random.Random(seed)
    rows = [texts[i % len(texts)] for i in range(n)]
    rng.shuffle(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["study_id", "report"])
        w.writerows((f"r{i:07d}", t) for i, t in enumerate(rows))


def time_command(args: list[str], runs: int) -> float:
    cmd = [sys.executable, "-m", "cxr.cli.main", "label", *args, "--no-progress"]

    def once():
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return median_seconds(once, runs)


# --- the naive baseline ---------------------------------------------------------------------------------
class NaiveLabeler:
    """One regex per label over the report; negspacy (default clinical termset) on each mention."""

    def __init__(self, onto):
        import re

        import spacy
        from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)
        from spacy.language import Language
        from spacy.util import filter_spans

        from cxr.labeler.patterns import compile_pattern

        self.regexes = {}
        for lab in onto.labels.values():
            if lab.synonyms:
                body = "|".join(compile_pattern(s).regex.pattern for s in lab.synonyms)
                self.regexes[lab.name] = re.compile(body, re.IGNORECASE)
        regexes = self.regexes

        @Language.component("regex_mentions")
        def regex_mentions(doc):
            spans = []
            for name, rx in regexes.items():
                for m in rx.finditer(doc.text):
                    span = doc.char_span(m.start(), m.end(), label=name, alignment_mode="expand")
                    if span is not None:
                        spans.append(span)
            doc.ents = filter_spans(spans)
            return doc

        self.nlp = spacy.blank("en")
        self.nlp.add_pipe("sentencizer")
        self.nlp.add_pipe("regex_mentions")
        self.nlp.add_pipe("negex")

    def label(self, text: str) -> dict[str, int]:
        values: dict[str, int] = {}
        for ent in self.nlp(text).ents:
            v = 0 if ent._.negex else 1
            values[ent.label_] = max(values.get(ent.label_, 0), v)
        return values


def pysbd_splitter():
    """scispacy's rule-based sentence splitter (pysbd) in the labeler's ``Splitter`` shape."""
    import pysbd

    from cxr.labeler.sentences import _add

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def split(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
        end = len(text) if end is None else end
        spans: list[tuple[int, int]] = []
        for s in seg.segment(text[start:end]):
            _add(text, start + s.start, start + s.end, spans)
        return spans
    return split


SPLITTERS = {"regex": lambda: None, "pysbd": pysbd_splitter}


def labeler_with(onto, splitter: str, **kw) -> Labeler:
    split = SPLITTERS[splitter]()
    return Labeler(onto, **kw) if split is None else Labeler(onto, splitter=split, **kw)


def _burn(n: int) -> float:
    x = 0
    for i in range(n):
        x += i
    return float(x)


def machine_parallelism(runs: int) -> dict:
    """How many cores this script really gets: the same pure-Python work in 1 process vs 2 in parallel.

    On an idle 2-core machine 2 processes take as long as 1 (ratio 1.0); on a fully shared one, twice
    as long (2.0). The multi-worker figures above depend on it; other jobs share the development box.
    """
    import multiprocessing as mp

    n = 5_000_000
    one = median_seconds(lambda: _burn(n), runs)
    with mp.get_context("fork").Pool(2) as pool:
        two = median_seconds(lambda: pool.map(_burn, [n, n]), runs)
    return {"one_process_s": round(one, 3), "two_processes_s": round(two, 3), "ratio": round(two / one, 2)}


# --- sections of the benchmark -------------------------------------------------------------------------------
def bench_command(texts, args, tmp: Path) -> dict:
    path = tmp / "reports.csv"
    write_input(texts, args.reports, path)
    out = str(tmp / "labels.csv")
    common = [str(path), "-o", out] + (["--ontology", str(args.ontology)] if args.ontology else [])
    res = {"reports": args.reports, "runs": args.runs, "cores": os.cpu_count()}
    for name, extra in [("all_cores", []), ("one_worker", ["--workers", "1"]),
                        ("all_cores_no_cache", ["--sentence-cache", "0"])]:
        sec = time_command(common + extra, args.runs)
        res[name] = {"seconds": round(sec, 3), "reports_per_s": round(args.reports / sec)}
    startup = time_command(["--sample", "-o", out] + common[3:], args.runs)
    res["startup_seconds_42_samples"] = round(startup, 3)
    return res


def bench_cache_hit_rate(onto, texts) -> float:
    lab = Labeler(onto)
    seen, total = set(), 0
    for t in texts:
        for _, sentence, _ in lab.label(t).sentences:
            total += 1
            seen.add(sentence.lower())
    return round(1 - len(seen) / max(total, 1), 3)


def bench_naive(onto, texts, args) -> dict:
    sample = (texts * (args.baseline_reports // len(texts) + 1))[:args.baseline_reports]
    naive = NaiveLabeler(onto)
    ours = Labeler(onto, cache_size=0)
    t_naive = median_seconds(lambda: [naive.label(t) for t in sample], args.runs)
    t_ours = median_seconds(lambda: [ours.label(t) for t in sample], args.runs)
    return {"reports": len(sample), "naive_reports_per_s": round(len(sample) / t_naive),
            "engine_reports_per_s_one_core_no_cache": round(len(sample) / t_ours),
            "speedup": round(t_naive / t_ours, 1)}


def bench_pysbd(onto, texts, args) -> dict:
    sample = texts[:args.baseline_reports]
    res = {}
    for name in ("regex", "pysbd"):
        lab = labeler_with(onto, name, cache_size=0)
        sec = median_seconds(lambda: [lab.label(t) for t in sample], args.runs)
        res[name] = {"reports_per_s": round(len(sample) / sec)}
    res["slowdown"] = round(res["regex"]["reports_per_s"] / res["pysbd"]["reports_per_s"], 1)
    res["accuracy"] = _pysbd_accuracy(onto)
    return res


def _pysbd_accuracy(onto) -> dict | str:
    """Micro-F1 of both splitters through bench/labeler_accuracy.py's scoring (all dev reports)."""
    try:
        import importlib.util

        import pandas as pd

        spec = importlib.util.spec_from_file_location("labeler_accuracy", ROOT / "bench" / "labeler_accuracy.py")
        acc = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(acc)  # type: ignore[union-attr]
        df = pd.read_csv(DEV)
        df = df[df.apply(lambda r: bool(acc.report_text(r)), axis=1)]
        out = {}
        for name in ("regex", "pysbd"):
            lab = labeler_with(onto, name)
            vals = [lab.label(acc.report_text(row)).values for _, row in df.iterrows()]
            res = acc.evaluate(onto, df, vals, "closed")
            out[name] = {k: {variant: {m: res[k][variant][m] for m in ("micro_f1", "macro_f1")}
                             for variant in ("with_no_finding", "without_no_finding")}
                         for k in ("padchest", "chexpert", "negbio")}
        return out
    except Exception as exc:  # the accuracy script is another module's; report rather than fail
        return f"not measured: {type(exc).__name__}: {exc}"


def bench_csv_writer(onto, texts, args) -> dict:
    import pandas as pd

    from cxr.labeler.projector import Projector
    from cxr.labeler.writer import csv_header, csv_row

    lab = Labeler(onto)
    proj = Projector(onto, "padchest")
    values = [lab.label(texts[i % len(texts)]).values for i in range(args.reports)]
    ids = [f"r{i:07d}" for i in range(args.reports)]

    def by_hand():
        buf = io.StringIO()
        buf.write(csv_header("study_id", proj.columns))
        for rid, v in zip(ids, values):
            buf.write(csv_row(rid, proj.row(v)))

    def by_pandas():
        frame = pd.DataFrame([proj.row(v) for v in values], columns=proj.columns, dtype="Int8")
        frame.insert(0, "study_id", ids)
        frame.to_csv(io.StringIO(), index=False)
    t_hand, t_pd = median_seconds(by_hand, args.runs), median_seconds(by_pandas, args.runs)
    return {"rows": args.reports, "columns": len(proj.columns), "hand_seconds": round(t_hand, 3),
            "pandas_seconds": round(t_pd, 3), "speedup": round(t_pd / t_hand, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reports", type=int, default=20_000)
    ap.add_argument("--baseline-reports", type=int, default=1_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ontology", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--skip", nargs="*", default=[], choices=["command", "naive", "pysbd", "csv"])
    args = ap.parse_args(argv)

    onto = load_ontology(args.ontology)
    texts, source = source_reports()
    results: dict = {"source": source, "distinct_reports": len(texts), "labels": len(onto.labels),
                     "synonyms": sum(len(lab.synonyms) for lab in onto.labels.values()),
                     "cache_hit_rate_one_pass": bench_cache_hit_rate(onto, texts)}
    with tempfile.TemporaryDirectory() as tmp:
        if "command" not in args.skip:
            results["machine_parallelism_before"] = machine_parallelism(args.runs)
            results["command"] = bench_command(texts, args, Path(tmp))
            results["machine_parallelism_after"] = machine_parallelism(args.runs)
    if "naive" not in args.skip:
        results["naive"] = bench_naive(onto, texts, args)
    if "pysbd" not in args.skip:
        results["pysbd"] = bench_pysbd(onto, texts, args)
    if "csv" not in args.skip:
        results["csv_writer"] = bench_csv_writer(onto, texts, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
