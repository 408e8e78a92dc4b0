"""CheXpert v1.0: 224,316 chest radiographs of 65,240 patients, Stanford Hospital, with 14 observations
extracted from the reports by the CheXpert labeler (1 positive, 0 negative, -1 uncertain, blank not
mentioned). No report text is released.

Citation: Irvin J, Rajpurkar P, Ko M, et al. "CheXpert: A Large Chest Radiograph Dataset with Uncertainty
Labels and Expert Comparison." AAAI 2019.
Download: https://stanfordmlgroup.github.io/competitions/chexpert/ (or the Stanford AIMI shared datasets
page); the 11 GB "small" copy (CheXpert-v1.0-small) suffices for 224 px.

Layout::

    CheXpert-v1.0-small/
        train.csv        Path, Sex, Age, Frontal/Lateral, AP/PA, 14 observation columns (1.0/0.0/-1.0/blank)
        valid.csv        the same columns (radiologist labels)
        train/patient00001/study1/view1_frontal.jpg

Path template: the ``Path`` column, which starts with the dataset folder name
('CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg'), so images resolve against the folder
holding CheXpert-v1.0-small/. Label columns: every column but the five above, named as in the ontology's
'chexpert' vocabulary ('No Finding', 'Enlarged Cardiomediastinum', ..., 'Support Devices').
Patient id: the ``patientNNNNN`` part of Path; study id: ``patientNNNNN/studyN``. Views: Frontal/Lateral,
and AP/PA for frontal images.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset
from cxr.datasets.values import FRONTAL_VIEWS, parse_label_columns

NAME = register_dataset("chexpert", "CheXpert", __name__)
TRAIN = "train.csv"
META_COLUMNS = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA")
#: the columns ``read_labels`` puts before the label columns
ROW_COLUMNS = ("path", "patient_id", "study_id", "frontal", "view")
_IDS = r"(patient\d+)/(study\d+)/"


def read_labels(path: Path) -> pd.DataFrame:
    """train.csv or valid.csv: path (the official Path), patient_id, study_id, frontal (bool), view (AP/PA of
    frontal images, else NaN), then the observation columns as float32."""
    table = read_csv_text(path, ("Path", "Frontal/Lateral", "AP/PA"))
    ids = table["Path"].str.extract(_IDS)
    missing = ids[0].isna()
    if missing.any():
        bad = table["Path"][missing].iloc[0]
        raise InputError(f"{path}: Path {bad!r} has no patientNNNNN/studyN/ part to take the patient id from")
    rows = pd.DataFrame({
        "path": table["Path"], "patient_id": ids[0], "study_id": ids[0] + "/" + ids[1],
        "frontal": table["Frontal/Lateral"].str.lower() == "frontal",
        "view": table["AP/PA"].where(table["AP/PA"].isin(FRONTAL_VIEWS)),
    })
    return pd.concat([rows, parse_label_columns(table, label_columns(table), path)], axis=1)


def label_columns(frame: pd.DataFrame) -> list[str]:
    """The observation columns of an official table or of ``read_labels``' frame, file order."""
    return [c for c in frame.columns if c not in META_COLUMNS and c not in ROW_COLUMNS]
