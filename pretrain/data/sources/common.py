"""Small helpers shared by the source readers: label parsing, list-valued labels, frontal views."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxr.core.errors import InputError
from cxr.pretrain.data.manifest import LABEL_VALUES

UNLISTED = ("nan", "negative")


def label_matrix_from_lists(findings: list[list[str]], columns: list[str], unlisted: str) -> pd.DataFrame:
    """One column per label: 1 where the row lists it; unlisted labels NaN ('nan') or 0 ('negative')."""
    if unlisted not in UNLISTED:
        raise InputError(f"unlisted must be one of {UNLISTED}, got {unlisted!r}")
    fill = np.nan if unlisted == "nan" else 0.0
    values = np.full((len(findings), len(columns)), fill, dtype=np.float32)
    position = {c: j for j, c in enumerate(columns)}
    for i, names in enumerate(findings):
        for name in names:
            values[i, position[name]] = 1.0
    return pd.DataFrame(values, columns=columns)


def parse_label_columns(table: pd.DataFrame, columns: list[str], where) -> pd.DataFrame:
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


def normalise_name(name: str) -> str:
    """Compare label spellings across datasets: 'Pleural_Thickening' == 'pleural thickening'."""
    return " ".join(str(name).replace("_", " ").casefold().split())
