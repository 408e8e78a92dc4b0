"""PadChest: 160,868 chest radiographs (16-bit PNG) of 67,625 patients, Hospital San Juan (Alicante), labelled
with 174 findings and 19 diagnoses of a hierarchical taxonomy (27% by physicians, the rest by a model
trained on them) from Spanish reports.

Citation: Bustos A, Pertusa A, Salinas JM, de la Iglesia-Vayá M. "PadChest: A large chest x-ray image
dataset with multi-label annotated reports." Medical Image Analysis 66:101797 (2020).
Download: https://bimcv.cipf.es/bimcv-projects/padchest/

Layout::

    padchest/
        PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv[.gz]   ImageID, ImageDir, PatientID, StudyID,
                                                                    Projection, Labels, Report, ...
        0/<ImageID>.png ... 54/<ImageID>.png                        16-bit PNGs, folder = ImageDir

Path template: ``{ImageDir}/{ImageID}``. Labels: the ``Labels`` cell, a Python list literal of PadChest
names ("['pleural effusion', ' cardiomegaly']"), i.e. the ontology's own labels; it lists the findings a
report states as present, and 'exclude' marks an unusable image. Views: ``Projection``; PA, AP and
AP_horizontal are frontal (AP_horizontal is a supine AP). Patient id: ``PatientID``; study id: ``StudyID``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset

NAME = register_dataset("padchest", "PadChest", __name__)
LABEL_CSV = ("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv",
             "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz")
#: frontal projection -> view
FRONTAL = {"PA": "PA", "AP": "AP", "AP_horizontal": "AP"}
EXCLUDE = "exclude"


def image_path(image_dir, image_id) -> str:
    return f"{image_dir}/{image_id}"


def read_labels(path: Path) -> pd.DataFrame:
    """One row per image: path, patient_id, study_id, projection, view (frontal ones, else NaN), frontal, labels
    (sorted PadChest names, 'exclude' included; None when the cell is not a list) and usable (a label list
    without 'exclude')."""
    table = read_csv_text(path, ("ImageID", "ImageDir", "PatientID", "StudyID", "Projection", "Labels"))
    labels = [parse_label_list(cell) for cell in table["Labels"]]
    return pd.DataFrame({
        "path": [image_path(d, i) for d, i in zip(table["ImageDir"], table["ImageID"])],
        "patient_id": table["PatientID"], "study_id": table["StudyID"], "projection": table["Projection"],
        "view": table["Projection"].map(FRONTAL), "frontal": table["Projection"].isin(FRONTAL),
        "labels": pd.Series(labels, index=table.index, dtype=object),
        "usable": [names is not None and EXCLUDE not in names for names in labels],
    })


def parse_label_list(cell) -> list[str] | None:
    """"['pleural effusion', ' cardiomegaly']" -> ['cardiomegaly', 'pleural effusion']; None if not a list."""
    try:
        names = ast.literal_eval(cell) if isinstance(cell, str) else None
    except (ValueError, SyntaxError):
        return None
    if not isinstance(names, (list, tuple)):
        return None
    return sorted({str(n).strip() for n in names if str(n).strip()})
