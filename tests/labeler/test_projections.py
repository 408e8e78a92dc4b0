"""Projections of ontology label values onto CheXpert / ChestX-ray14 / DLILP vocabularies.

Rule: a target is positive if any source is positive, else uncertain if any source is uncertain, else
negative if any source is negative, else not mentioned (NaN).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxr.core.errors import OntologyError
from cxr.labeler.ontology import load_ontology

NAN = math.nan


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def same(a, b) -> bool:
    return (isinstance(a, float) and math.isnan(a) and isinstance(b, float) and math.isnan(b)) or a == b


# (ontology values, vocabulary, expected target values; targets not listed must be NaN)
CASES = [
    # positive beats uncertain beats negative
    ({"round atelectasis": 1, "atelectasis": 0, "atelectasis basal": -1}, "chexpert", {"Atelectasis": 1}),
    ({"atelectasis basal": -1, "lobar atelectasis": 0}, "chexpert", {"Atelectasis": -1}),
    ({"atelectasis": 0, "segmental atelectasis": 0}, "chexpert", {"Atelectasis": 0}),
    # a source of two targets feeds both; an unrelated negative does not touch them
    ({"hydropneumothorax": -1, "pneumothorax": 0, "cardiomegaly": 0}, "chexpert",
     {"Pneumothorax": -1, "Pleural Effusion": -1, "Cardiomegaly": 0}),
    ({"consolidation": 1}, "chexpert", {"Consolidation": 1, "Lung Opacity": 1}),
    ({"pacemaker": 1, "catheter": 0}, "chexpert", {"Support Devices": 1}),
    ({"normal": 1}, "chexpert", {"No Finding": 1}),
    # CheXpert's No Finding is 1 or blank, never 0
    ({"normal": 0, "pleural effusion": 1}, "chexpert", {"No Finding": math.nan, "Pleural Effusion": 1}),
    # NegBio's Effusion includes a pericardial effusion; Emphysema never a subcutaneous one
    ({"pericardial effusion": 1}, "chestxray14", {"Effusion": 1}),
    ({"subcutaneous emphysema": 1}, "chestxray14", {}),
    ({"hiatal hernia": -1}, "chestxray14", {"Hernia": -1}),
    # DLILP: collapsed categories
    ({"dai": 1}, "dlilp", {"support devices": 1}),
    ({"normal": 1}, "dlilp", {"no finding": 1}),
    ({"COPD signs": 0}, "dlilp", {"copd signs": 0}),
    ({"callus rib fracture": 1}, "dlilp",
     {"callus rib fracture": 1, "rib fracture": 1, "fracture": 1, "lung lesion": NAN}),
    ({"heart valve calcified": 1}, "dlilp", {"heart valve": 1}),
]


@pytest.mark.parametrize("values,vocab,expected", CASES)
def test_hand_computed_projections(onto, values, vocab, expected):
    out = onto.project(values, vocab)
    assert list(out) == onto.vocabulary(vocab)
    for target, got in out.items():
        want = expected.get(target, NAN)
        assert same(got, want), (target, got, want)


def test_nothing_mentioned_projects_to_all_missing(onto):
    for vocab in ("chexpert", "chestxray14", "dlilp"):
        assert all(math.isnan(v) for v in onto.project({}, vocab).values())


def test_padchest_vocabulary_is_identity(onto):
    out = onto.project({"cardiomegaly": 1}, "padchest")
    assert list(out) == list(onto.labels)
    assert out["cardiomegaly"] == 1 and math.isnan(out["pleural effusion"])


def test_unknown_vocabulary_is_an_error(onto):
    with pytest.raises(OntologyError, match="unknown vocabulary"):
        onto.project({}, "mimic-99")


def test_every_projection_source_is_an_ontology_label(onto):
    for proj in onto.projections.values():
        for target, sources in proj.targets.items():
            assert sources, (proj.name, target)
            assert set(sources) <= set(onto.labels), (proj.name, target)


# --- project_frame equals project row by row ------------------------------------------------------
COLUMNS = ["atelectasis", "atelectasis basal", "pneumothorax", "hydropneumothorax", "pleural effusion",
           "pericardial effusion", "normal", "pacemaker", "catheter", "nodule", "mass", "increased density",
           "hiatal hernia", "COPD signs"]
VALUE = st.sampled_from([1, 0, -1, NAN])


def _rowwise(onto, frame, vocab):
    rows = []
    for _, row in frame.iterrows():
        values = {c: v for c, v in row.items() if not (isinstance(v, float) and math.isnan(v))}
        rows.append(onto.project(values, vocab))
    return pd.DataFrame(rows, index=frame.index, columns=onto.vocabulary(vocab)).astype(float)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({c: VALUE for c in COLUMNS}), min_size=1, max_size=6),
       st.sampled_from(["chexpert", "chestxray14", "dlilp"]))
def test_project_frame_equals_project_rowwise(onto, rows, vocab):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    got = onto.project_frame(frame, vocab)
    want = _rowwise(onto, frame, vocab)
    assert list(got.columns) == onto.vocabulary(vocab)
    np.testing.assert_array_equal(got.to_numpy(dtype=float), want.to_numpy(dtype=float))


def test_project_frame_with_missing_columns_is_not_mentioned(onto):
    frame = pd.DataFrame({"cardiomegaly": [1.0, NAN, 0.0]})
    got = onto.project_frame(frame, "chexpert")
    assert got["Cardiomegaly"].tolist()[0] == 1 and math.isnan(got["Cardiomegaly"][1])
    assert got["Cardiomegaly"][2] == 0
    assert got["Pneumothorax"].isna().all()
