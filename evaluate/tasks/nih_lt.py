"""NIH-CXR-LT: the 20 long-tailed classes of NIH ChestX-ray14, single-label images.

Dataset: NIH ChestX-ray14 with the NIH-CXR-LT labels, read through ``cxr.datasets.chestxray14``
(citations, download page, file layout). ``--metadata`` = ``LongTailCXR/`` or the label files (plus,
optionally, ``Data_Entry_2017*.csv`` for patient ids when the label files lack ``subject_id``);
``--images`` = the folder holding ``images/`` (files are also found by name anywhere below it, e.g.
``images_001/images/``).

The train pool comes from the official train file and the test set from the official test file, so the
official patient-level split is kept. Only rows with exactly one of the 20 classes positive are used.
"""
from __future__ import annotations

import pandas as pd

from cxr.datasets import chestxray14
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, single_positive_label

CLASSES = tuple(chestxray14.LONG_TAIL_CLASSES)


@TASKS.register("nih-lt")
class NihCxrLT(BenchmarkTask):
    name = "nih-lt"
    classes = CLASSES
    quota = Quota(train_per_class=46, test_per_class=46)
    files = {"train": (chestxray14.LONG_TAIL_TRAIN,), "test": (chestxray14.LONG_TAIL_TEST,),
             "entries": chestxray14.DATA_ENTRY}
    optional = ("entries",)
    dataset = chestxray14.NAME

    def candidates(self, files, images):
        patients = _patients_from_entries(files.get("entries"))
        parts = []
        for pool in ("train", "test"):
            frame = chestxray14.read_long_tail(files[pool], patients)
            labels = single_positive_label(frame, CLASSES)
            parts.append(candidates_frame(frame["path"], labels, frame["patient_id"], [pool] * len(frame)))
        return pd.concat(parts, ignore_index=True)


def _patients_from_entries(path) -> dict[str, str]:
    if path is None:
        return {}
    entries = chestxray14.read_data_entry(path)
    return dict(zip(entries["study_id"], entries["patient_id"]))
