"""The frame a dataset reader starts from when each image is its own patient (RSNA, SIIM, VinDr-PCXR)."""
from __future__ import annotations

from typing import Callable

import pandas as pd


def one_image_per_patient(ids: pd.Index, image_path: Callable[[str], str]) -> pd.DataFrame:
    """path (from ``image_path``) and patient_id: the image id itself, the only id these files carry."""
    return pd.DataFrame({"path": [image_path(i) for i in ids], "patient_id": ids})
