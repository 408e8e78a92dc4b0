"""NIH ChestX-ray14 reader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.pretrain.data.sources.base import (FRONTAL_VIEWS, SourceFrame, find_file, read_csv_text,
                                        register_source, require_columns)
from cxr.pretrain.data.sources.common import label_matrix_from_lists, normalise_name

CSV_NAMES = ("Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv")
NO_FINDING = "No Finding"


@register_source("chestxray14")
def read_chestxray14(root: Path, *, onto, csv: str | None = None, image_dir: str = "images",
                     unlisted: str = "negative", frontal_only: bool = True) -> SourceFrame:
    """NIH ChestX-ray14: 112,120 frontal radiographs (PNG, 1024 px) of 30,805 patients, NIH Clinical
    Center, with 14 findings text-mined from the reports ('|'-joined, or 'No Finding').

    Citation: Wang X et al. "ChestX-ray8: Hospital-scale Chest X-ray Database and Benchmarks on
    Weakly-Supervised Classification and Localization of Common Thorax Diseases." CVPR 2017.
    Download: https://nihcc.app.box.com/v/ChestXray-NIHCC

    Layout: ``root`` holds Data_Entry_2017[_v2020].csv (Image Index, Finding Labels, Patient ID,
    View Position, ...) and the PNGs under ``image_dir`` (gather the images_0XX/images folders into
    one). Finding names map onto the ontology's 'chestxray14' vocabulary by spelling
    ('Pleural_Thickening' = 'Pleural Thickening'). The 14 findings are an exhaustive list per image,
    so unlisted ones are negative by default (``unlisted='nan'`` keeps them not mentioned).
    """
    path = root / csv if csv else find_file(root, CSV_NAMES, "ChestX-ray14 Data_Entry CSV")
    if not path.is_file():
        raise InputError(f"ChestX-ray14 label CSV not found: {path}")
    table = read_csv_text(path)
    require_columns(table, ("Image Index", "Finding Labels", "Patient ID", "View Position"), path)
    if frontal_only:
        table = table[table["View Position"].isin(FRONTAL_VIEWS)].reset_index(drop=True)
    columns = onto.vocabulary("chestxray14")
    by_name = {normalise_name(c): c for c in columns}
    unknown: set[str] = set()
    findings = []
    for cell in table["Finding Labels"].fillna(""):
        names = [n.strip() for n in cell.split("|") if n.strip()]
        unknown |= {n for n in names if normalise_name(n) not in by_name and n != NO_FINDING}
        findings.append([by_name[normalise_name(n)] for n in names if normalise_name(n) in by_name])
    warnings = [f"chestxray14: finding(s) not in the 'chestxray14' vocabulary ignored: {sorted(unknown)}"] if unknown else []
    frame = pd.DataFrame({
        "path": [str(root / image_dir / name) for name in table["Image Index"]],
        "patient_id": table["Patient ID"].to_numpy(),
        "study_id": table["Image Index"].to_numpy(),
        "source": "chestxray14",
        "view": table["View Position"].to_numpy(),
    })
    values = label_matrix_from_lists(findings, columns, unlisted)
    return SourceFrame("chestxray14", pd.concat([frame, values], axis=1), columns, "chestxray14", warnings)
