"""NIH ChestX-ray14 reader."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets import chestxray14
from cxr.datasets.files import find_file
from cxr.pretrain.data.sources.base import SourceFrame, register_source, rows
from cxr.pretrain.data.sources.common import label_matrix_from_lists

NAME = chestxray14.NAME
VOCABULARY = "chestxray14"   # the ontology vocabulary its findings map onto


@register_source(NAME)
def read_chestxray14(root: Path, *, onto, csv: str | None = None, image_dir: str = chestxray14.IMAGES,
                     unlisted: str = "negative", frontal_only: bool = True) -> SourceFrame:
    """NIH ChestX-ray14 (``cxr.datasets.chestxray14``: citation, download page, layout of ``root``).

    ``csv`` overrides the Data_Entry CSV's name; the PNGs are under ``image_dir`` (gather the
    images_0XX/images folders into one). Finding names map onto the ontology's 'chestxray14'
    vocabulary by spelling ('Pleural_Thickening' = 'Pleural Thickening'). The 14 findings are an
    exhaustive list per image, so unlisted ones are negative by default (``unlisted='nan'`` keeps them
    not mentioned).
    """
    path = root / csv if csv else find_file(root, chestxray14.DATA_ENTRY, "ChestX-ray14 Data_Entry CSV")
    if not path.is_file():
        raise InputError(f"ChestX-ray14 label CSV not found: {path}")
    table = chestxray14.read_data_entry(path, image_dir)
    if frontal_only:
        table = table[table["frontal"]].reset_index(drop=True)
    columns = onto.vocabulary(VOCABULARY)
    findings, unknown = _in_vocabulary(table["findings"], columns)
    warnings = []
    if unknown:
        warnings.append(f"{NAME}: finding(s) not in the '{VOCABULARY}' vocabulary ignored: {sorted(unknown)}")
    values = label_matrix_from_lists(findings, columns, unlisted)
    return SourceFrame(NAME, pd.concat([rows(NAME, table, root), values], axis=1), columns, VOCABULARY, warnings)


def _in_vocabulary(listed: pd.Series, columns: list[str]) -> tuple[list[list[str]], set[str]]:
    """Each row's findings as vocabulary names, and the names no column matches ('No Finding' aside)."""
    by_name = {_spelling(c): c for c in columns}
    findings = [[by_name[_spelling(n)] for n in names if _spelling(n) in by_name] for names in listed]
    unknown = {n for names in listed for n in names if _spelling(n) not in by_name and n != chestxray14.NO_FINDING}
    return findings, unknown


def _spelling(name: str) -> str:
    """Compare finding spellings across files and vocabularies: 'Pleural_Thickening' == 'pleural thickening'."""
    return " ".join(str(name).replace("_", " ").casefold().split())
