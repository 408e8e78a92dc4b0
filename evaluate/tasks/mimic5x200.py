"""MIMIC 5x200: the CheXpert 5x200 protocol on MIMIC-CXR-JPG.

Dataset: MIMIC-CXR-JPG v2 (Johnson et al., "MIMIC-CXR-JPG, a large publicly available database of labeled
chest radiographs", arXiv:1901.07042, 2019; PhysioNet). Download (credentialed):
https://physionet.org/content/mimic-cxr-jpg/

Expected layout (``--metadata`` = the folder with the CSVs or the CSV files themselves; ``--images`` =
the folder holding ``files/``)::

    mimic-cxr-2.0.0-chexpert.csv.gz   subject_id, study_id, 14 CheXpert label columns (1 / 0 / -1 / empty)
    (or mimic-cxr-2.0.0-negbio.csv.gz, same columns, used when the CheXpert file is absent)
    mimic-cxr-2.0.0-metadata.csv.gz   dicom_id, subject_id, study_id, ViewPosition, ...
    files/p10/p10000032/s50414267/<dicom_id>.jpg

Candidates: frontal (PA/AP) images of studies with exactly one of the five findings positive; labels are
per study, so each frontal image of such a study is a candidate. Patient id: ``subject_id``.
"""
from __future__ import annotations

from cxr.evaluate.sampling import Quota
from cxr.evaluate.tasks.base import (TASKS, BenchmarkTask, candidates_frame, read_table, require_columns,
                                 single_positive_label)
from cxr.evaluate.tasks.chexpert5x200 import CHEXPERT5


@TASKS.register("mimic5x200")
class Mimic5x200(BenchmarkTask):
    name = "mimic5x200"
    classes = CHEXPERT5
    quota = Quota(train_per_class=200, test_per_class=200)
    files = {"labels": ("mimic-cxr-2.0.0-chexpert.csv*", "mimic-cxr-2.0.0-negbio.csv*"),
             "metadata": ("mimic-cxr-2.0.0-metadata.csv*",)}
    sources = ("mimic", "mimic-cxr", "mimic_cxr")

    def candidates(self, files, images):
        labels = read_table(files["labels"])
        meta = read_table(files["metadata"])
        require_columns(labels, ("subject_id", "study_id", *CHEXPERT5), files["labels"])
        require_columns(meta, ("dicom_id", "subject_id", "study_id", "ViewPosition"), files["metadata"])
        labels = labels.assign(label=single_positive_label(labels, CHEXPERT5))
        labels = labels[labels["label"].notna()]
        frontal = meta[meta["ViewPosition"].str.upper().isin(["PA", "AP"])]
        joined = frontal.merge(labels[["subject_id", "study_id", "label"]], on=["subject_id", "study_id"])
        paths = [f"files/p{s[:2]}/p{s}/s{st}/{d}.jpg"
                 for s, st, d in zip(joined["subject_id"], joined["study_id"], joined["dicom_id"])]
        return candidates_frame(paths, joined["label"], joined["subject_id"], ["any"] * len(joined))
