"""Cell conventions the official files share: label values and view codes.

Label values everywhere in cxr: 1 positive, 0 negative, -1 uncertain, empty = not mentioned (NaN), the
CheXpert labeler's convention, which MIMIC-CXR's label files and ``cxr label`` follow too.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxr.core.errors import InputError

LABEL_VALUES = (1.0, 0.0, -1.0)
#: DICOM ViewPosition codes of frontal radiographs (MIMIC ViewPosition, CheXpert AP/PA, NIH View Position)
FRONTAL_VIEWS = ("PA", "AP")


def parse_label_columns(table: pd.DataFrame, columns: list[str], where: str | Path) -> pd.DataFrame:
    """Text label cells (1, 0, -1, 1.0, empty) -> float32; a bad cell names its row and column."""
    out = {}
    for column in columns:
        raw = table[column]
        values = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & values.isna()) | (values.notna() & ~values.isin(LABEL_VALUES))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{where}: row {i + 1}, column {column!r}: {raw.iloc[i]!r} is not 1, 0, -1 or empty")
        out[column] = values.astype(np.float32).to_numpy()
    return pd.DataFrame(out, index=table.index)

