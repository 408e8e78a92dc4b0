"""Demo stages 1-3: phantom corpus -> labeler -> pre-training manifest -> image cache.

Each stage calls the same library function as its CLI command (``cxr synth``, ``cxr label``,
``cxr prepare``), so the demo exercises the real code path, only with phantom data.

The novel finding is drawn in the pre-training images and named in their reports (as MIMIC reports name
findings outside any label set), but it is never a pre-training label: the manifest's label columns
are the base findings only. Zero-shot on it therefore measures transfer through text, not labels.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cxr.core.errors import InputError
from cxr.core.progress import Progress, null_progress

REPORTS, TRUTH, LABELS, SENTENCES, MANIFEST, CACHE = (
    "reports.csv", "truth.csv", "labels.csv", "sentences.parquet", "manifest.csv", "cache")
ID = "study_id"


def make_phantoms(out: Path, n: int, size: int, seed: int, progress: Progress = null_progress) -> pd.DataFrame:
    """images/*.png + reports.csv (input of the labeler) + truth.csv (what each phantom really shows)."""
    from cxr.pretrain.synthetic import ALL_FINDINGS, SynthConfig, generate, write_corpus

    corpus = generate(n, SynthConfig(size=size, seed=seed, findings=tuple(ALL_FINDINGS)), progress)
    write_corpus(corpus, out, progress)
    # write_corpus names its ground truth manifest.csv; the demo's manifest.csv is built from the
    # labeler's output instead (as with real reports), so keep the truth under its own name.
    os.replace(out / "manifest.csv", out / TRUTH)
    return corpus.manifest


def label_reports(out: Path, progress: Progress = null_progress):
    """labels.csv + sentences.parquet from reports.csv, exactly as ``cxr label`` does."""
    from cxr.labeler.engine import Labeler
    from cxr.labeler.ontology import load_ontology
    from cxr.labeler.reader import open_reports
    from cxr.labeler.runner import label_reports as run_labeler

    labeler = Labeler(load_ontology())
    source = open_reports(out / REPORTS, text_column="report", id_column=ID)
    # One worker: the labeler forks its workers, and forking a process that may already hold torch
    # threads (the test suite, a notebook) can deadlock; a demo corpus labels in seconds anyway.
    return run_labeler(source, out / LABELS, labeler, id_column=ID, vocabulary="padchest",
                       sentences_out=out / SENTENCES, workers=1, progress=progress)


def build_manifest(out: Path, label_names: tuple[str, ...]) -> pd.DataFrame:
    """manifest.csv: phantom images with the labeler's values for ``label_names`` and its sentences."""
    from cxr.pretrain.data.manifest import write_manifest

    truth = pd.read_csv(out / TRUTH, dtype={ID: str, "patient_id": str})
    labels = pd.read_csv(out / LABELS, dtype={ID: str})
    missing = [n for n in label_names if n not in labels.columns]
    if missing:
        raise InputError(f"{out / LABELS} lacks label column(s) {missing}")
    sentences = pd.read_parquet(out / SENTENCES).sort_values(["id", "sentence_index"])
    by_study = sentences.groupby("id", sort=False)["text"].apply(list).to_dict()
    frame = truth[["path", "patient_id", ID, "source", "view", "report"]].merge(
        labels[[ID, *label_names]], on=ID, how="left", validate="one_to_one")
    frame["sentences"] = [by_study.get(s, []) for s in frame[ID]]
    write_manifest(frame, out / MANIFEST)
    return frame


def prepare_cache(out: Path, size: int, seed: int, progress: Progress = null_progress):
    """cache/ from manifest.csv, as ``cxr prepare`` does (patient-level validation split)."""
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache as run_prepare

    config = PrepareConfig(size=size, workers=1, val_fraction=0.1, split_seed=seed, overwrite=True)
    return run_prepare(out / MANIFEST, out / CACHE, config, progress)


def labeler_agreement(out: Path, findings: tuple[str, ...]) -> pd.DataFrame:
    """Per finding: how the labeler's positives compare with what the phantom shows.

    recall = share of phantoms showing the finding that the labeler called positive (hedged reports
    give -1, which counts as not positive here); precision = share of labeler positives that show it.
    """
    truth = pd.read_csv(out / TRUTH, dtype={ID: str})
    labels = pd.read_csv(out / LABELS, dtype={ID: str}).set_index(ID).reindex(truth[ID])
    rows = []
    for f in findings:
        shown = truth[f].to_numpy() == 1
        called = labels[f].to_numpy() == 1
        rows.append({"finding": f, "shown": int(shown.sum()), "labeled_positive": int(called.sum()),
                     "uncertain": int((labels[f].to_numpy() == -1).sum()),
                     "recall": float((shown & called).sum() / max(shown.sum(), 1)),
                     "precision": float((shown & called).sum() / max(called.sum(), 1))})
    return pd.DataFrame(rows)
