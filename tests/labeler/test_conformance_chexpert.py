"""CheXpert conformance: report sentences with the CheXpert values we decided for them.

``fixtures/chexpert_conformance.csv`` holds our own MIMIC-style sentences (none copied from the CheXpert
labeler or another project), one report per row: ``tag`` (the rule it exercises), ``text`` and
``expected`` (``Observation=value`` pairs separated by ';', value 1 / 0 / -1 or ``blank`` for not
mentioned). Only the listed observations are checked. The values follow the CheXpert labeler's
conventions, except where docs/ontology.md ("Differences from the CheXpert labeler") lists a deliberate
difference; there the expected value is ours.

The labeler is built as ``cxr label --vocabulary chexpert`` builds it (CheXpert's strict hedging).
"""
from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import load_ontology

FIXTURE = Path(__file__).parent / "fixtures" / "chexpert_conformance.csv"
TAGS = {"hedge_pre", "hedge_post", "alternative", "positive_elsewhere", "less_likely", "benign", "negation",
        "nofinding", "cardiomegaly", "cardiomediastinum", "hiatal_hernia", "abbreviation", "edema", "lesion",
        "addendum", "affirmed"}


def _cases() -> list[tuple[str, str, dict[str, float]]]:
    out = []
    with FIXTURE.open(newline="") as f:
        for row in csv.DictReader(f):
            expected = {}
            for pair in row["expected"].split(";"):
                name, value = pair.split("=")
                expected[name.strip()] = math.nan if value.strip() == "blank" else float(value)
            out.append((row["tag"], row["text"], expected))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def chexpert_labeler() -> Labeler:
    return Labeler(load_ontology(), conventions="chexpert")


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _mismatches(lab: Labeler, text: str, expected: dict[str, float]) -> dict[str, tuple[float, float]]:
    got = lab.label_many([text], "chexpert")[0]
    return {k: (v, got[k]) for k, v in expected.items() if not _same(v, got[k])}


def test_suite_size_and_coverage():
    assert len(CASES) >= 150
    uncertain = [c for c in CASES if -1.0 in c[2].values()]
    assert len(uncertain) >= 40
    assert {tag for tag, _, _ in CASES} == TAGS
    names = set().union(*(c[2] for c in CASES))
    assert names <= set(load_ontology().vocabulary("chexpert"))


def test_match_rate(chexpert_labeler, capsys):
    """Reports the match rate (all sentences, the uncertain ones, per tag); fails on any mismatch."""
    per_tag, per_tag_ok, failures = Counter(), Counter(), []
    unc = unc_ok = 0
    for tag, text, expected in CASES:
        bad = _mismatches(chexpert_labeler, text, expected)
        per_tag[tag] += 1
        per_tag_ok[tag] += not bad
        if -1.0 in expected.values():
            unc += 1
            unc_ok += not bad
        if bad:
            failures.append(f"[{tag}] {text!r}: " + ", ".join(f"{k} expected {e} got {g}" for k, (e, g) in bad.items()))
    ok = sum(per_tag_ok.values())
    with capsys.disabled():
        print(f"\nCheXpert conformance: {ok}/{len(CASES)} sentences match ({ok / len(CASES):.1%}); "
              f"uncertain {unc_ok}/{unc} ({unc_ok / unc:.1%})")
        for tag in sorted(per_tag):
            print(f"  {tag:20s} {per_tag_ok[tag]}/{per_tag[tag]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("tag,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_sentence(chexpert_labeler, tag, text, expected):
    assert not _mismatches(chexpert_labeler, text, expected)
