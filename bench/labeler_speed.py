"""Speed of `cxr label` (whole command, start-up included) against a naive labeler, in one script.

Two inputs of --reports rows each, in temporary CSVs:

- "repetitive": the Open-i development reports (FINDINGS + IMPRESSION of
  /work/shared/data/reports-dev/iu_dev.csv; the embedded sample reports when that file is absent) repeated
  and shuffled, so nearly every sentence hits the sentence cache;
- "unique": Open-i-shaped reports in which no sentence repeats anywhere (bench/unique_corpus.py; the
  duplicate count is checked and reported), so the sentence cache is useless;
- "spanish": PadChest's Spanish reports (/work/shared/data/reports-dev/padchest_es_dev.csv, when present)
  repeated and shuffled like "repetitive", labeled with ``--language es``; with and without the cache, so
  Spanish and English reports/s come from the same run.

Every figure is the median of --runs runs; the command runs are interleaved (run 1 of every case, then
run 2, ...) so that a change in the machine's load hits all cases alike.

Measured:
1. ``cxr label`` as a subprocess, wall clock from process start to exit, on both inputs: all cores
   (default) and 1 worker; on the repetitive input also without the sentence cache. Start-up: ``cxr label
   --help``, one report, and the 42 embedded samples. Peak memory (sum of the RSS of the process and its
   workers, sampled every 50 ms) on --rss-mb inputs of growing size: bounded memory means the peak does
   not grow with the input.
2. The naive labeler for scale, in-process on --baseline-reports reports of each input (spaCy start-up not
   counted): one regular expression per label (its synonyms joined) finds mentions, negspacy's default
   clinical termset (spaCy blank English + sentencizer + Negex) decides negation. The ratios compare
   reports/s of the whole ``cxr label`` command with the naive labeler's.
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
import statistics
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
from unique_corpus import unique_reports  # noqa: E402

DEV = Path("/work/shared/data/reports-dev/iu_dev.csv")
#: PadChest's Spanish reports (stemmed), labeled with ``--language es`` in the same run as English
PADCHEST_ES = Path("/work/shared/data/reports-dev/padchest_es_dev.csv")
OUT = ROOT / "bench" / "out" / "labeler_speed.json"


def source_reports() -> tuple[list[str], str]:
    path, build = (DEV, _dev_text) if DEV.exists() else (SAMPLE_REPORTS, lambda r: r.get("report") or "")
    with open(path, newline="", encoding="utf-8") as fh:
        texts = [build(row) for row in csv.DictReader(fh)]
    return [t for t in texts if t.strip()], str(path)


def _dev_text(row: dict) -> str:
    parts = [f"{h}: {row[c]}" for h, c in (("FINDINGS", "findings"), ("IMPRESSION", "impression")) if row.get(c)]
    return "\n".join(parts)


def write_input(texts: list[str], n: int, path: Path, seed: int = 0, shuffle: bool = True) -> None:
    rng = random.Random(seed)
    rows = [texts[i % len(texts)] for i in range(n)]
    if shuffle:
        rng.shuffle(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["study_id", "report"])
        w.writerows((f"r{i:07d}", t) for i, t in enumerate(rows))


def label_command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "cxr.cli.main", "label", *args, "--no-progress"]


def time_command(args: list[str], runs: int) -> float:
    cmd = label_command(args)

    def once():
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
    return median_seconds(once, runs)


def time_interleaved(cases: dict[str, list[str]], runs: int) -> dict[str, float]:
    """Median wall time of each command; run i of every case before run i + 1 of any."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, cmd in cases.items():
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def peak_rss(cmd: list[str]) -> dict:
    """Run ``cmd``; the peak of the summed RSS of it and its child processes (MiB), sampled every 50 ms."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = peak_one = 0
    while proc.poll() is None:
        try:
            rss = [p.memory_info().rss for p in [ps, *ps.children(recursive=True)]]
        except psutil.Error:
            rss = []
        if rss:
            peak, peak_one = max(peak, sum(rss)), max(peak_one, max(rss))
        time.sleep(0.05)
    if proc.returncode:
        raise RuntimeError(f"{cmd} failed with {proc.returncode}")
    return {"peak_rss_mib_all_processes": round(peak / 2**20), "peak_rss_mib_one_process": round(peak_one / 2**20),
            "seconds": round(time.perf_counter() - start, 1)}


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
def duplicate_sentences(onto, texts) -> dict:
    """Sentences of ``texts`` (as the labeler splits and lower-cases them) that occur more than once."""
    lab = Labeler(onto, cache_size=0)
    seen: set[str] = set()
    total = 0
    for t in texts:
        for _, sentence, _ in lab.label(t).sentences:
            total += 1
            seen.add(sentence.lower())
    return {"sentences": total, "distinct": len(seen), "duplicates": total - len(seen)}


def bench_command(inputs: dict[str, Path], args, tmp: Path) -> dict:
    out = str(tmp / "labels.csv")
    onto_args = ["--ontology", str(args.ontology)] if args.ontology else []
    cases = {}
    for corpus, path in inputs.items():
        common = [str(path), "-o", out] + onto_args + (["--language", "es"] if corpus == "spanish" else [])
        cases[f"{corpus}/all_cores"] = label_command(common)
        cases[f"{corpus}/one_worker"] = label_command(common + ["--workers", "1"])
        if corpus in ("repetitive", "spanish"):
            cases[f"{corpus}/all_cores_no_cache"] = label_command(common + ["--sentence-cache", "0"])
    one = tmp / "one.csv"
    with open(inputs["unique"], newline="", encoding="utf-8") as src, open(one, "w", newline="", encoding="utf-8") as dst:
        csv.writer(dst).writerows(row for row, _ in zip(csv.reader(src), range(2)))
    cases["startup/help"] = label_command(["--help"])
    cases["startup/one_report"] = label_command([str(one), "-o", out] + onto_args)
    cases["startup/42_samples"] = label_command(["--sample", "-o", out] + onto_args)
    load_before = os.getloadavg()
    seconds = time_interleaved(cases, args.runs)
    res: dict = {"reports": args.reports, "runs": args.runs, "cores": os.cpu_count(),
                 "load_average_before": [round(x, 2) for x in load_before],
                 "load_average_after": [round(x, 2) for x in os.getloadavg()]}
    for name, sec in seconds.items():
        group, case = name.split("/")
        entry = {"seconds": round(sec, 3)}
        if group != "startup":
            entry["reports_per_s"] = round(args.reports / sec)
        res.setdefault(group, {})[case] = entry
    return res


def bench_memory(texts: list[str], sizes_mb: list[int], args, tmp: Path) -> dict:
    """Peak RSS of the default command on inputs of growing size (the unique reports repeated)."""
    out: dict = {}
    per_row = sum(len(t.encode()) + 12 for t in texts) / len(texts)
    for mb in sizes_mb:
        path = tmp / f"big_{mb}mb.csv"
        n = int(mb * 2**20 / per_row)
        write_input(texts, n, path, shuffle=False)
        res = peak_rss(label_command([str(path), "-o", str(tmp / "big_labels.csv")]))
        res.update(reports=n, input_mib=round(path.stat().st_size / 2**20), reports_per_s=round(n / res["seconds"]))
        out[f"{mb}mb"] = res
        path.unlink()
        (tmp / "big_labels.csv").unlink(missing_ok=True)
    return out


def bench_cache_hit_rate(onto, texts) -> float:
    lab = Labeler(onto)
    seen, total = set(), 0
    for t in texts:
        for _, sentence, _ in lab.label(t).sentences:
            total += 1
            seen.add(sentence.lower())
    return round(1 - len(seen) / max(total, 1), 3)


def bench_naive(onto, corpora: dict[str, list[str]], args) -> dict:
    naive = NaiveLabeler(onto)
    out = {}
    for name, texts in corpora.items():
        sample = (texts * (args.baseline_reports // len(texts) + 1))[:args.baseline_reports]
        ours = Labeler(onto, cache_size=0)
        t_naive = median_seconds(lambda: [naive.label(t) for t in sample], args.runs)
        t_ours = median_seconds(lambda: [ours.label(t) for t in sample], args.runs)
        out[name] = {"reports": len(sample), "naive_reports_per_s": round(len(sample) / t_naive),
                     "engine_reports_per_s_one_core_no_cache": round(len(sample) / t_ours),
                     "speedup": round(t_naive / t_ours, 1)}
    return out


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
    ap.add_argument("--rss-mb", type=lambda v: [int(x) for x in v.split(",") if x], default=[100, 200],
                    help="input sizes (MB, comma-separated) for the peak-memory runs; '' = none")
    ap.add_argument("--skip", nargs="*", default=[], choices=["command", "memory", "naive", "pysbd", "csv"])
    args = ap.parse_args(argv)

    onto = load_ontology(args.ontology)
    texts, source = source_reports()
    unique = unique_reports(args.reports, DEV)
    results: dict = {"source": source, "distinct_reports": len(texts), "labels": len(onto.labels),
                     "synonyms": sum(len(lab.synonyms) for lab in onto.labels.values()),
                     "cache_hit_rate_one_pass": bench_cache_hit_rate(onto, texts),
                     "unique_corpus": {"reports": len(unique),
                                       "mean_chars": round(statistics.mean(map(len, unique))),
                                       "open_i_mean_chars": round(statistics.mean(map(len, texts))),
                                       **duplicate_sentences(onto, unique)}}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {"repetitive": Path(tmp) / "repetitive.csv", "unique": Path(tmp) / "unique.csv"}
        write_input(texts, args.reports, inputs["repetitive"])
        write_input(unique, args.reports, inputs["unique"], shuffle=False)
        if PADCHEST_ES.exists():
            with open(PADCHEST_ES, newline="", encoding="utf-8") as fh:
                spanish = [row["report"] for row in csv.DictReader(fh) if row["report"].strip()]
            inputs["spanish"] = Path(tmp) / "spanish.csv"
            write_input(spanish, args.reports, inputs["spanish"])
            results["spanish_corpus"] = {"source": str(PADCHEST_ES), "distinct_reports": len(spanish),
                                         "mean_chars": round(statistics.mean(map(len, spanish)))}
        if "command" not in args.skip:
            results["machine_parallelism_before"] = machine_parallelism(args.runs)
            results["command"] = bench_command(inputs, args, Path(tmp))
            results["machine_parallelism_after"] = machine_parallelism(args.runs)
        if "memory" not in args.skip and args.rss_mb:
            results["memory"] = bench_memory(unique, args.rss_mb, args, Path(tmp))
    if "naive" not in args.skip:
        results["naive"] = bench_naive(onto, {"repetitive": texts, "unique": unique}, args)
        if "command" in results:
            results["command_vs_naive"] = {
                f"{corpus}/{case}": round(v["reports_per_s"] / results["naive"][corpus]["naive_reports_per_s"], 1)
                for corpus in ("repetitive", "unique") for case, v in results["command"][corpus].items()}
    if "pysbd" not in args.skip:
        results["pysbd"] = bench_pysbd(onto, texts, args)
    if "csv" not in args.skip:
        results["csv_writer"] = bench_csv_writer(onto, texts, args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))
    _print_summary(results)
    return 0


def _print_summary(results: dict) -> None:
    """The headline figures: reports/s per input and case, and the ratio to the naive labeler."""
    cmd, naive = results.get("command"), results.get("naive")
    if not cmd:
        return
    print("\ncxr label, whole process, median of", cmd["runs"], "runs,", cmd["reports"], "reports per input")
    for corpus in ("unique", "repetitive", "spanish"):
        for case, v in cmd.get(corpus, {}).items():
            ratio = (f"  {v['reports_per_s'] / naive[corpus]['naive_reports_per_s']:.0f}x naive"
                     if naive and corpus in naive else "")
            print(f"  {corpus:10s} {case:20s} {v['seconds']:7.2f} s {v['reports_per_s']:8,d} reports/s{ratio}")
    for case, v in cmd["startup"].items():
        print(f"  start-up   {case:20s} {v['seconds']:7.2f} s")
    if naive:
        for corpus, v in naive.items():
            print(f"  naive      {corpus:20s} {v['naive_reports_per_s']:8,d} reports/s (in-process, one core)")
    for size, v in results.get("memory", {}).items():
        print(f"  memory     {size:20s} peak {v['peak_rss_mib_all_processes']} MiB (all processes), "
              f"{v['reports']:,d} reports, {v['reports_per_s']:,d} reports/s")


if __name__ == "__main__":
    raise SystemExit(main())
