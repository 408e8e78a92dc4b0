"""CheXpert reader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets import chexpert
from cxr.pretrain.data.sources.base import SourceFrame, register_source, rows


@register_source(chexpert.NAME)
def read_chexpert(root: Path, *, onto, csv: str = chexpert.TRAIN, image_root: str | None = None,
                  frontal_only: bool = True) -> SourceFrame:
    """CheXpert (``cxr.datasets.chexpert``: citation, download page, layout of ``root``).

    ``csv`` picks the label file (train.csv or valid.csv). Its Path starts with the dataset folder name,
    so images resolve against ``image_root`` (default: root's parent). ``frontal_only`` keeps Frontal
    images (AP/PA as view). Label columns are named as in the ontology's 'chexpert' vocabulary. No
    report text is released, so the trainer builds label prompts for these images.
    """
    path = root / csv
    if not path.is_file():
        raise InputError(f"{root}: CheXpert label file {csv} not found")
    table = chexpert.read_labels(path)
    if frontal_only:
        table = table[table["frontal"]].reset_index(drop=True)
    label_columns = chexpert.label_columns(table)
    frame = rows(chexpert.NAME, table, Path(image_root) if image_root else root.parent)
    return SourceFrame(chexpert.NAME, pd.concat([frame, table[label_columns]], axis=1), label_columns, "chexpert")
