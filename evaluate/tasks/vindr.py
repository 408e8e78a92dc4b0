"""VinDr-PCXR: paediatric No finding vs Bronchitis vs Broncho-pneumonia vs Bronchiolitis vs Pneumonia.

Dataset: VinDr-PCXR, read through ``cxr.datasets.vindr`` (citation, download page, file layout).
``--metadata`` = the dataset folder or the two label CSVs; ``--images`` = the dataset folder.

Images with exactly one of the five classes positive (by any reader) are used. As in the paper, the
official train and test files are pooled and 400 + 400 images per class (2,000 / 2,000) are drawn from
the pool: the rarer diagnoses have too few images in the official test file alone. When the pooled files
cannot supply the counts the split is refused with each class's available count. Each image is its own
patient (the files carry no patient id), so any draw is patient-disjoint.
"""
from __future__ import annotations

import pandas as pd

from cxr.datasets import vindr
from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask, candidates_frame, single_positive_label

VINDR5 = ("No finding", "Bronchitis", "Broncho-pneumonia", "Bronchiolitis", "Pneumonia")


@TASKS.register("vindr")
class VinDrPCXR(BenchmarkTask):
    name = "vindr"
    classes = VINDR5
    quota = Quota(train_per_class=400, test_per_class=400)
    files = {pool: (name,) for pool, name in vindr.LABEL_FILES.items()}
    dataset = vindr.NAME

    def candidates(self, files, images):
        parts = []
        for part in ("train", "test"):
            frame = vindr.read_image_labels(files[part], part, VINDR5)
            labels = single_positive_label(frame, VINDR5)
            parts.append(candidates_frame(frame["path"], labels, frame["patient_id"], ["any"] * len(frame)))
        return pd.concat(parts, ignore_index=True)
