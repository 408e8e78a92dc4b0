"""Mixing sources into one label space: unannotated labels are masked, never counted negative."""
import numpy as np
import pandas as pd
import pytest

from cxr.core.errors import InputError
from cxr.pretrain.data.labelspace import annotation_coverage, build_label_matrix, combine_columns
from cxr.pretrain.data.sources.base import SourceFrame
from tests.pretrain.data_helpers import fixture_ontology

ONTO = fixture_ontology()
NAN = np.nan


def _ids(n, source):
    return pd.DataFrame({"path": [f"{source}/{i}.png" for i in range(n)], "patient_id": [str(i) for i in range(n)],
                         "study_id": [str(i) for i in range(n)], "source": source, "view": "PA"})


def _chexpert():
    values = pd.DataFrame({"No Finding": [NAN, 1.0], "Cardiomegaly": [1.0, NAN], "Pleural Effusion": [-1.0, 0.0],
                           "Lung Lesion": [1.0, 0.0], "Support Devices": [0.0, NAN]})
    return SourceFrame("chexpert", pd.concat([_ids(2, "chexpert"), values], axis=1), list(values.columns), "chexpert")


def _padchest():
    cols = ONTO.vocabulary("padchest")
    values = pd.DataFrame(np.nan, index=range(2), columns=cols)
    values.loc[0, ["lobar atelectasis", "pacemaker"]] = 1.0
    values.loc[1, "normal"] = 1.0
    values.loc[1, "pacemaker"] = 0.0
    values.loc[1, "central venous catheter"] = 0.0
    values.loc[1, "lobar atelectasis"] = 0.0
    return SourceFrame("padchest", pd.concat([_ids(2, "padchest"), values], axis=1), cols, "padchest")


def test_combine_precedence():
    got = combine_columns(np.array([[0, 1], [0, -1], [NAN, 0], [NAN, NAN]], dtype=np.float32))
    np.testing.assert_array_equal(got[:3], [1, -1, 0])
    assert np.isnan(got[3])


def test_mixing_masks_what_a_source_does_not_annotate():
    out = build_label_matrix([_chexpert(), _padchest()], "dlilp", ONTO)
    assert out.columns[:5].tolist() == ["path", "patient_id", "study_id", "source", "view"]
    assert out.columns[5:5 + 14].tolist() == ONTO.vocabulary("dlilp")
    chex, pad = out[out.source == "chexpert"], out[out.source == "padchest"]
    missing = set(chex["not_annotated"].iloc[0].split("|"))
    # CheXpert's 'Lung Lesion' is broader than 'nodule': it must not claim nodule, mass or pacemaker.
    assert {"nodule", "pulmonary mass", "pacemaker", "pneumothorax"} <= missing
    assert not {"cardiomegaly", "pleural effusion", "lung lesion", "no finding", "support devices"} & missing
    assert chex["nodule"].isna().all() and chex["cardiomegaly"].iloc[0] == 1.0
    assert chex["pleural effusion"].tolist() == [-1.0, 0.0] and chex["no finding"].iloc[1] == 1.0
    # PadChest names cover every dlilp label through the ontology.
    assert (pad["not_annotated"] == "").all()
    assert pad["support devices"].tolist() == [1.0, 0.0]           # pacemaker -> support devices
    assert pad["no finding"].iloc[1] == 1.0                       # normal -> no finding
    assert pad["atelectasis"].iloc[0] == 1.0                      # child propagated to the parent
    assert np.isnan(pad["atelectasis"].iloc[1])                   # ...but a negative child says nothing
    assert np.isnan(pad["nodule"].iloc[0])                        # not mentioned stays NaN (annotated)
    coverage = annotation_coverage(out, ONTO.vocabulary("dlilp"))
    assert coverage["chexpert"]["nodule"] == 0 and coverage["padchest"]["nodule"] == 2


def test_partial_padchest_columns_do_not_claim_broader_labels():
    phantom = pd.concat([_ids(2, "synthetic"), pd.DataFrame({"pacemaker": [1.0, 0.0], "pleural effusion": [0.0, 1.0]})], axis=1)
    out = build_label_matrix([SourceFrame("synthetic", phantom, ["pacemaker", "pleural effusion"], "padchest")], "dlilp", ONTO)
    missing = set(out["not_annotated"].iloc[0].split("|"))
    # 'support devices' also covers central lines, which this source never looked for.
    assert "support devices" in missing and "pacemaker" not in missing and "pleural effusion" not in missing
    assert out["pleural effusion"].tolist() == [0.0, 1.0]


def test_chexpert_onto_padchest_and_per_row_annotation():
    out = build_label_matrix([_chexpert()], "padchest", ONTO, labels=["cardiomegaly", "normal", "nodule"])
    assert out["not_annotated"].iloc[0] == "nodule" and out["normal"].tolist()[1] == 1.0
    frame = _padchest()
    frame.frame["not_annotated"] = ["pacemaker", ""]
    out = build_label_matrix([frame], "dlilp", ONTO)
    assert "pacemaker" in out["not_annotated"].iloc[0] and "support devices" in out["not_annotated"].iloc[0]
    assert out["not_annotated"].iloc[1] == "" and out["path"].tolist() == frame.frame["path"].tolist()


def test_errors_name_the_problem():
    with pytest.raises(InputError, match="not in vocabulary 'dlilp'"):
        build_label_matrix([_chexpert()], "dlilp", ONTO, labels=["Cardiomegaly"])
    bad = SourceFrame("x", _ids(1, "x").assign(foo=1.0), ["foo"], "chexpert")
    with pytest.raises(InputError, match=r"source 'x': label column\(s\) \['foo'\]"):
        build_label_matrix([bad], "dlilp", ONTO)
