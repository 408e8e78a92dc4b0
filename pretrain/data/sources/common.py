"""What the readers of list-valued datasets (PadChest, ChestX-ray14) share: finding lists to label columns."""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxr.core.errors import InputError

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

