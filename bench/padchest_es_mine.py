"""Candidate Spanish synonyms for a label, mined from the MINING half of padchest_es_dev.csv only.

For each word n-gram (1-3 words, within a sentence) of the reports: how many reports with the label
contain it, and the share of the reports containing it that have the label. Candidates are read and
reviewed by hand before any lands in the ontology (as radiology Spanish, stemmed and unstemmed); the
script never writes a file.

    python bench/padchest_es_mine.py "pleural effusion" --top 30
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from padchest_es import DATA, gold_sets, load  # noqa: E402


def ngrams(text: str, n_max: int = 3) -> set[str]:
    out = set()
    for sent in text.split("."):
        words = sent.split()
        for n in range(1, n_max + 1):
            out.update(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("label")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--min-count", type=int, default=3)
    args = ap.parse_args(argv)
    df = load(DATA)
    df = df[df["half"] == "mining"]
    pos, allc = Counter(), Counter()
    for text, gold in zip(df["report"], gold_sets(df["labels"])):
        grams = ngrams(text)
        allc.update(grams)
        if args.label in gold:
            pos.update(grams)
    n_pos = sum(args.label in g for g in gold_sets(df["labels"]))
    rows = [(g, c, c / allc[g]) for g, c in pos.items() if c >= args.min_count]
    rows.sort(key=lambda r: (-(r[2] >= 0.5), -r[1]))
    print(f"{args.label}: {n_pos} positive reports of {len(df)} (mining half)")
    for g, c, p in rows[:args.top]:
        print(f"  {c:5d} {p:5.2f}  {g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
