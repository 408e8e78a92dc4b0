"""MIMIC-CXR-JPG reader."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.pretrain.data.sources.base import (FRONTAL_VIEWS, SourceFrame, find_file, read_csv_text,
                                        register_source, require_columns)
from cxr.pretrain.data.sources.common import parse_label_columns

METADATA = ("mimic-cxr-2.0.0-metadata.csv.gz", "mimic-cxr-2.0.0-metadata.csv")
SPLIT = ("mimic-cxr-2.0.0-split.csv.gz", "mimic-cxr-2.0.0-split.csv")
_STUDY = re.compile(r"^s?(\d+)$")


@register_source("mimic-cxr")
def read_mimic_cxr(root: Path, *, onto, labels: str | None = None, sentences: str | None = None,
                   labels_vocabulary: str = "padchest", frontal_only: bool = True,
                   include_test: bool = False) -> SourceFrame:
    """MIMIC-CXR-JPG v2.0.0: 377,110 JPEG chest radiographs of 227,827 studies (65,379 patients),
    Beth Israel Deaconess Medical Center, with free-text reports.

    Citation: Johnson AEW et al. "MIMIC-CXR-JPG, a large publicly available database of labeled
    chest radiographs." arXiv:1901.07042 (2019); and Johnson et al., Sci Data 6:317 (2019).
    Download (credentialed PhysioNet access): https://physionet.org/content/mimic-cxr-jpg/2.0.0/

    Layout of ``root``::

        mimic-cxr-2.0.0-metadata.csv[.gz]   dicom_id, subject_id, study_id, ViewPosition, ...
        mimic-cxr-2.0.0-split.csv[.gz]      dicom_id, study_id, subject_id, split (optional)
        files/p10/p10000032/s50414267/<dicom_id>.jpg

    Labels and text come from running ``cxr label`` on the reports (MIMIC-CXR, not -JPG, ships them):
    ``labels`` = its labels.csv (first column the study id, 's50414267' or '50414267'; label columns in
    ``labels_vocabulary``), ``sentences`` = its ``--sentences`` Parquet (id, sentence_index, text).
    Studies without a labels row are dropped (their report is missing). Rows of the official test
    split are dropped unless ``include_test`` (they stay available for evaluation); the validation
    split for pre-training is drawn by ``cxr prepare``, by patient. ``frontal_only`` keeps PA and AP.
    NaN = not mentioned in the report.
    """
    meta_path = find_file(root, METADATA, "MIMIC-CXR-JPG metadata CSV")
    table = read_csv_text(meta_path)
    require_columns(table, ("dicom_id", "subject_id", "study_id", "ViewPosition"), meta_path)
    warnings: list[str] = []
    table = _drop_test(root, table, include_test, warnings)
    if frontal_only:
        table = table[table["ViewPosition"].isin(FRONTAL_VIEWS)]
    table = table.reset_index(drop=True)
    frame = pd.DataFrame({
        "path": [str(root / "files" / f"p{s[:2]}" / f"p{s}" / f"s{st}" / f"{d}.jpg")
                 for d, s, st in zip(table["dicom_id"], table["subject_id"], table["study_id"])],
        "patient_id": table["subject_id"].to_numpy(),
        "study_id": table["study_id"].to_numpy(),
        "source": "mimic-cxr",
        "view": table["ViewPosition"].to_numpy(),
    })
    label_columns: list[str] = []
    if labels:
        frame, label_columns = _join_labels(frame, Path(labels), labels_vocabulary, onto, warnings)
    if sentences:
        frame = _join_sentences(frame, Path(sentences))
    if not labels and not sentences:
        warnings.append("mimic-cxr: neither labels nor sentences given: images only")
    return SourceFrame("mimic-cxr", frame, label_columns, labels_vocabulary, warnings)


def _drop_test(root: Path, table: pd.DataFrame, include_test: bool, warnings: list[str]) -> pd.DataFrame:
    try:
        split_path = find_file(root, SPLIT, "split CSV")
    except InputError:
        warnings.append(f"mimic-cxr: no split CSV in {root}; the official test images are NOT removed")
        return table
    split = read_csv_text(split_path)
    require_columns(split, ("dicom_id", "split"), split_path)
    if include_test:
        return table
    test = set(split.loc[split["split"] == "test", "dicom_id"])
    return table[~table["dicom_id"].isin(test)]


def study_key(value) -> str | None:
    """'s50414267', '50414267' and 50414267 all name the same study."""
    m = _STUDY.match(str(value).strip())
    return m.group(1) if m else None


def _join_labels(frame: pd.DataFrame, path: Path, vocabulary: str, onto,
                 warnings: list[str]) -> tuple[pd.DataFrame, list[str]]:
    table = read_csv_text(path)
    id_column, columns = table.columns[0], [c for c in table.columns[1:]]
    known = set(onto.vocabulary(vocabulary))
    unknown = [c for c in columns if c not in known]
    if unknown:
        raise InputError(f"{path}: column(s) {unknown} are not labels of vocabulary {vocabulary!r} "
                         f"(set labels_vocabulary to the one `cxr label` used)")
    values = parse_label_columns(table, columns, path)
    values.index = table[id_column].map(study_key)
    if values.index.isna().any():
        bad = table[id_column][values.index.isna()].iloc[0]
        raise InputError(f"{path}: id {bad!r} in column {id_column!r} is not a MIMIC study id like s50414267")
    values = values[~values.index.duplicated()]
    keys = frame["study_id"].map(study_key)
    has = keys.isin(values.index)
    if (~has).any():
        warnings.append(f"mimic-cxr: {int((~has).sum())} image(s) of studies without a labels row dropped")
    frame = frame[has.to_numpy()].reset_index(drop=True)
    joined = values.loc[keys[has].to_numpy()].reset_index(drop=True)
    return pd.concat([frame, joined], axis=1), columns


def _join_sentences(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"sentences file not found: {path}")
    table = pd.read_parquet(path, columns=None)
    require_columns(table, ("id", "sentence_index", "text"), path)
    table = table.assign(_key=table["id"].map(study_key)).sort_values(["_key", "sentence_index"])
    grouped = table.groupby("_key")["text"].agg(list)
    frame = frame.copy()
    frame["sentences"] = [grouped.get(k, []) for k in frame["study_id"].map(study_key)]
    return frame
