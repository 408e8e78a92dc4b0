"""Patient-level leakage control between pre-training data and evaluation splits.

Patient ids are compared after normalisation because datasets spell the same id differently
(MIMIC folders say ``p10000032`` where the CSVs say ``10000032``; NIH pads ``00001280``).
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import CxrError, InputError
from cxr.datasets.patients import normalise_patient_id

PATIENT_COLUMNS = ("patient_id", "subject_id", "Patient ID", "patientId", "patient")


def read_patient_ids(path: str | Path, sources: tuple[str, ...] = ()) -> set[str]:
    """Patient ids from a text file (one per line) or a CSV/Parquet with a patient id column.

    With a ``source`` column and known ``sources``, only those rows count: ids of other datasets may
    collide by chance (NIH 1280 and a MIMIC subject 1280 are different people).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"patient list not found: {path}")
    if path.suffix.lower() in (".txt", ".lst", ""):
        lines = path.read_text(encoding="utf-8").splitlines()
        return {normalise_patient_id(x) for x in lines if x.strip() and not x.startswith("#")}
    frame = _read_table(path)
    column = next((c for c in PATIENT_COLUMNS if c in frame.columns), None)
    if column is None:
        raise InputError(f"{path}: no patient id column (one of {list(PATIENT_COLUMNS)})")
    if sources and "source" in frame.columns:
        wanted = {s.lower() for s in sources}
        frame = frame[frame["source"].astype(str).str.lower().isin(wanted)]
    ids = frame[column].dropna().astype(str)
    return {normalise_patient_id(x) for x in ids if x.strip()}


def _read_table(path: Path):
    import pandas as pd

    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as exc:  # pandas raises many types for a malformed file
        raise InputError(f"{path}: cannot read as a table ({exc})") from None


def exclude_patients(cands, excluded: set[str]):
    keep = ~cands["patient_id"].map(normalise_patient_id).isin(excluded)
    return cands[keep]


def check_overlap(split_frame, pretrain_ids: set[str], manifest: str | Path, allow: bool) -> list[str]:
    """Patients of the split also in the pre-training manifest; refuse unless ``allow``."""
    ids = {normalise_patient_id(p) for p in split_frame["patient_id"] if str(p).strip()}
    overlap = sorted(ids & pretrain_ids)
    if overlap and not allow:
        raise CxrError(
            f"{len(overlap)} patient(s) of this split are in the pre-training manifest {manifest}, "
            f"e.g. {overlap[:8]}. Zero-shot and probe results on them would be inflated. Exclude them "
            f"with --exclude-patients {manifest}, or pass --allow-overlap to keep them knowingly.")
    return overlap
