"""SIIM-ACR Pneumothorax Segmentation challenge 2019: frontal radiographs (DICOM) with pneumothorax masks as
run-length encodings.

Citation: Zawacki A, Wu C, Shih G, et al. "SIIM-ACR Pneumothorax Segmentation." Kaggle challenge of the
Society for Imaging Informatics in Medicine and the American College of Radiology (2019).
Download: https://www.kaggle.com/c/siim-acr-pneumothorax-segmentation/data

Layout::

    siim-acr/
        train-rle.csv                               ImageId, EncodedPixels ('-1' = no pneumothorax; one row
                                                    per mask; the header spells ' EncodedPixels')
        dicom-images-train/<study>/<series>/<ImageId>.dcm
    (stage_2_train.csv, same columns, in the challenge's second stage)

Path template: ``{ImageId}.dcm``, found anywhere below the image folder because the DICOMs sit in
study/series sub-folders (PNG conversions with the same names work too). Patient id: ``ImageId``; the
files carry no patient id, and the challenge released one image per patient.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.datasets.files import read_csv_text
from cxr.datasets.registry import register_dataset
from cxr.datasets.rows import one_image_per_patient

NAME = register_dataset("siim", "SIIM-ACR Pneumothorax", __name__)
TRAIN_RLE = ("train-rle.csv", "stage_2_train.csv")
NO_MASK = "-1"
PATH_TEMPLATE = "{id}.dcm"   # found anywhere below the image folder


def read_masks(path: Path) -> pd.DataFrame:
    """One row per image, sorted by ImageId: path, patient_id, has_mask (any mask row other than '-1')."""
    frame = read_csv_text(path, ("ImageId", "EncodedPixels"))
    has_mask = (frame["EncodedPixels"].str.strip() != NO_MASK).groupby(frame["ImageId"].str.strip()).any()
    return one_image_per_patient(has_mask.index, PATH_TEMPLATE).assign(has_mask=has_mask.to_numpy())
