"""MIMIC 5x200: the CheXpert 5x200 protocol on MIMIC-CXR-JPG.

Dataset: MIMIC-CXR-JPG v2, read through ``cxr.datasets.mimic_cxr`` (citation, download page, file
layout). ``--metadata`` = the folder with mimic-cxr-2.0.0-chexpert.csv.gz (or -negbio.csv.gz, used when
the CheXpert file is absent) and -metadata.csv.gz, or those files; ``--images`` = the folder holding
``files/``.

Candidates: frontal (PA/AP) images of studies with exactly one of the five findings positive; labels are
per study, so each frontal image of such a study is a candidate. Patient id: ``subject_id``.
"""
from __future__ import annotations

from cxr.datasets import mimic_cxr
from cxr.datasets.files import require_columns
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, single_positive_label
from cxr.evaluate.tasks.chexpert5x200 import CHEXPERT5


@TASKS.register("mimic5x200")
class Mimic5x200(BenchmarkTask):
    name = "mimic5x200"
    classes = CHEXPERT5
    quota = Quota(train_per_class=200, test_per_class=200)
    files = {"labels": (*mimic_cxr.CHEXPERT_LABELS, *mimic_cxr.NEGBIO_LABELS), "metadata": mimic_cxr.METADATA}
    dataset = mimic_cxr.NAME

    def candidates(self, files, images):
        labels = mimic_cxr.read_labels(files["labels"])
        require_columns(labels, CHEXPERT5, files["labels"])
        meta = mimic_cxr.read_metadata(files["metadata"])
        labels = labels.assign(label=single_positive_label(labels, CHEXPERT5))
        labels = labels[labels["label"].notna()]
        frontal = meta[meta["frontal"]]
        joined = frontal.merge(labels[["patient_id", "study_id", "label"]], on=["patient_id", "study_id"])
        return candidates_frame(joined["path"], joined["label"], joined["patient_id"], ["any"] * len(joined))
