"""Spanish conformance: our own report sentences, ordinary Spanish and PadChest's stemmed style, with the
PadChest-vocabulary values we decided for them (``fixtures/padchest_es_conformance.csv``).

Columns: ``tag`` (the rule exercised), ``form`` (``plain`` Spanish or PadChest-``stemmed``), ``text``,
``expected`` (``label=value`` pairs separated by ';', value 1 / 0 / -1 or ``blank`` for not mentioned).
None of the sentences comes from PadChest's reports. The labeler is ``cxr label --language es`` with the
default (PadChest, lenient) conventions: "probable" and "compatible con" findings are present.
"""
from __future__ import annotations

import csv
import math
from collections import Counter
from pathlib import Path

import pytest

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import load_ontology

FIXTURE = Path(__file__).parent / "fixtures" / "padchest_es_conformance.csv"


def _cases() -> list[tuple[str, str, str, dict[str, float]]]:
    out = []
    with FIXTURE.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            expected = {}
            for pair in row["expected"].split(";"):
                name, value = pair.split("=")
                expected[name.strip()] = math.nan if value.strip() == "blank" else float(value)
            out.append((row["tag"], row["form"], row["text"], expected))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def spanish() -> Labeler:
    return Labeler(load_ontology(), language="es")


def test_suite_size_and_coverage():
    assert len(CASES) >= 80
    forms = Counter(form for _, form, _, _ in CASES)
    assert forms["plain"] >= 40 and forms["stemmed"] >= 25
    tags = Counter(tag for tag, _, _, _ in CASES)
    for tag in ("negation", "uncertain", "history", "resolution", "lenient", "normal"):
        assert tags[tag] >= 3, tag


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("tag,form,text,expected", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_sentence(spanish: Labeler, tag, form, text, expected):
    got = spanish.label_many([text], "padchest")[0]
    wrong = {k: (v, got[k]) for k, v in expected.items() if not _same(v, got[k])}
    assert not wrong, f"{text!r}: label -> (expected, got) {wrong}"


def test_strict_conventions_hedge_the_lenient_phrases():
    """Under CheXpert's strict hedging the phrases PadChest codes as present are uncertain."""
    lab = Labeler(load_ontology(), language="es", conventions="chexpert")
    got = lab.label_many(["Probable neumonía basal derecha.", "hallazg compat con neumoni ."], "chexpert")
    assert [g["Pneumonia"] for g in got] == [-1, -1]
