"""Patient-level leakage control between pre-training data and evaluation splits.

Patient ids are compared after normalisation because datasets spell the same id differently
(MIMIC folders say ``p10000032`` where the CSVs say ``10000032``; NIH pads ``00001280``). Dataset names
are compared exactly: a table's ``source`` column holds registered ``cxr.datasets`` names (what
``cxr manifest`` writes). Rows of any other name (a private dataset, or a misspelling) are not compared
with a benchmark, and the caller gets a note naming them and their counts, never a silent non-match.

``cxr eval run`` also checks every task against the patients an export was pre-trained on
(``check_pretraining_patients``): the export records them as salted tokens, not as ids.
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import CxrError, InputError
from cxr.datasets.patients import normalise_patient_id
from cxr.datasets.catalog import DATASETS, registered_names, unregistered

PATIENT_COLUMNS = ("patient_id", "subject_id", "Patient ID", "patientId", "patient")


def read_patient_ids(path: str | Path, dataset: str | None = None, notes: list[str] | None = None) -> set[str]:
    """Patient ids from a text file (one per line) or a CSV/Parquet with a patient id column.

    With a ``source`` column and a ``dataset`` (the registered name a task draws from), only that
    dataset's rows count: ids of other datasets may collide by chance (NIH 1280 and a MIMIC subject 1280
    are different people). Rows whose source is not a registered dataset are left out, with a line in
    ``notes`` (when given) saying which and how many.
    """
    path = Path(path)
    if dataset:
        DATASETS.get(dataset)   # a misspelt task dataset would match no row
    if not path.is_file():
        raise InputError(f"patient list not found: {path}")
    if path.suffix.lower() in (".txt", ".lst", ""):
        lines = path.read_text(encoding="utf-8").splitlines()
        return {normalise_patient_id(x) for x in lines if x.strip() and not x.startswith("#")}
    frame = _read_table(path)
    column = next((c for c in PATIENT_COLUMNS if c in frame.columns), None)
    if column is None:
        raise InputError(f"{path}: no patient id column (one of {list(PATIENT_COLUMNS)})")
    if dataset and "source" in frame.columns:
        frame = _rows_of(frame, dataset, path, notes if notes is not None else [])
    ids = frame[column].dropna().astype(str)
    return {normalise_patient_id(x) for x in ids if x.strip()}


def _rows_of(frame, dataset: str, path: Path, notes: list[str]):
    sources = frame["source"].astype(str)
    private = unregistered(sources)
    if private:
        counts = sources[sources.isin(private)].value_counts().sort_index()
        named = ", ".join(f"{name!r} ({n} rows)" for name, n in counts.items())
        notes.append(f"{path}: source(s) {named} are not registered datasets, so their patients were not "
                     f"compared with dataset {dataset!r}. If those rows are {dataset} images, write its "
                     f"registered name in 'source' (as `cxr manifest` does). Registered: {registered_names()}")
    return frame[sources == dataset]


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


def check_pretraining_patients(split, task: str, dataset: str | None, encoder_info: dict,
                               allow: bool) -> list[str]:
    """Refuse a task whose patients the encoder was pre-trained on (its export's ``patients.json``).

    ``dataset``: the registered dataset a benchmark task draws from (only that source's pre-training
    patients count: ids of two datasets collide by chance); None for a user task, compared with every
    source. Returns warnings: the check could not run, or found overlap that ``allow`` lets pass.
    """
    from cxr.pretrain.export import read_export_config, read_export_patients

    if encoder_info.get("source") != "export":
        return []      # other labs' encoders record no pre-training patients
    tokens = read_export_patients(encoder_info["path"])
    if tokens is None:
        pretraining = read_export_config(encoder_info["path"]).get("pretraining") or {}
        if not pretraining.get("patients_sha256"):
            return []  # untrained, or trained on in-memory toy data: no patients to share
        return [f"{task}: the export names no pre-training patients (an older export, or its cache was gone "
                f"at export time): patient overlap with pre-training NOT checked"]
    ids = split.frame["patient_id"]
    blank = int((ids.astype(str).str.strip() == "").sum())
    if blank == len(ids):
        return [f"{task}: the split has no patient_id column: patient overlap with pre-training NOT checked; "
                f"add one (patient ids as in the dataset's files) to check it"]
    notes = [f"{task}: {blank} of {len(ids)} rows have no patient_id: their overlap with pre-training "
             f"NOT checked"] if blank else []
    shared, notes = _shared_patients(split.frame, tokens, dataset, task, notes)
    if not shared:
        return notes
    against = f"dataset {dataset!r}" if dataset else f"source(s) {', '.join(sorted(tokens.by_source))}"
    message = (f"{task}: {len(shared)} patient(s) of this split were in the encoder's pre-training data "
               f"({against}), e.g. {shared[:8]}")
    if allow:
        return notes + [f"{message}; kept (--allow-overlap): scores on them are inflated"]
    hint = "" if dataset else (" If your patients come from another dataset whose ids merely look alike "
                               "(ids collide across datasets), the match is by chance: add a 'source' column "
                               "naming each row's dataset (your own name for a private one) and only that "
                               "dataset's pre-training patients are compared.")
    raise CxrError(f"{message}. Zero-shot and probe results on them would be inflated. Rebuild the split "
                   f"without them (cxr eval splits --exclude-patients) or pre-train without them "
                   f"(cxr prepare --exclude-patients).{hint} Pass --allow-overlap to evaluate anyway.")


def _shared_patients(frame, tokens, dataset: str | None, task: str, notes: list[str]) -> tuple[list[str], list[str]]:
    """Split patients found among the pre-training ones. A benchmark compares with its ``dataset``; a user
    split with a ``source`` column compares each row with its own source (a private name matches none);
    a user split without one compares with every source."""
    if dataset or "source" not in frame.columns:
        return sorted(set(tokens.matches(frame["patient_id"].unique(), dataset))), notes
    shared: set[str] = set()
    for source, rows in frame.groupby(frame["source"].astype(str).str.strip()):
        if source in tokens.by_source:
            shared.update(tokens.matches(rows["patient_id"].unique(), source))
    private = sorted(set(frame["source"].astype(str).str.strip()) - set(tokens.by_source))
    if private:
        notes = notes + [f"{task}: source(s) {private} had no patients in the encoder's pre-training data, "
                         f"so those rows were not compared"]
    return sorted(shared), notes
