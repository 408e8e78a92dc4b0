"""cxr.datasets.mimic_cxr on tiny files in the official format."""
from __future__ import annotations

import numpy as np

from cxr.datasets import mimic_cxr
from tests.datasets.official_files import CHEXPERT_COLUMNS, write_mimic, write_mimic_jpg


def test_metadata_split_and_label_files(tmp_path):
    write_mimic_jpg(tmp_path)
    meta = mimic_cxr.read_metadata(tmp_path / mimic_cxr.METADATA[0])
    assert meta["path"].iloc[0] == "files/p10/p10000032/s50414267/d1.jpg"
    assert meta["patient_id"].tolist()[:2] == ["10000032", "10000032"] and meta["study_id"].iloc[0] == "50414267"
    assert meta["frontal"].tolist() == [True, False, True, True, True] and meta["view"].iloc[1] == "LATERAL"
    split = mimic_cxr.read_split(tmp_path / mimic_cxr.SPLIT[0])
    assert split.loc[split["split"] == mimic_cxr.TEST, "dicom_id"].tolist() == ["d3"]
    write_mimic(tmp_path, per_class=1)
    labels = mimic_cxr.read_labels(tmp_path / mimic_cxr.CHEXPERT_LABELS[0])
    assert labels.columns.tolist() == ["patient_id", "study_id", *CHEXPERT_COLUMNS]
    assert labels["Atelectasis"].iloc[0] == 1.0 and np.isnan(labels["Edema"].iloc[0])
    assert labels["Atelectasis"].dtype == np.float32


def test_study_ids_spelled_three_ways_are_one_study():
    assert mimic_cxr.study_key("s50414267") == mimic_cxr.study_key("50414267") == mimic_cxr.study_key(50414267)
    assert mimic_cxr.study_key("p10000032/s1") is None
