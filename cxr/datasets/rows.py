"""The frame a dataset reader starts from when each image is its own patient (RSNA, SIIM, VinDr-PCXR)."""
from __future__ import annotations

import pandas as pd


def one_image_per_patient(ids: pd.Index, path_template: str, **fields: str) -> pd.DataFrame:
    """path (``path_template.format(id=..., **fields)``) and patient_id: the image id itself, the only id
    these files carry."""
    return pd.DataFrame({"path": [path_template.format(id=i, **fields) for i in ids], "patient_id": ids})
