"""MIMIC-CXR-JPG reader: the official metadata and split, joined with the labels and sentences that
``cxr label`` wrote for the reports."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.datasets import mimic_cxr
from cxr.datasets.files import find_file, read_csv_text, require_columns
from cxr.datasets.values import parse_label_columns
from cxr.pretrain.data.sources.base import SourceFrame, register_source, rows

NAME = mimic_cxr.NAME


@register_source(NAME)
def read_mimic_cxr(root: Path, *, onto, labels: str | None = None, sentences: str | None = None,
                   labels_vocabulary: str = "padchest", frontal_only: bool = True,
                   include_test: bool = False) -> SourceFrame:
    """MIMIC-CXR-JPG (``cxr.datasets.mimic_cxr``: citation, download page, layout of ``root``).

    Labels and text come from running ``cxr label`` on the reports (MIMIC-CXR, not -JPG, ships them):
    ``labels`` = its labels.csv (first column the study id, 's50414267' or '50414267'; label columns in
    ``labels_vocabulary``), ``sentences`` = its ``--sentences`` Parquet (id, sentence_index, text).
    Studies without a labels row are dropped (their report is missing). Rows of the official test
    split are dropped unless ``include_test`` (they stay available for evaluation); the validation
    split for pre-training is drawn by ``cxr prepare``, by patient. ``frontal_only`` keeps PA and AP.
    NaN = not mentioned in the report.
    """
    table = mimic_cxr.read_metadata(find_file(root, mimic_cxr.METADATA, "MIMIC-CXR-JPG metadata CSV"))
    warnings: list[str] = []
    table = _drop_test(root, table, include_test, warnings)
    if frontal_only:
        table = table[table["frontal"]]
    frame = rows(NAME, table.reset_index(drop=True), root)
    label_columns: list[str] = []
    if labels:
        frame, label_columns = _join_labels(frame, Path(labels), labels_vocabulary, onto, warnings)
    if sentences:
        frame = _join_sentences(frame, Path(sentences))
    if not labels and not sentences:
        warnings.append(f"{NAME}: neither labels nor sentences given: images only")
    return SourceFrame(NAME, frame, label_columns, labels_vocabulary, warnings)


def _drop_test(root: Path, table: pd.DataFrame, include_test: bool, warnings: list[str]) -> pd.DataFrame:
    try:
        split_path = find_file(root, mimic_cxr.SPLIT, "split CSV")
    except InputError:
        warnings.append(f"{NAME}: no split CSV in {root}; the official test images are NOT removed")
        return table
    split = mimic_cxr.read_split(split_path)
    if include_test:
        return table
    test = set(split.loc[split["split"] == mimic_cxr.TEST, "dicom_id"])
    return table[~table["dicom_id"].isin(test)]


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
    values.index = table[id_column].map(mimic_cxr.study_key)
    if values.index.isna().any():
        bad = table[id_column][values.index.isna()].iloc[0]
        raise InputError(f"{path}: id {bad!r} in column {id_column!r} is not a MIMIC study id like s50414267")
    values = values[~values.index.duplicated()]
    keys = frame["study_id"].map(mimic_cxr.study_key)
    has = keys.isin(values.index)
    if (~has).any():
        warnings.append(f"{NAME}: {int((~has).sum())} image(s) of studies without a labels row dropped")
    frame = frame[has.to_numpy()].reset_index(drop=True)
    joined = values.loc[keys[has].to_numpy()].reset_index(drop=True)
    return pd.concat([frame, joined], axis=1), columns


def _join_sentences(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"sentences file not found: {path}")
    table = pd.read_parquet(path, columns=None)
    require_columns(table, ("id", "sentence_index", "text"), path)
    table = table.assign(_key=table["id"].map(mimic_cxr.study_key)).sort_values(["_key", "sentence_index"])
    grouped = table.groupby("_key")["text"].agg(list)
    frame = frame.copy()
    frame["sentences"] = [grouped.get(k, []) for k in frame["study_id"].map(mimic_cxr.study_key)]
    return frame
