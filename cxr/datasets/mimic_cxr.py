"""MIMIC-CXR-JPG v2.0.0: 377,110 JPEG chest radiographs of 227,827 studies (65,379 patients), Beth Israel
Deaconess Medical Center, Boston, with free-text reports (shipped with MIMIC-CXR, not -JPG).

Citation: Johnson AEW, Pollard TJ, Greenbaum NR, et al. "MIMIC-CXR-JPG, a large publicly available
database of labeled chest radiographs." arXiv:1901.07042 (2019); and Johnson AEW et al. "MIMIC-CXR, a
de-identified publicly available database of chest radiographs with free-text reports." Sci Data 6:317
(2019).
Download (credentialed PhysioNet access): https://physionet.org/content/mimic-cxr-jpg/2.0.0/ ; the reports
(``mimic-cxr-reports.zip``) from https://physionet.org/content/mimic-cxr/

Layout::

    mimic-cxr-jpg/
        mimic-cxr-2.0.0-metadata.csv[.gz]   dicom_id, subject_id, study_id, ViewPosition, ...
        mimic-cxr-2.0.0-split.csv[.gz]      dicom_id, study_id, subject_id, split (train|validate|test)
        mimic-cxr-2.0.0-chexpert.csv[.gz]   subject_id, study_id, 14 CheXpert columns (1 / 0 / -1 / empty)
        mimic-cxr-2.0.0-negbio.csv[.gz]     the same columns from the NegBio labeler
        files/p10/p10000032/s50414267/<dicom_id>.jpg
    mimic-cxr-reports/files/p10/p10000032/s50414267.txt      one report per study

Path template: ``files/p{subject_id[:2]}/p{subject_id}/s{study_id}/{dicom_id}.jpg``. Labels are per study
(the 14 CheXpert observations of its report); views per image (``ViewPosition``, PA and AP frontal).
Patient id: ``subject_id`` ('10000032'; folders spell it 'p10000032', which
``cxr.datasets.patients.normalise_patient_id`` equates). Study id: ``study_id`` ('50414267'; 's50414267'
in folder and report names, which ``study_key`` equates).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset
from cxr.datasets.values import FRONTAL_VIEWS, parse_label_columns

NAME = register_dataset("mimic-cxr", "MIMIC-CXR-JPG", __name__)
METADATA = ("mimic-cxr-2.0.0-metadata.csv.gz", "mimic-cxr-2.0.0-metadata.csv")
SPLIT = ("mimic-cxr-2.0.0-split.csv.gz", "mimic-cxr-2.0.0-split.csv")
CHEXPERT_LABELS = ("mimic-cxr-2.0.0-chexpert.csv.gz", "mimic-cxr-2.0.0-chexpert.csv")
NEGBIO_LABELS = ("mimic-cxr-2.0.0-negbio.csv.gz", "mimic-cxr-2.0.0-negbio.csv")
TEST = "test"
_STUDY = re.compile(r"^s?(\d+)$")


def image_path(subject_id: str, study_id: str, dicom_id: str) -> str:
    return f"files/p{subject_id[:2]}/p{subject_id}/s{study_id}/{dicom_id}.jpg"


def read_metadata(path: Path) -> pd.DataFrame:
    """One row per image: path (relative to the dataset folder), dicom_id, patient_id, study_id, view
    (ViewPosition) and frontal (a PA or AP view)."""
    table = read_csv_text(path, ("dicom_id", "subject_id", "study_id", "ViewPosition"))
    return pd.DataFrame({
        "path": [image_path(*ids) for ids in zip(table["subject_id"], table["study_id"], table["dicom_id"])],
        "dicom_id": table["dicom_id"], "patient_id": table["subject_id"], "study_id": table["study_id"],
        "view": table["ViewPosition"], "frontal": table["ViewPosition"].str.upper().isin(FRONTAL_VIEWS),
    })


def read_split(path: Path) -> pd.DataFrame:
    """The official split: dicom_id, split (train, validate or test)."""
    table = read_csv_text(path, ("dicom_id", "split"))
    return table[["dicom_id", "split"]]


def read_labels(path: Path) -> pd.DataFrame:
    """The CheXpert (or NegBio) label file: patient_id, study_id and the observation columns as float32."""
    table = read_csv_text(path, ("subject_id", "study_id"))
    columns = [c for c in table.columns if c not in ("subject_id", "study_id")]
    ids = pd.DataFrame({"patient_id": table["subject_id"], "study_id": table["study_id"]})
    return pd.concat([ids, parse_label_columns(table, columns, path)], axis=1)


def study_key(value) -> str | None:
    """'s50414267', '50414267' and 50414267 all name the same study."""
    m = _STUDY.match(str(value).strip())
    return m.group(1) if m else None
