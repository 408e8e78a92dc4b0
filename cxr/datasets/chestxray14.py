"""NIH ChestX-ray14 (pre-training source) and its NIH-CXR-LT long-tailed labels (evaluation benchmark).

ChestX-ray14: 112,120 frontal radiographs (PNG, 1024 px) of 30,805 patients, NIH Clinical Center, with
14 findings text-mined from the reports ('|'-joined, or 'No Finding'). NIH-CXR-LT relabels the same
images with 20 classes (the 14, five rarer findings and No Finding) and an official patient-level split.

Citation: Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. "ChestX-ray8: Hospital-scale Chest X-ray
Database and Benchmarks on Weakly-Supervised Classification and Localization of Common Thorax Diseases."
CVPR 2017. NIH-CXR-LT: Holste G, Wang S, Jiang Z, et al. "Long-Tailed Classification of Thorax Diseases
on Chest X-Ray: A New Benchmark Study." MICCAI DALI workshop 2022.
Download: https://nihcc.app.box.com/v/ChestXray-NIHCC (images, Data_Entry_2017_v2020.csv, and the
NIH-CXR-LT label files in LongTailCXR/).

Layout::

    nih/
        Data_Entry_2017_v2020.csv            Image Index, Finding Labels, Follow-up #, Patient ID,
                                             Patient Age, Patient Gender, View Position, ...
                                             (Data_Entry_2017.csv in the first release)
        images/00000001_000.png              the PNGs of the images_0XX/ archives, gathered in one folder
        LongTailCXR/nih-cxr-lt_single-label_train.csv   id, 20 class columns (0/1), subject_id
        LongTailCXR/nih-cxr-lt_single-label_test.csv    the same columns

Path template: ``images/{Image Index}``. Patient id: ``Patient ID`` ('1'), which also leads the image name
zero-padded ('00000001_000.png'); ``cxr.datasets.patients.normalise_patient_id`` equates both. Study id:
the image name (one image per study). Finding names are spelled with underscores in the files
('Pleural_Thickening'); ``LONG_TAIL_CLASSES`` gives each class's name and column.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import pandas as pd

from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset
from cxr.datasets.values import FRONTAL_VIEWS, parse_label_columns

NAME = register_dataset("chestxray14", "NIH ChestX-ray14", __name__)
DATA_ENTRY = ("Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv")
IMAGES = "images"
NO_FINDING = "No Finding"
LONG_TAIL_TRAIN = "nih-cxr-lt_single-label_train.csv"
LONG_TAIL_TEST = "nih-cxr-lt_single-label_test.csv"
#: NIH-CXR-LT class name -> its column in the label files
LONG_TAIL_CLASSES = {
    "Atelectasis": "Atelectasis", "Cardiomegaly": "Cardiomegaly", "Consolidation": "Consolidation",
    "Edema": "Edema", "Effusion": "Effusion", "Emphysema": "Emphysema", "Fibrosis": "Fibrosis",
    "Hernia": "Hernia", "Infiltration": "Infiltration", "Mass": "Mass", "Nodule": "Nodule",
    "Pleural Thickening": "Pleural_Thickening", "Pneumonia": "Pneumonia", "Pneumothorax": "Pneumothorax",
    "Pneumoperitoneum": "Pneumoperitoneum", "Pneumomediastinum": "Pneumomediastinum",
    "Subcutaneous Emphysema": "Subcutaneous Emphysema", "Tortuous Aorta": "Tortuous Aorta",
    "Calcification of the Aorta": "Calcification of the Aorta", "No Finding": "No Finding",
}


def image_path(image_index: str, image_dir: str = IMAGES) -> str:
    return f"{image_dir}/{image_index}"


def read_data_entry(path: Path, image_dir: str = IMAGES) -> pd.DataFrame:
    """Data_Entry_2017[_v2020].csv, one row per image: path, patient_id, study_id (the image name), view,
    frontal (a PA or AP view), findings (the listed names as spelled in the file, 'No Finding' included)."""
    table = read_csv_text(path, ("Image Index", "Finding Labels", "Patient ID", "View Position"))
    findings = [[n.strip() for n in cell.split("|") if n.strip()] for cell in table["Finding Labels"].fillna("")]
    return pd.DataFrame({
        "path": [image_path(name, image_dir) for name in table["Image Index"]],
        "patient_id": table["Patient ID"], "study_id": table["Image Index"], "view": table["View Position"],
        "frontal": table["View Position"].str.upper().isin(FRONTAL_VIEWS),
        "findings": pd.Series(findings, index=table.index, dtype=object),
    })


def read_long_tail(path: Path, patients: Mapping[str, str] | None = None) -> pd.DataFrame:
    """An NIH-CXR-LT label file: path, patient_id and one float32 column per class (``LONG_TAIL_CLASSES``).

    The patient id is the file's ``subject_id``; files without it take ``patients`` (image name -> Patient
    ID, from the Data_Entry file), else the zero-padded number that leads the image name.
    """
    table = read_csv_text(path, ("id", *LONG_TAIL_CLASSES.values()))
    patients = patients or {}
    fallback = pd.Series([patients.get(i, i.split("_")[0]) for i in table["id"]], index=table.index)
    subject = table["subject_id"] if "subject_id" in table.columns else fallback
    values = parse_label_columns(table, list(LONG_TAIL_CLASSES.values()), path)
    values.columns = list(LONG_TAIL_CLASSES)
    rows = pd.DataFrame({"path": [image_path(i) for i in table["id"]], "patient_id": subject.fillna(fallback)})
    return pd.concat([rows, values], axis=1)
