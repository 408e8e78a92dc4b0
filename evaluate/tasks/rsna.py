"""RSNA Pneumonia: No Finding vs Pneumonia.

Dataset: RSNA Pneumonia Detection Challenge 2018 (Shih et al., "Augmenting the National Institutes of
Health Chest Radiograph Dataset with Expert Annotations of Possible Pneumonia", Radiology: AI 2019).
Download: https://www.kaggle.com/c/rsna-pneumonia-detection-challenge/data

Expected layout (``--metadata`` = the competition folder or its CSVs; ``--images`` = the folder holding
``stage_2_train_images/``; DICOMs need pydicom, or convert them to PNG with the same names)::

    stage_2_train_labels.csv          patientId, x, y, width, height, Target (one row per box)
    stage_2_detailed_class_info.csv   patientId, class (Normal | Lung Opacity | No Lung Opacity / Not Normal)
    stage_2_train_images/<patientId>.dcm

Labels: Pneumonia = Target 1 on any row. No Finding = Target 0, and, when the detailed class file is
present, its class is "Normal" (so abnormal-but-not-pneumonia images are left out). One image per patient.
"""
from __future__ import annotations

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, read_table, require_columns


@TASKS.register("rsna")
class RSNAPneumonia(BenchmarkTask):
    name = "rsna"
    classes = ("No Finding", "Pneumonia")
    quota = Quota(train_per_class=4200, test_per_class=1800)
    files = {"labels": ("stage_2_train_labels.csv", "stage_1_train_labels.csv"),
             "detail": ("stage_2_detailed_class_info.csv", "stage_1_detailed_class_info.csv")}
    optional = ("detail",)
    sources = ("rsna",)

    def candidates(self, files, images):
        import pandas as pd

        boxes = read_table(files["labels"])
        require_columns(boxes, ("patientId", "Target"), files["labels"])
        target = pd.to_numeric(boxes["Target"], errors="coerce").groupby(boxes["patientId"]).max()
        label = target.map({1.0: "Pneumonia", 0.0: "No Finding"})
        if "detail" in files:
            detail = read_table(files["detail"])
            require_columns(detail, ("patientId", "class"), files["detail"])
            normal = set(detail.loc[detail["class"].str.strip() == "Normal", "patientId"])
            label = label.where((label != "No Finding") | label.index.isin(normal))
        ids = list(label.index)
        paths = [f"stage_2_train_images/{pid}.dcm" for pid in ids]
        return candidates_frame(paths, label.to_numpy(), ids, ["any"] * len(ids))
