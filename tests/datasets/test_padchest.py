"""cxr.datasets.padchest on a tiny label CSV in the official format."""
from __future__ import annotations

from cxr.datasets import padchest
from tests.datasets.official_files import write_padchest


def test_label_csv(tmp_path):
    frame = padchest.read_labels(write_padchest(tmp_path))
    assert frame["path"].tolist()[:3] == ["0/a.png", "0/b.png", "1/c.png"]
    assert frame["patient_id"].iloc[0] == "pat1" and frame["study_id"].iloc[0] == "st1"
    assert frame["view"].iloc[0] == "PA" and frame["view"].isna().iloc[1] and frame["view"].iloc[2] == "AP"
    assert frame["frontal"].tolist() == [True, False, True, True, True, True]
    assert frame["labels"].iloc[0] == ["lobar atelectasis", "pleural effusion"]     # stripped, sorted
    assert frame["labels"].iloc[4] is None                                        # empty cell: no list
    assert frame["usable"].tolist() == [True, True, True, False, False, True]     # 'exclude', no list


def test_label_lists():
    assert padchest.parse_label_list("['normal', ' normal', '']") == ["normal"]
    assert padchest.parse_label_list("normal") is None and padchest.parse_label_list(float("nan")) is None
