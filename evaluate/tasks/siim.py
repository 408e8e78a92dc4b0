"""SIIM-ACR Pneumothorax: No Finding vs Pneumothorax.

Dataset: SIIM-ACR Pneumothorax Segmentation challenge 2019 (Society for Imaging Informatics in Medicine /
American College of Radiology; Zawacki et al., 2019). Download:
https://www.kaggle.com/c/siim-acr-pneumothorax-segmentation/data

Expected layout (``--metadata`` = ``train-rle.csv`` or its folder; ``--images`` = the image folder, searched
recursively by ImageId because the DICOMs sit in study/series sub-folders; PNG conversions with the same
names work too)::

    train-rle.csv                     ImageId, EncodedPixels ("-1" = no pneumothorax; one row per mask)
    dicom-images-train/<study>/<series>/<ImageId>.dcm

Labels: Pneumothorax when any mask row of the image is not "-1", else No Finding. The CSV carries no
patient id, so each image is its own patient (the challenge released one image per patient).
"""
from __future__ import annotations

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, read_table, require_columns


@TASKS.register("siim")
class SIIMPneumothorax(BenchmarkTask):
    name = "siim"
    classes = ("No Finding", "Pneumothorax")
    quota = Quota(train_per_class=2400, test_per_class=600)
    files = {"labels": ("train-rle.csv", "stage_2_train.csv")}
    sources = ("siim",)

    def candidates(self, files, images):
        frame = read_table(files["labels"])
        require_columns(frame, ("ImageId", "EncodedPixels"), files["labels"])
        has_mask = (frame["EncodedPixels"].str.strip() != "-1").groupby(frame["ImageId"].str.strip()).any()
        ids = list(has_mask.index)
        labels = ["Pneumothorax" if m else "No Finding" for m in has_mask.to_numpy()]
        return candidates_frame([f"{i}.dcm" for i in ids], labels, ids, ["any"] * len(ids))
