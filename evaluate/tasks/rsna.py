"""RSNA Pneumonia: No Finding vs Pneumonia.

Dataset: RSNA Pneumonia Detection Challenge 2018, read through ``cxr.datasets.rsna`` (citation, download
page, file layout). ``--metadata`` = the competition folder or its CSVs; ``--images`` = the folder
holding ``stage_2_train_images/``.

Labels: Pneumonia = Target 1 on any row. No Finding = Target 0, and, when the detailed class file is
present, its class is "Normal" (so abnormal-but-not-pneumonia images are left out). One image per patient.
"""
from __future__ import annotations

from cxr.datasets import rsna
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame

TARGETS = {1.0: "Pneumonia", 0.0: "No Finding"}


@TASKS.register("rsna")
class RSNAPneumonia(BenchmarkTask):
    name = "rsna"
    classes = ("No Finding", "Pneumonia")
    quota = Quota(train_per_class=4200, test_per_class=1800)
    files = {"labels": rsna.TRAIN_LABELS, "detail": rsna.DETAILED_CLASSES}
    optional = ("detail",)
    dataset = rsna.NAME

    def candidates(self, files, images):
        table = rsna.read_train_labels(files["labels"])
        label = table["target"].map(TARGETS)
        if "detail" in files:
            detail = rsna.read_detailed_classes(files["detail"])
            normal = set(detail.loc[detail["class"] == rsna.NORMAL, "patient_id"])
            label = label.where((label != "No Finding") | table["patient_id"].isin(normal))
        return candidates_frame(table["path"], label, table["patient_id"], ["any"] * len(table))
