"""RSNA Pneumonia Detection Challenge 2018: 26,684 frontal radiographs (DICOM), one per patient, with
radiologists' boxes around lung opacities suspicious for pneumonia.

Citation: Shih G, Wu CC, Halabi SS, et al. "Augmenting the National Institutes of Health Chest Radiograph
Dataset with Expert Annotations of Possible Pneumonia." Radiology: Artificial Intelligence 1(1):e180041
(2019).
Download: https://www.kaggle.com/c/rsna-pneumonia-detection-challenge/data

Layout::

    rsna-pneumonia/
        stage_2_train_labels.csv          patientId, x, y, width, height, Target (one row per box; 0 = none)
        stage_2_detailed_class_info.csv   patientId, class (Normal | Lung Opacity | No Lung Opacity / Not Normal)
        stage_2_train_images/<patientId>.dcm
    (stage_1_*.csv in the first stage of the challenge)

Path template: ``stage_2_train_images/{patientId}.dcm`` (DICOMs need pydicom, or convert them to PNG with
the same names). Patient id: ``patientId`` (one image per patient). The images are a subset of NIH
ChestX-ray14 under new ids, so a patient overlap with ChestX-ray14 cannot be checked by id.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset
from cxr.datasets.rows import one_image_per_patient
from cxr.datasets.values import parse_label_columns

NAME = register_dataset("rsna", "RSNA Pneumonia Detection Challenge", __name__)
TRAIN_LABELS = ("stage_2_train_labels.csv", "stage_1_train_labels.csv")
DETAILED_CLASSES = ("stage_2_detailed_class_info.csv", "stage_1_detailed_class_info.csv")
NORMAL = "Normal"
PATH_TEMPLATE = "stage_2_train_images/{id}.dcm"


def read_train_labels(path: Path) -> pd.DataFrame:
    """One row per image, sorted by patient: path, patient_id, target (1 when any box row says 1)."""
    boxes = read_csv_text(path, ("patientId", "Target"))
    target = parse_label_columns(boxes, ["Target"], path)["Target"].groupby(boxes["patientId"]).max()
    return one_image_per_patient(target.index, PATH_TEMPLATE).assign(target=target.to_numpy())


def read_detailed_classes(path: Path) -> pd.DataFrame:
    """patient_id, class (stripped), one row per box row of the file."""
    detail = read_csv_text(path, ("patientId", "class"))
    return pd.DataFrame({"patient_id": detail["patientId"], "class": detail["class"].str.strip()})
