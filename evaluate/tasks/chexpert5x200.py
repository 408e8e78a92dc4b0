"""CheXpert 5x200: five-class classification of images with exactly one of five findings positive.

Dataset: CheXpert (Irvin et al., "CheXpert: A Large Chest Radiograph Dataset with Uncertainty Labels and
Expert Comparison", AAAI 2019). Download: https://stanfordmlgroup.github.io/competitions/chexpert/
(or the Stanford AIMI shared datasets page). The 5x200 protocol follows GLoRIA (Huang et al., ICCV 2021).

Expected layout (``--metadata`` = train.csv or its folder; ``--images`` = the folder holding
``CheXpert-v1.0[-small]/`` or the CheXpert folder itself)::

    CheXpert-v1.0-small/train.csv          Path, Sex, Age, Frontal/Lateral, AP/PA, 14 label columns
    CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg

Candidates: frontal views whose labels have exactly one of Atelectasis, Cardiomegaly, Consolidation,
Edema, Pleural Effusion equal to 1 (uncertain -1 does not count as positive). Frontal only because the
pre-training data of the paper are frontal radiographs. Patient id: the ``patientNNNNN`` path component.
"""
from __future__ import annotations

import re

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import (TASKS, BenchmarkTask, candidates_frame, read_table, require_columns,
                                 single_positive_label)

CHEXPERT5 = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")
_PATIENT = re.compile(r"(patient\d+)")


@TASKS.register("chexpert5x200")
class CheXpert5x200(BenchmarkTask):
    name = "chexpert5x200"
    classes = CHEXPERT5
    quota = Quota(train_per_class=200, test_per_class=200)
    files = {"labels": ("train.csv",)}
    sources = ("chexpert",)

    def candidates(self, files, images):
        path = files["labels"]
        frame = read_table(path)
        require_columns(frame, ("Path", *CHEXPERT5), path)
        if "Frontal/Lateral" in frame.columns:
            frame = frame[frame["Frontal/Lateral"].str.lower() == "frontal"]
        labels = single_positive_label(frame, CHEXPERT5)
        patients = [_patient(p) for p in frame["Path"]]
        return candidates_frame(frame["Path"], labels, patients, ["any"] * len(frame))


def _patient(path: str) -> str:
    m = _PATIENT.search(path)
    return m.group(1) if m else path
