"""The manifest: one row per image, the input of ``cxr prepare`` (CSV or Parquet).

Columns (docs/contracts.md): ``path`` (required; relative to the image root or absolute),
``patient_id`` (required unless renamed or waived, see ``ManifestOptions``), ``study_id``, ``source``,
``view``, label columns named by an ontology vocabulary (1 / 0 / -1 / empty = not mentioned), optional
``report`` text and/or ``sentences`` (a list; JSON-encoded in CSV), optional ``split`` (train/val),
optional ``not_annotated`` ('|'-joined label names the row's source does not annotate at all; empty =
all annotated). Columns prefixed ``meta_`` are carried along untouched. Any other column is an error,
so a misspelled label never silently disappears from training.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxr.core.atomic import atomic_path
from cxr.core.errors import InputError
from cxr.core.provenance import file_sha256
from cxr.datasets.values import LABEL_VALUES

ID_COLUMNS = ("path", "patient_id", "study_id", "source", "view")
TEXT_COLUMNS = ("report", "sentences")
RESERVED = (*ID_COLUMNS, "split", *TEXT_COLUMNS, "not_annotated")
META_PREFIX = "meta_"
ANNOTATION_SEP = "|"
SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validate": "val", "validation": "val"}
DEFAULT_SOURCE = "manifest"


@dataclass(frozen=True)
class ManifestOptions:
    """How to read a manifest whose columns do not follow the convention exactly."""
    patient_column: str | None = None   # the column holding patient ids, renamed to patient_id
    no_patient_ids: bool = False        # no patient ids at all: each study counts as its own patient
    vocabulary: str | None = None       # vocabulary of the label columns; None = any ontology vocabulary
    #: how the caller's user sets ``vocabulary`` (named in errors): a `cxr prepare` option or a source option
    vocabulary_option: str = "--vocabulary"


@dataclass
class Manifest:
    path: Path
    sha256: str
    frame: pd.DataFrame                  # normalised: id columns are strings, labels float32
    label_columns: list[str]
    vocabulary: str | None
    warnings: list[str] = field(default_factory=list)


def read_table(path: str | Path) -> pd.DataFrame:
    """CSV (ids kept as text, so '00012' stays '00012') or Parquet, chosen by suffix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest not found: {path}")
    name = path.name.lower()
    if name.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif name.endswith((".csv", ".csv.gz")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    else:
        raise InputError(f"{path}: unknown manifest format (expected .csv, .csv.gz or .parquet)")
    if frame.empty:
        raise InputError(f"{path}: the manifest has no rows")
    return frame


def read_manifest(path: str | Path, options: ManifestOptions = ManifestOptions(), onto=None) -> Manifest:
    """Read and validate a manifest; every problem is an ``InputError`` naming file, row and column."""
    path = Path(path)
    frame = read_table(path)
    warnings: list[str] = []
    frame = _patient_ids(frame, path, options, warnings)
    frame = _defaults(frame, path)
    if _label_candidates(frame) and onto is None:
        from cxr.labeler.ontology import load_ontology
        onto = load_ontology()
    label_columns = _label_columns(frame, path, options, onto)
    if label_columns:
        # One replacement of all label columns: ~200 single-column assignments fragment the frame, and
        # every later insert (split, row, ...) then costs a copy and a pandas PerformanceWarning.
        values = pd.DataFrame({c: _label_values(frame[c], path, c) for c in label_columns}, index=frame.index)
        frame = pd.concat([frame.drop(columns=label_columns), values], axis=1)[list(frame.columns)]
    if "sentences" in frame.columns:
        frame["sentences"] = _sentences(frame["sentences"], path)
    if "split" in frame.columns and frame["split"].isna().all():
        frame = frame.drop(columns="split")
    if "split" in frame.columns:
        frame["split"] = _splits(frame["split"], path)
    if "not_annotated" in frame.columns:
        frame["not_annotated"] = _not_annotated(frame["not_annotated"], label_columns, path)
    vocabulary = options.vocabulary or _detect_vocabulary(label_columns, onto)
    return Manifest(path, file_sha256(path), frame.reset_index(drop=True), label_columns, vocabulary, warnings)


def write_manifest(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a manifest atomically; CSV stores ``sentences`` as JSON lists."""
    path = Path(path)
    name = path.name.lower()
    with atomic_path(path) as tmp:
        if name.endswith(".parquet"):
            frame.to_parquet(tmp, index=False)
        elif name.endswith((".csv", ".csv.gz")):
            out = frame.copy()
            if "sentences" in out.columns:
                out["sentences"] = [json.dumps(list(s)) if _is_list(s) else "" for s in out["sentences"]]
            out.to_csv(tmp, index=False, compression="gzip" if name.endswith(".gz") else None)
        else:
            raise InputError(f"{path}: choose a .csv, .csv.gz or .parquet manifest name")
    return path


# ------------------------------------------------------------------------------------------------
def _where(path: Path, i: int) -> str:
    """Human row reference: data row (1-based) and, for CSV, the line in the file."""
    line = f", line {i + 2}" if path.name.lower().endswith((".csv", ".csv.gz")) else ""
    return f"{path}: row {i + 1}{line}"


def _patient_ids(frame: pd.DataFrame, path: Path, options: ManifestOptions, warnings: list[str]) -> pd.DataFrame:
    if options.patient_column:
        if options.patient_column not in frame.columns:
            raise InputError(f"{path}: patient column {options.patient_column!r} not found; "
                             f"columns: {', '.join(map(str, frame.columns))}")
        frame = frame.rename(columns={options.patient_column: "patient_id"})
    if "path" not in frame.columns:
        raise InputError(f"{path}: required column 'path' missing; columns: {', '.join(map(str, frame.columns))}")
    if "patient_id" not in frame.columns:
        if not options.no_patient_ids:
            raise InputError(
                f"{path}: no 'patient_id' column; it is needed so the validation split keeps every "
                f"patient's images on one side. Name the column with --patient-column, or pass "
                f"--no-patient-ids to treat each study as its own patient. "
                f"Columns: {', '.join(map(str, frame.columns))}")
        key = "study_id" if "study_id" in frame.columns else "path"
        frame = frame.assign(patient_id=frame[key])
        warnings.append(f"{path}: no patient ids; each {key} counts as a patient, so images of one "
                        f"patient may land on both sides of the validation split")
    for column in ("path", "patient_id"):
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise InputError(f"{_where(path, i)}: empty {column!r} ({int(empty.sum())} row(s) in all)")
    dup = frame["path"].duplicated(keep=False)
    if dup.any():
        first = frame.loc[dup, "path"].iloc[0]
        raise InputError(f"{path}: {int(dup.sum())} rows share a path, e.g. {first!r}; each image must appear once")
    return frame


def _defaults(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    frame = frame.copy()
    if "study_id" not in frame.columns:
        frame["study_id"] = frame["path"]
    if "source" not in frame.columns:
        frame["source"] = DEFAULT_SOURCE
    if "view" not in frame.columns:
        frame["view"] = None
    for column in ID_COLUMNS:
        frame[column] = frame[column].map(_as_id)
    frame["source"] = frame["source"].fillna(DEFAULT_SOURCE)
    return frame


def _as_id(value: Any) -> Any:
    """Ids as text; Parquet integer ids lose no zeros, float ids like 10.0 become '10'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def known_labels(onto, vocabulary: str | None) -> set[str]:
    if vocabulary:
        return set(onto.vocabulary(vocabulary))
    return {name for v in onto.vocabularies for name in onto.vocabulary(v)}


def _label_candidates(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in RESERVED and not str(c).startswith(META_PREFIX)]


def _label_columns(frame: pd.DataFrame, path: Path, options: ManifestOptions, onto) -> list[str]:
    candidates = _label_candidates(frame)
    if not candidates:
        return []
    known = known_labels(onto, options.vocabulary)
    unknown = [c for c in candidates if c not in known]
    if unknown:
        scope = f"vocabulary {options.vocabulary!r}" if options.vocabulary else "any ontology vocabulary"
        raise InputError(
            f"{path}: column(s) {', '.join(repr(c) for c in unknown)} are neither manifest columns "
            f"({', '.join(RESERVED)}) nor labels of {scope}. Fix the label names, choose the vocabulary "
            f"with {options.vocabulary_option}, or prefix extra columns with '{META_PREFIX}' to carry them along.")
    return [str(c) for c in candidates]


def _label_values(column: pd.Series, path: Path, name: str) -> pd.Series:
    raw = column.map(lambda v: v.strip() if isinstance(v, str) else v)
    values = pd.to_numeric(raw, errors="coerce")
    given = raw.notna() & (raw.astype(str) != "")
    bad = (given & values.isna()) | (values.notna() & ~values.isin(LABEL_VALUES))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{_where(path, i)}: column {name!r}: value {column.iloc[i]!r} is not a label "
                         f"value (1 positive, 0 negative, -1 uncertain, empty = not mentioned)")
    return values.astype(np.float32)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _sentences(column: pd.Series, path: Path) -> pd.Series:
    out = []
    for i, value in enumerate(column):
        if _is_list(value):
            out.append([str(s) for s in value])
        elif value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
            out.append([])
        else:
            try:
                parsed = json.loads(value)
            except (TypeError, json.JSONDecodeError):
                parsed = None
            if not isinstance(parsed, list):
                raise InputError(f"{_where(path, i)}: column 'sentences' must hold a JSON list of strings, "
                                 f"got {str(value)[:60]!r}")
            out.append([str(s) for s in parsed])
    return pd.Series(out, index=column.index, dtype=object)


def _splits(column: pd.Series, path: Path) -> pd.Series:
    if column.isna().any():
        i = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise InputError(f"{_where(path, i)}: column 'split' is filled for some rows only; fill it for "
                         f"every row or drop it to let cxr prepare split by patient")
    mapped = column.astype(str).str.strip().str.lower().map(SPLIT_NAMES)
    if mapped.isna().any():
        i = int(np.flatnonzero(mapped.isna().to_numpy())[0])
        raise InputError(f"{_where(path, i)}: split {column.iloc[i]!r} is not train or val "
                         f"(evaluation/test images must not enter pre-training: drop those rows)")
    return mapped


def _not_annotated(column: pd.Series, label_columns: list[str], path: Path) -> pd.Series:
    allowed = set(label_columns)
    out = []
    for i, value in enumerate(column):
        names = [] if value is None or (isinstance(value, float) and math.isnan(value)) else \
            [n for n in str(value).split(ANNOTATION_SEP) if n]
        unknown = [n for n in names if n not in allowed]
        if unknown:
            raise InputError(f"{_where(path, i)}: column 'not_annotated' names {unknown}, which are not "
                             f"label columns of this manifest")
        out.append(ANNOTATION_SEP.join(names))
    return pd.Series(out, index=column.index, dtype=object)


def _detect_vocabulary(label_columns: list[str], onto) -> str | None:
    """The first vocabulary holding every label column (recorded in the cache meta)."""
    if not label_columns or onto is None:
        return None
    for name in onto.vocabularies:
        if set(label_columns) <= set(onto.vocabulary(name)):
            return name
    return None
