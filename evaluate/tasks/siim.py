"""SIIM-ACR Pneumothorax: No Finding vs Pneumothorax.

Dataset: SIIM-ACR Pneumothorax Segmentation challenge 2019, read through ``cxr.datasets.siim`` (citation,
download page, file layout). ``--metadata`` = ``train-rle.csv`` or its folder; ``--images`` = the image
folder, searched recursively by ImageId because the DICOMs sit in study/series sub-folders.

Labels: Pneumothorax when any mask row of the image is not "-1", else No Finding. Each image is its own
patient (the challenge released one image per patient).
"""
from __future__ import annotations

from cxr.datasets import siim
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame


@TASKS.register("siim")
class SIIMPneumothorax(BenchmarkTask):
    name = "siim"
    classes = ("No Finding", "Pneumothorax")
    quota = Quota(train_per_class=2400, test_per_class=600)
    files = {"labels": siim.TRAIN_RLE}
    dataset = siim.NAME

    def candidates(self, files, images):
        masks = siim.read_masks(files["labels"])
        labels = ["Pneumothorax" if m else "No Finding" for m in masks["has_mask"]]
        return candidates_frame(masks["path"], labels, masks["patient_id"], ["any"] * len(masks))
