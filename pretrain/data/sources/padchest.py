"""PadChest reader."""
from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.pretrain.data.sources.base import (SourceFrame, find_file, read_csv_text, register_source,
                                        require_columns)
from cxr.pretrain.data.sources.common import label_matrix_from_lists

CSV_NAMES = ("PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv",
             "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv.gz")
FRONTAL = {"PA": "PA", "AP": "AP", "AP_horizontal": "AP"}
EXCLUDE = "exclude"


@register_source("padchest")
def read_padchest(root: Path, *, onto, csv: str | None = None, unlisted: str = "nan",
                  frontal_only: bool = True) -> SourceFrame:
    """PadChest: 160,868 chest radiographs (16-bit PNG) of 67,625 patients, Hospital San Juan
    (Alicante), labelled with 174 findings and 19 diagnoses of a hierarchical taxonomy (27% by
    physicians, the rest by a model trained on them) from Spanish reports.

    Citation: Bustos A, Pertusa A, Salinas JM, de la Iglesia-Vayá M. "PadChest: A large chest x-ray
    image dataset with multi-label annotated reports." Medical Image Analysis 66:101797 (2020).
    Download: https://bimcv.cipf.es/bimcv-projects/padchest/

    Layout: ``root`` holds the label CSV (``csv`` overrides its name) with ImageID, ImageDir,
    PatientID, StudyID, Projection and Labels (a Python list literal such as
    "['pleural effusion', ' cardiomegaly']"), and the image folders ``<ImageDir>/<ImageID>``.
    ``frontal_only`` keeps projections PA, AP and AP_horizontal (view AP).

    Labels are PadChest names, i.e. ontology labels. PadChest lists the findings a report states as
    present; a label it does not list was not mentioned, so by default it is NaN (``unlisted='nan'``)
    and the trainer's ``missing`` setting decides. The paper trains with them as negatives: pass
    ``unlisted='negative'`` or set ``missing: negative`` in the trainer. Rows labelled 'exclude'
    (unusable images) and rows without a parsable label list are dropped; label names unknown to the
    ontology are ignored and reported. The Spanish report column is not used: these images get label
    prompts as text.
    """
    path = root / csv if csv else find_file(root, CSV_NAMES, "PadChest label CSV")
    if not path.is_file():
        raise InputError(f"PadChest label CSV not found: {path}")
    table = read_csv_text(path)
    require_columns(table, ("ImageID", "ImageDir", "PatientID", "StudyID", "Projection", "Labels"), path)
    if frontal_only:
        table = table[table["Projection"].isin(FRONTAL)]
    table = table.reset_index(drop=True)
    warnings: list[str] = []
    findings, keep, unknown = _parse_labels(table["Labels"], onto)
    if (~keep).any():
        warnings.append(f"padchest: {int((~keep).sum())} row(s) dropped ('exclude' or no label list)")
    if unknown:
        warnings.append(f"padchest: label(s) unknown to the ontology ignored: {sorted(unknown)}")
    table = table[keep].reset_index(drop=True)
    findings = [f for f, k in zip(findings, keep) if k]
    columns = onto.vocabulary("padchest")
    frame = pd.DataFrame({
        "path": [str(root / str(d) / i) for d, i in zip(table["ImageDir"], table["ImageID"])],
        "patient_id": table["PatientID"].to_numpy(),
        "study_id": table["StudyID"].to_numpy(),
        "source": "padchest",
        "view": table["Projection"].map(FRONTAL).to_numpy(),
    })
    values = label_matrix_from_lists(findings, columns, unlisted)
    return SourceFrame("padchest", pd.concat([frame, values], axis=1), columns, "padchest", warnings)


def _parse_labels(cells: pd.Series, onto) -> tuple[list[list[str]], pd.Series, set[str]]:
    findings: list[list[str]] = []
    keep = []
    unknown: set[str] = set()
    for cell in cells:
        try:
            names = ast.literal_eval(cell) if isinstance(cell, str) else None
        except (ValueError, SyntaxError):
            names = None
        if not isinstance(names, (list, tuple)):
            findings.append([])
            keep.append(False)
            continue
        names = {str(n).strip() for n in names if str(n).strip()}
        unknown |= {n for n in names if n not in onto and n != EXCLUDE}
        findings.append(sorted(n for n in names if n in onto))
        keep.append(EXCLUDE not in names)
    return findings, pd.Series(keep), unknown
