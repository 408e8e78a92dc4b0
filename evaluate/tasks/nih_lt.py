"""NIH-CXR-LT: the 20 long-tailed classes of NIH ChestX-ray14, single-label images.

Dataset: NIH ChestX-ray14 (Wang et al., "ChestX-ray8", CVPR 2017) with the NIH-CXR-LT labels (Holste et
al., "Long-Tailed Classification of Thorax Diseases on Chest X-Ray: A New Benchmark Study", MICCAI DALI
workshop 2022). Download: images and ``Data_Entry_2017*.csv`` from https://nihcc.app.box.com/v/ChestXray-NIHCC,
label files from the same box folder (``LongTailCXR/``).

Expected layout (``--metadata`` = ``LongTailCXR/`` or the files; ``--images`` = the folder holding
``images/`` (files are also found by name anywhere below it, e.g. ``images_001/images/``))::

    LongTailCXR/nih-cxr-lt_single-label_train.csv   id, 20 class columns (0/1), subject_id
    LongTailCXR/nih-cxr-lt_single-label_test.csv    same columns
    Data_Entry_2017_v2020.csv                       optional: Image Index, Patient ID (when subject_id is absent)
    images/00000001_000.png

The train pool comes from the official train file and the test set from the official test file, so the
official patient-level split is kept. Only rows with exactly one of the 20 classes positive are used.
"""
from __future__ import annotations

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import (TASKS, BenchmarkTask, candidates_frame, read_table, require_columns,
                                 single_positive_label)

#: class name -> column name in the official files
NIH_LT = {
    "Atelectasis": "Atelectasis", "Cardiomegaly": "Cardiomegaly", "Consolidation": "Consolidation",
    "Edema": "Edema", "Effusion": "Effusion", "Emphysema": "Emphysema", "Fibrosis": "Fibrosis",
    "Hernia": "Hernia", "Infiltration": "Infiltration", "Mass": "Mass", "Nodule": "Nodule",
    "Pleural Thickening": "Pleural_Thickening", "Pneumonia": "Pneumonia", "Pneumothorax": "Pneumothorax",
    "Pneumoperitoneum": "Pneumoperitoneum", "Pneumomediastinum": "Pneumomediastinum",
    "Subcutaneous Emphysema": "Subcutaneous Emphysema", "Tortuous Aorta": "Tortuous Aorta",
    "Calcification of the Aorta": "Calcification of the Aorta", "No Finding": "No Finding",
}


@TASKS.register("nih-lt")
class NihCxrLT(BenchmarkTask):
    name = "nih-lt"
    classes = tuple(NIH_LT)
    quota = Quota(train_per_class=46, test_per_class=46)
    files = {"train": ("nih-cxr-lt_single-label_train.csv",),
             "test": ("nih-cxr-lt_single-label_test.csv",),
             "entries": ("Data_Entry_2017*.csv",)}
    optional = ("entries",)
    sources = ("nih", "chestxray14", "nih-cxr14")

    def candidates(self, files, images):
        import pandas as pd

        patient_of = _patients_from_entries(files.get("entries"))
        parts = []
        for pool in ("train", "test"):
            frame = read_table(files[pool])
            require_columns(frame, ("id", *NIH_LT.values()), files[pool])
            labels = single_positive_label(frame, NIH_LT.values(), names=NIH_LT.keys())
            if "subject_id" in frame.columns:
                patients = frame["subject_id"]
            else:
                patients = [patient_of.get(i, i.split("_")[0]) for i in frame["id"]]
            paths = [f"images/{i}" for i in frame["id"]]
            parts.append(candidates_frame(paths, labels, patients, [pool] * len(frame)))
        return pd.concat(parts, ignore_index=True)


def _patients_from_entries(path) -> dict[str, str]:
    if path is None:
        return {}
    entries = read_table(path)
    require_columns(entries, ("Image Index", "Patient ID"), path)
    return dict(zip(entries["Image Index"], entries["Patient ID"]))
