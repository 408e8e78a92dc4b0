"""Mixing sources into one training label space: the heart of the paper's data mix.

Each source annotates its own vocabulary (PadChest names, CheXpert-14, ...). For every label of the
chosen label space and every source we decide, once, whether the source can say anything about it:

1. same vocabulary: the column itself;
2. a source column with the same name (case-insensitive): copied, as the paper maps CheXpert's
   'Pleural Effusion' onto 'pleural effusion';
3. otherwise, through the ontology: each vocabulary label *means* a set of ontology labels (a
   projection's sources, or itself); a target is derived when source columns whose meanings lie
   inside the target's meaning cover it completely, combined by precedence (1 > -1 > 0);
4. otherwise the source does not annotate the target: values NaN and the label is listed in the
   row's ``not_annotated``, so the trainer masks it for that source instead of reading "negative".

Rule 3 is what lets a PadChest-named source feed 'support devices' (pacemaker, catheter, ...) while a
CheXpert source never claims 'nodule' from its broader 'Lung Lesion'.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from cxr.core.errors import InputError
from cxr.labeler.ontology import combine_columns
from cxr.pretrain.data.manifest import ANNOTATION_SEP, ID_COLUMNS, META_PREFIX, TEXT_COLUMNS
from cxr.pretrain.data.sources.base import SourceFrame


def meanings(onto, vocabulary: str) -> dict[str, frozenset[str]]:
    """Each label of ``vocabulary`` as the set of ontology labels it stands for."""
    return {t: frozenset(srcs) for t, srcs in onto.projection(vocabulary).targets.items()}


def plan_target(target: str, target_meaning: frozenset[str], same_vocabulary: bool,
                annotated: list[str], source_meanings: dict[str, frozenset[str]]) -> list[str]:
    """The source columns that determine ``target`` ([] = not annotated by this source)."""
    if same_vocabulary:
        return [target] if target in annotated else []
    by_name = {c.casefold(): c for c in annotated}
    if target.casefold() in by_name:
        return [by_name[target.casefold()]]
    inside = [c for c in annotated if source_meanings.get(c) and source_meanings[c] <= target_meaning]
    covered = frozenset().union(*(source_meanings[c] for c in inside)) if inside else frozenset()
    return inside if inside and covered == target_meaning else []


def propagate_up(frame: pd.DataFrame, columns: list[str], onto) -> pd.DataFrame:
    """Positive and uncertain findings imply their ancestors (lobar atelectasis -> atelectasis).

    The labeler already does this; raw dataset labels (PadChest's lists) may name only the leaf.
    A negative child says nothing about its parent, so negatives do not propagate.
    """
    present = set(columns)
    out = frame.copy()
    for child in columns:
        if child not in onto:
            continue
        child_values = out[child].to_numpy(dtype=np.float32)
        carries = np.where(np.isin(child_values, (1.0, -1.0)), child_values, np.nan)
        for parent in onto.ancestors(child):
            if parent in present:
                both = np.stack([out[parent].to_numpy(dtype=np.float32), carries], axis=1)
                out[parent] = combine_columns(both)
    return out


def build_label_matrix(frames: list[SourceFrame], label_space: str, onto,
                       labels: list[str] | None = None) -> pd.DataFrame:
    """Concatenate sources into one manifest whose label columns are ``label_space`` (a vocabulary
    name; ``labels`` picks a subset of it), with ``not_annotated`` per row."""
    if not frames:
        raise InputError("no sources to combine")
    space = meanings(onto, label_space)
    targets = labels or list(space)
    unknown = [t for t in targets if t not in space]
    if unknown:
        raise InputError(f"label(s) {unknown} are not in vocabulary {label_space!r}")
    parts = [_project_source(sf, label_space, targets, space, onto) for sf in frames]
    out = pd.concat(parts, ignore_index=True)
    return out[_column_order(out, targets)]


def _project_source(sf: SourceFrame, label_space: str, targets: list[str],
                    space: dict[str, frozenset[str]], onto) -> pd.DataFrame:
    source_meanings = meanings(onto, sf.vocabulary)
    unknown = [c for c in sf.label_columns if c not in source_meanings]
    if unknown:
        raise InputError(f"source {sf.name!r}: label column(s) {unknown} are not in its vocabulary "
                         f"{sf.vocabulary!r}")
    frame = sf.frame.reset_index(drop=True)
    if onto.projection(sf.vocabulary).identity:   # only the ontology's own names carry its hierarchy
        frame = propagate_up(frame, sf.label_columns, onto)
    groups = frame.get("not_annotated", pd.Series("", index=frame.index)).fillna("")
    pieces = []
    for missing, rows in frame.groupby(groups, sort=False):
        skip = set(filter(None, str(missing).split(ANNOTATION_SEP)))
        annotated = [c for c in sf.label_columns if c not in skip]
        pieces.append(_project_rows(rows, sf, label_space, targets, space, source_meanings, annotated))
    return pd.concat(pieces).loc[frame.index]


def _project_rows(rows: pd.DataFrame, sf: SourceFrame, label_space: str, targets: list[str],
                  space: dict[str, frozenset[str]], source_meanings: dict[str, frozenset[str]],
                  annotated: list[str]) -> pd.DataFrame:
    keep = [c for c in rows.columns if c in ID_COLUMNS or c in TEXT_COLUMNS or c == "split"
            or str(c).startswith(META_PREFIX)]
    out = rows[keep].copy()
    out["source"] = rows["source"] if "source" in rows.columns else sf.name
    not_annotated, columns = [], {}
    for target in targets:
        cols = plan_target(target, space[target], sf.vocabulary == label_space, annotated, source_meanings)
        if cols:
            columns[target] = combine_columns(rows[cols].to_numpy(dtype=np.float32))
        else:
            columns[target] = np.full(len(rows), np.nan, dtype=np.float32)
            not_annotated.append(target)
    # One concat, not a column insert per label: ~200 inserts fragment the frame (slow, and pandas warns).
    out = pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)
    out["not_annotated"] = ANNOTATION_SEP.join(not_annotated)
    return out


def _column_order(frame: pd.DataFrame, targets: list[str]) -> list[str]:
    head = [c for c in (*ID_COLUMNS, "split") if c in frame.columns]
    meta = [c for c in frame.columns if str(c).startswith(META_PREFIX)]
    text = [c for c in TEXT_COLUMNS if c in frame.columns]
    return [*head, *targets, "not_annotated", *text, *meta]


def annotation_coverage(frame: pd.DataFrame, targets: list[str]) -> dict[str, dict[str, int]]:
    """Rows annotated per (source, label): for the CLI's summary and the cache meta."""
    out: dict[str, dict[str, int]] = {}
    groups = frame["not_annotated"].fillna("") if "not_annotated" in frame.columns else pd.Series("", index=frame.index)
    for (source, missing), rows in frame.groupby([frame["source"], groups], sort=False):
        skip = set(filter(None, str(missing).split(ANNOTATION_SEP)))
        counts = out.setdefault(str(source), {t: 0 for t in targets})
        for t in targets:
            if t not in skip:
                counts[t] += len(rows)
    return out
