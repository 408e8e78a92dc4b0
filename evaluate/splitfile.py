"""The split file every task reduces to: a CSV of path, label, split (train|test), patient_id.

A sidecar ``<file>.meta.json`` records how it was built (task, seed, protocol counts, source-file hashes)
and the CSV's sha256. Results identify a split by the sha256 of the CSV's bytes, so any edit shows up.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cxr.core.atomic import atomic_write_text
from cxr.core.errors import InputError
from cxr.core.provenance import file_sha256

REQUIRED = ("path", "label", "split")
PARTS = ("train", "test")


def meta_path(split_path: str | Path) -> Path:
    split_path = Path(split_path)
    return split_path.with_name(split_path.name + ".meta.json")


@dataclass
class Split:
    """A loaded split. ``frame`` keeps file order; ``classes`` fixes the label index order."""
    frame: Any                      # pandas DataFrame: path, label, split, patient_id (str)
    classes: list[str]
    sha256: str
    path: Path | None = None
    meta: dict = field(default_factory=dict)

    def part(self, name: str):
        return self.frame[self.frame["split"] == name]

    def labels(self, name: str):
        """Integer class indices of one part, in file order."""
        index = {c: i for i, c in enumerate(self.classes)}
        return self.part(name)["label"].map(index).to_numpy()

    def class_counts(self, name: str) -> dict[str, int]:
        counts = self.part(name)["label"].value_counts()
        return {c: int(counts.get(c, 0)) for c in self.classes}


def read_split(path: str | Path) -> Split:
    """Load and validate a split CSV (the user-task format too)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"split file not found: {path}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    meta = _read_meta(path)
    return split_from_frame(frame, where=str(path), sha=file_sha256(path), path=path, meta=meta)


def split_from_frame(frame, where: str, sha: str, path: Path | None = None, meta: dict | None = None) -> Split:
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {missing}; a split needs path, label, split "
                         f"(and optionally patient_id)")
    frame = frame.copy()
    for col in ("path", "label", "split"):
        frame[col] = frame[col].astype(str).str.strip()
    frame["split"] = frame["split"].str.lower()
    if "patient_id" not in frame.columns:
        frame["patient_id"] = ""
    frame["patient_id"] = frame["patient_id"].fillna("").astype(str).str.strip()
    _check_values(frame, where)
    classes = _class_order(frame, meta or {})
    # 'source' (optional) names the dataset each row comes from: the pre-training patient check compares a
    # row only with that dataset's patients, since ids of two datasets collide by chance
    keep = ["path", "label", "split", "patient_id"] + (["source"] if "source" in frame.columns else [])
    return Split(frame[keep].reset_index(drop=True),
                 classes, sha, path, meta or {})


def _check_values(frame, where: str) -> None:
    if frame.empty:
        raise InputError(f"{where}: the split has no rows")
    bad = sorted(set(frame["split"]) - set(PARTS))
    if bad:
        raise InputError(f"{where}: column 'split' must be train or test, found {bad[:5]}")
    for col in ("path", "label"):
        empty = frame.index[frame[col] == ""].tolist()
        if empty:
            raise InputError(f"{where}: empty {col!r} on row(s) {[i + 2 for i in empty[:5]]}")
    dupes = frame["path"][frame["path"].duplicated()].unique().tolist()
    if dupes:
        raise InputError(f"{where}: {len(dupes)} image(s) listed twice, e.g. {dupes[:3]}")
    for part in PARTS:
        if not (frame["split"] == part).any():
            raise InputError(f"{where}: no {part} rows")
    classes = sorted(set(frame["label"]))
    if len(classes) < 2:
        raise InputError(f"{where}: a task needs at least two classes; this split has only {classes} "
                         f"(a one-class task scores 100% whatever the encoder)")
    test_only = sorted(set(frame.loc[frame["split"] == "test", "label"])
                       - set(frame.loc[frame["split"] == "train", "label"]))
    if test_only:
        raise InputError(f"{where}: class(es) {test_only} have test rows but no train rows")
    _check_patient_disjoint(frame, where)


def _check_patient_disjoint(frame, where: str) -> None:
    known = frame[frame["patient_id"] != ""]
    train = set(known.loc[known["split"] == "train", "patient_id"])
    both = sorted(train & set(known.loc[known["split"] == "test", "patient_id"]))
    if both:
        raise InputError(f"{where}: {len(both)} patient(s) appear in both train and test, "
                         f"e.g. {both[:5]}; a split must be patient-disjoint")


def _class_order(frame, meta: dict) -> list[str]:
    """The sidecar's class order when it matches the file, else sorted (stable across row edits)."""
    present = set(frame["label"])
    recorded = meta.get("classes")
    if isinstance(recorded, list) and set(recorded) == present:
        return list(recorded)
    return sorted(present)


def _read_meta(path: Path) -> dict:
    mp = meta_path(path)
    if not mp.is_file():
        return {}
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{mp}: unreadable split metadata ({exc})") from None
    return meta if isinstance(meta, dict) else {}


def write_split(frame, path: str | Path, meta: dict) -> str:
    """Write the CSV and its sidecar atomically; return the CSV's sha256 (also stored in the sidecar)."""
    text = frame[["path", "label", "split", "patient_id"]].to_csv(index=False, lineterminator="\n")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    meta = {**meta, "sha256": sha, "rows": int(len(frame))}
    atomic_write_text(path, text)
    atomic_write_text(meta_path(path), json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return sha


def edited_since_written(split: Split) -> bool:
    """True when a sidecar exists but the CSV no longer has the hash it was written with."""
    recorded = split.meta.get("sha256")
    return bool(recorded) and recorded != split.sha256
