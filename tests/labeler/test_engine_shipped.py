"""A handful of golden sentences through the shipped ontology and cues (the rest of the engine tests use
the fixture ontology, so they do not depend on the shipped synonyms)."""
import pytest

from labeler.engine import Labeler
from labeler.ontology import load_ontology


@pytest.fixture(scope="module")
def shipped():
    return Labeler(load_ontology())


@pytest.mark.parametrize("text,expected", [
    ("FINDINGS: No pleural effusion or pneumothorax.\nIMPRESSION: No acute cardiopulmonary process.",
     {"pleural effusion": 0, "pneumothorax": 0, "normal": 1}),
    ("IMPRESSION: Possible left lower lobe pneumonia.", {"pneumonia": -1, "normal": 0}),
    ("FINDINGS: No change in moderate cardiomegaly.", {"cardiomegaly": 1, "normal": 0}),
    ("FINDINGS: Interval resolution of the right pneumothorax.", {"pneumothorax": 0}),
    ("INDICATION: evaluate for pneumonia.\nFINDINGS: Lungs are clear.", {"pneumonia": None, "normal": 1}),
    ("FINDINGS: Pericardial effusion. No XXXX of a pleural effusion.",
     {"pericardial effusion": 1, "pleural effusion": 0}),
])
def test_shipped_golden_sentences(shipped, text, expected):
    values = shipped.label(text).values
    assert {k: values.get(k) for k in expected} == expected


def test_shipped_positives_reach_their_ancestors(shipped):
    onto = shipped.onto
    values = shipped.label("FINDINGS: Calcified granuloma in the right upper lobe.").values
    assert values["calcified granuloma"] == 1
    assert all(values[a] == 1 for a in onto.ancestors("calcified granuloma"))
