"""Patient ids compared across datasets and stages (pre-training exclusion, evaluation leakage checks).

Datasets spell the same id differently: MIMIC folders say ``p10000032`` where its CSVs say ``10000032``,
NIH pads ``00001280``. Every comparison of patient ids in cxr goes through ``normalise_patient_id``, so an
exclusion list written one way still removes the patient stored the other way.
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable

_NUMERIC = re.compile(r"^p?0*(\d+)$", re.IGNORECASE)


def normalise_patient_id(value: object) -> str:
    text = str(value).strip()
    m = _NUMERIC.match(text)
    if m:
        return m.group(1) or "0"
    return text.lower()


def patient_digest(ids: Iterable[object]) -> str:
    """sha256 of the distinct normalised ids, sorted, one per line: two lists hold the same patients
    exactly when their digests are equal, however each dataset spells the ids."""
    unique = sorted({normalise_patient_id(i) for i in ids if str(i).strip()})
    return hashlib.sha256("\n".join(unique).encode("utf-8")).hexdigest()
