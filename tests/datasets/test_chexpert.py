"""cxr.datasets.chexpert on a tiny train.csv in the official format."""
from __future__ import annotations

import numpy as np
import pytest

from cxr.core.errors import InputError
from cxr.datasets import chexpert
from tests.datasets.official_files import CHEXPERT_COLUMNS, write_chexpert, write_text


def test_train_csv(tmp_path):
    frame = chexpert.read_labels(write_chexpert(tmp_path, per_class=1) / chexpert.TRAIN)
    assert frame["path"].iloc[0] == "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg"
    assert frame["patient_id"].iloc[0] == "patient00001" and frame["study_id"].iloc[2] == "patient00001/study2"
    assert frame["frontal"].tolist()[:3] == [True, False, True]
    assert frame["view"].iloc[0] == "AP" and np.isnan(frame["view"].iloc[1])     # laterals have no AP/PA
    assert chexpert.label_columns(frame) == CHEXPERT_COLUMNS
    assert frame["Pneumonia"].iloc[0] == -1.0 and np.isnan(frame["Edema"].iloc[0])


def test_a_path_without_patient_and_study_is_refused(tmp_path):
    path = write_text(tmp_path / "train.csv", "Path,Frontal/Lateral,AP/PA,Edema\nx/view1.jpg,Frontal,AP,1\n")
    with pytest.raises(InputError, match="no patientNNNNN/studyN/ part"):
        chexpert.read_labels(path)
    path = write_text(tmp_path / "valid.csv", "Path,Frontal/Lateral,AP/PA,Edema\n"
                      "CheXpert-v1.0-small/valid/patient64541/study1/view1_frontal.jpg,Frontal,AP,yes\n")
    with pytest.raises(InputError, match=r"row 1, column 'Edema': 'yes' is not 1, 0, -1 or empty"):
        chexpert.read_labels(path)
