"""CheXpert reader."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.pretrain.data.sources.base import (FRONTAL_VIEWS, SourceFrame, read_csv_text, register_source,
                                        require_columns)
from cxr.pretrain.data.sources.common import parse_label_columns

META_COLUMNS = ("Path", "Sex", "Age", "Frontal/Lateral", "AP/PA")
_STUDY = re.compile(r"(patient\d+)/(study\d+)/")


@register_source("chexpert")
def read_chexpert(root: Path, *, onto, csv: str = "train.csv", image_root: str | None = None,
                  frontal_only: bool = True) -> SourceFrame:
    """CheXpert v1.0: 224,316 chest radiographs of 65,240 patients, Stanford Hospital, with 14
    observations extracted from the reports by the CheXpert labeler (1 positive, 0 negative,
    -1 uncertain, blank not mentioned).

    Citation: Irvin J et al. "CheXpert: A Large Chest Radiograph Dataset with Uncertainty Labels and
    Expert Comparison." AAAI 2019.
    Download: https://stanfordmlgroup.github.io/competitions/chexpert/ (also the 'small' 11 GB copy).

    Layout: ``root`` holds ``train.csv`` (``csv`` picks valid.csv) with columns Path, Sex, Age,
    Frontal/Lateral, AP/PA and the 14 observation columns named as in the ontology's 'chexpert'
    vocabulary. Path starts with the dataset folder name ('CheXpert-v1.0-small/train/patient00001/
    study1/view1_frontal.jpg'), so images resolve against ``image_root`` (default: root's parent).
    The patient id is parsed from the path. ``frontal_only`` keeps Frontal images (AP/PA as view).
    No report text is released, so the trainer builds label prompts for these images.
    """
    path = root / csv
    if not path.is_file():
        raise InputError(f"{root}: CheXpert label file {csv} not found")
    table = read_csv_text(path)
    require_columns(table, ("Path", "Frontal/Lateral", "AP/PA"), path)
    if frontal_only:
        table = table[table["Frontal/Lateral"] == "Frontal"].reset_index(drop=True)
    ids = table["Path"].str.extract(_STUDY)
    missing = ids[0].isna()
    if missing.any():
        bad = table["Path"][missing].iloc[0]
        raise InputError(f"{path}: Path {bad!r} has no patientNNNNN/studyN/ part to take the patient id from")
    base = Path(image_root) if image_root else root.parent
    label_columns = [c for c in table.columns if c not in META_COLUMNS]
    frame = pd.DataFrame({
        "path": [str(base / p) for p in table["Path"]],
        "patient_id": ids[0].to_numpy(),
        "study_id": (ids[0] + "/" + ids[1]).to_numpy(),
        "source": "chexpert",
        "view": table["AP/PA"].where(table["AP/PA"].isin(FRONTAL_VIEWS)).to_numpy(),
    })
    values = parse_label_columns(table, label_columns, path)
    return SourceFrame("chexpert", pd.concat([frame, values], axis=1), label_columns, "chexpert")
