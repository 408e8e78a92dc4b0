"""VinDr-PCXR (PediCXR): paediatric chest radiographs (DICOM) from Vietnam, labelled by
radiologists with findings and diagnoses; an official train/test split.

Citation: Pham HH, Nguyen NH, Tran TT, Nguyen TNM, Nguyen HQ. "PediCXR: An open, large-scale chest
radiograph dataset for interpretation of common thoracic diseases in children." Scientific Data 10:240
(2023); preprint 2022. (Not VinDr-CXR, the adult dataset of the same group.)
Download (credentialed PhysioNet access), version 1.0.0: https://physionet.org/content/vindr-pcxr/1.0.0/

Layout::

    vindr-pcxr/
        image_labels_train.csv   image_id, rad_ID, one 0/1 column per label (one row per reader)
        image_labels_test.csv    image_id, one 0/1 column per label
        train/<image_id>.dicom
        test/<image_id>.dicom

Path template: ``{train|test}/{image_id}.dicom`` (DICOMs need pydicom, or convert them to PNG with the same
names). Labels: the readers' rows are merged per image, positive where any reader marks it. The files
spell Broncho-pneumonia 'Brocho-pneumonia'; ``read_image_labels`` corrects it. Patient id: ``image_id``;
the files carry no patient id, so each image is its own patient.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.datasets.files import read_csv_text, require_columns
from cxr.datasets.registry import register_dataset
from cxr.datasets.rows import one_image_per_patient
from cxr.datasets.values import parse_label_columns

NAME = register_dataset("vindr-pcxr", "VinDr-PCXR", __name__)
LABEL_FILES = {"train": "image_labels_train.csv", "test": "image_labels_test.csv"}
#: the files' spelling -> the label's name
SPELLINGS = {"Brocho-pneumonia": "Broncho-pneumonia"}


PATH_TEMPLATE = "{part}/{id}.dicom"    # part: train or test


def read_image_labels(path: Path, part: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """One row per image of the ``part`` ('train' or 'test') file, sorted by image_id: path, patient_id and
    the label ``columns`` (names as corrected) as 1.0 where any reader marks them, else 0.0."""
    table = read_csv_text(path).rename(columns=SPELLINGS)
    require_columns(table, ("image_id", *columns), path)
    marked = parse_label_columns(table, list(columns), path).eq(1.0)
    merged = marked.groupby(table["image_id"]).any().astype("float32")
    rows = one_image_per_patient(merged.index, PATH_TEMPLATE, part=part)
    return pd.concat([rows, merged.reset_index(drop=True)], axis=1)
