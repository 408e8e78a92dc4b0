"""Validation split by patient (never by image) and removal of evaluation patients.

A patient is identified by (source, patient_id): two datasets may reuse the same number for
different people, and one person never spans two datasets.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxr.core.errors import InputError
from cxr.core.provenance import file_sha256
from cxr.datasets.patients import normalise_patient_id
from cxr.datasets.catalog import registered_names, unregistered

_SEP = "\x1f"


def patient_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["source"].astype(str) + _SEP + frame["patient_id"].astype(str)


def assign_split(frame: pd.DataFrame, val_fraction: float, seed: int) -> pd.Series:
    """'train' / 'val' per row: a seeded permutation of the sorted patients, the first share to val.

    Sorting first makes the result independent of row order; the count is exact (rounded), with at
    least one validation patient whenever the fraction is positive and two patients exist.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise InputError(f"validation fraction must be in [0, 1), got {val_fraction}")
    keys = patient_keys(frame)
    patients = np.array(sorted(keys.unique()), dtype=object)
    n_val = round(val_fraction * len(patients))
    if val_fraction > 0 and len(patients) > 1:
        n_val = min(max(n_val, 1), len(patients) - 1)
    order = np.random.default_rng(seed).permutation(len(patients))
    val = set(patients[order[:n_val]])
    return pd.Series(np.where(keys.isin(val), "val", "train"), index=frame.index, dtype=object)


def check_split(frame: pd.DataFrame, where: str) -> None:
    """A given split column must keep each patient on one side."""
    sides = frame.assign(_key=patient_keys(frame)).groupby("_key")["split"].nunique()
    mixed = sides[sides > 1]
    if len(mixed):
        source, patient = mixed.index[0].split(_SEP)
        raise InputError(f"{where}: patient {patient!r} (source {source!r}) has images in both train and val "
                         f"({len(mixed)} such patient(s)); the split must be by patient")


@dataclass(frozen=True)
class Exclusion:
    path: Path
    sha256: str
    patients: int
    rows_removed: int


def read_patient_list(path: str | Path) -> pd.DataFrame:
    """Patients to keep out of pre-training: a .txt (one id per line) or a CSV with ``patient_id``
    and optionally ``source`` (without it, an id matches in every source)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"patient list not found: {path}")
    if path.suffix.lower() == ".csv":
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if "patient_id" not in table.columns:
            raise InputError(f"{path}: needs a 'patient_id' column; columns: {', '.join(table.columns)}")
        cols = [c for c in ("source", "patient_id") if c in table.columns]
        table = table[cols]
    else:
        ids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        table = pd.DataFrame({"patient_id": [i for i in ids if i and not i.startswith("#")]})
    return table[table["patient_id"].str.strip() != ""].drop_duplicates()


def exclude_patients(frame: pd.DataFrame, path: str | Path) -> tuple[pd.DataFrame, Exclusion]:
    """Drop every row of the listed patients (evaluation patients must never be pre-trained on)."""
    table = read_patient_list(path)
    # Normalised like the evaluation's leakage check, so "00001280" in the list removes patient "1280".
    pid = frame["patient_id"].map(normalise_patient_id)
    listed_ids = table["patient_id"].map(normalise_patient_id)
    if "source" in table.columns:
        _check_listed_sources(table["source"], frame["source"], path)
        listed = set(table["source"] + _SEP + listed_ids)
        drop = (frame["source"].astype(str) + _SEP + pid).isin(listed)
    else:
        drop = pid.isin(set(listed_ids))
    kept = frame.loc[~drop].reset_index(drop=True)
    return kept, Exclusion(Path(path), file_sha256(path), len(table), int(drop.sum()))


def _check_listed_sources(listed: pd.Series, present: pd.Series, path: str | Path) -> None:
    """A listed source must be a registered dataset or a source of this manifest: any other spelling
    would remove nobody, silently."""
    unknown = sorted(set(unregistered(listed)) - set(present.astype(str)))
    if unknown:
        raise InputError(f"{path}: source name(s) {unknown} in column 'source' are neither sources of this "
                         f"manifest ({', '.join(sorted(set(present.astype(str))))}) nor registered datasets "
                         f"({registered_names()}); rows with such a name would match no image and remove nobody")


def split_counts(split: pd.Series, frame: pd.DataFrame) -> dict:
    keys = patient_keys(frame)
    return {side: {"rows": int((split == side).sum()), "patients": int(keys[split == side].nunique())}
            for side in ("train", "val")}


__all__ = ["assign_split", "check_split", "exclude_patients", "read_patient_list", "patient_keys",
           "split_counts", "Exclusion"]
