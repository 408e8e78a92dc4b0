"""VinDr-PCXR: paediatric No finding vs Bronchitis vs Broncho-pneumonia vs Bronchiolitis vs Pneumonia.

Dataset: VinDr-PCXR (Pham et al., "PediCXR: An open, large-scale chest radiograph dataset for
interpretation of common thoracic diseases in children", Scientific Data 2023; PhysioNet).
Download (credentialed): https://physionet.org/content/vindr-pcxr/

Expected layout (``--metadata`` = the dataset folder or the two CSVs; ``--images`` = the dataset folder;
DICOMs need pydicom, or convert them to PNG with the same names)::

    image_labels_train.csv   image_id, [rad_ID,] one 0/1 column per label (one row per reader in train)
    image_labels_test.csv    image_id, one 0/1 column per label
    train/<image_id>.dicom
    test/<image_id>.dicom

Readers' rows are merged per image (positive if any reader says so). Images with exactly one of the five
classes positive are used; train pool from the train file, test set from the test file (official split).
The files carry no patient id, so each image is its own patient. The official label spelling
"Brocho-pneumonia" is accepted for Broncho-pneumonia.
"""
from __future__ import annotations

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import (TASKS, BenchmarkTask, candidates_frame, positive, read_table,
                                 require_columns, single_positive_label)

VINDR5 = ("No finding", "Bronchitis", "Broncho-pneumonia", "Bronchiolitis", "Pneumonia")
_ALIASES = {"Brocho-pneumonia": "Broncho-pneumonia"}


@TASKS.register("vindr")
class VinDrPCXR(BenchmarkTask):
    name = "vindr"
    classes = VINDR5
    quota = Quota(train_per_class=400, test_per_class=400)
    files = {"train": ("image_labels_train.csv",), "test": ("image_labels_test.csv",)}
    sources = ("vindr-pcxr", "vindr_pcxr", "pedicxr")

    def candidates(self, files, images):
        import pandas as pd

        parts = []
        for pool in ("train", "test"):
            frame = read_table(files[pool]).rename(columns=_ALIASES)
            require_columns(frame, ("image_id", *VINDR5), files[pool])
            merged = positive(frame, VINDR5).groupby(frame["image_id"]).any().astype(int)
            labels = single_positive_label(merged, VINDR5)
            ids = list(merged.index)
            paths = [f"{pool}/{i}.dicom" for i in ids]
            parts.append(candidates_frame(paths, labels, ids, [pool] * len(ids)))
        return pd.concat(parts, ignore_index=True)
