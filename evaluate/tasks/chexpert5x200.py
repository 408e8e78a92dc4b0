"""CheXpert 5x200: five-class classification of images with exactly one of five findings positive.

Dataset: CheXpert, read through ``cxr.datasets.chexpert`` (citation, download page, file layout). The
5x200 protocol follows GLoRIA (Huang et al., "GLoRIA: A Multimodal Global-Local Representation Learning
Framework for Label-efficient Medical Image Recognition", ICCV 2021).

``--metadata`` = train.csv or its folder; ``--images`` = the folder holding ``CheXpert-v1.0[-small]/``
(split paths are the official ``Path`` values, which start with that folder).

Candidates: frontal views whose labels have exactly one of Atelectasis, Cardiomegaly, Consolidation,
Edema, Pleural Effusion equal to 1 (uncertain -1 does not count as positive). Frontal only because the
pre-training data of the paper are frontal radiographs. Patient id: the ``patientNNNNN`` path component.
"""
from __future__ import annotations

from cxr.datasets import chexpert
from cxr.datasets.files import require_columns
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, single_positive_label

CHEXPERT5 = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion")


@TASKS.register("chexpert5x200")
class CheXpert5x200(BenchmarkTask):
    name = "chexpert5x200"
    classes = CHEXPERT5
    quota = Quota(train_per_class=200, test_per_class=200)
    files = {"labels": (chexpert.TRAIN,)}
    dataset = chexpert.NAME

    def candidates(self, files, images):
        frame = chexpert.read_labels(files["labels"])
        require_columns(frame, CHEXPERT5, files["labels"])
        frame = frame[frame["frontal"]]
        labels = single_positive_label(frame, CHEXPERT5)
        return candidates_frame(frame["path"], labels, frame["patient_id"], ["any"] * len(frame))
