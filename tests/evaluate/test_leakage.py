"""Leakage checks match a task's dataset to a manifest's ``source`` by registered name, never by a guess."""
from __future__ import annotations

import pandas as pd
import pytest

from cxr.core.errors import CxrError
from cxr.evaluate.leakage import read_patient_ids
from cxr.evaluate.tasks.base import BenchmarkTask
from cxr.evaluate.tasks.build import SplitRequest, build_split
from tests.datasets.official_files import write_mimic

SMALL = dict(train_per_class=3, test_per_class=2)


def _manifest(path, rows):
    pd.DataFrame(rows, columns=["path", "patient_id", "source"]).to_csv(path, index=False)
    return str(path)


def test_a_mimic_task_is_checked_against_the_manifest_rows_of_mimic_cxr(tmp_path):
    folder = write_mimic(tmp_path / "mimic")
    used = sorted(set(build_split(SplitRequest("mimic5x200", [str(folder)], **SMALL)).frame["patient_id"]))
    manifest = _manifest(tmp_path / "mix.csv", [
        ("a.jpg", f"p{used[0]}", "mimic-cxr"),      # the folder spelling of a split patient
        ("b.jpg", used[1], "chexpert"),             # the same number in another dataset: another person
        ("c.jpg", "1", "padchest")])
    with pytest.raises(CxrError, match=rf"1 patient\(s\) of this split are in the pre-training manifest .*{used[0]}"):
        build_split(SplitRequest("mimic5x200", [str(folder)], pretrain_manifest=manifest, **SMALL))
    kept = build_split(SplitRequest("mimic5x200", [str(folder)], pretrain_manifest=manifest,
                                    allow_overlap=True, **SMALL))
    assert kept.overlap == [used[0]]
    excluded = build_split(SplitRequest("mimic5x200", [str(folder)], pretrain_manifest=manifest,
                                        exclude_patients=[manifest], **SMALL))
    assert used[0] not in set(excluded.frame["patient_id"]) and excluded.overlap == []


def test_rows_of_a_source_name_that_is_not_registered_are_named_not_matched(tmp_path):
    folder = write_mimic(tmp_path / "mimic")
    used = sorted(set(build_split(SplitRequest("mimic5x200", [str(folder)], **SMALL)).frame["patient_id"]))
    # 'mimic' is not the registered 'mimic-cxr': no guess makes it one, and the user is told so.
    manifest = _manifest(tmp_path / "mix.csv", [("a.jpg", used[0], "mimic"), ("b.jpg", used[1], "mimic"),
                                                ("c.jpg", "7", "chexpert"), ("d.jpg", used[2], "mimic-cxr")])
    with pytest.raises(CxrError, match=rf"1 patient\(s\) of this split .*{used[2]}"):
        build_split(SplitRequest("mimic5x200", [str(folder)], pretrain_manifest=manifest, **SMALL))
    built = build_split(SplitRequest("mimic5x200", [str(folder)], pretrain_manifest=manifest,
                                     allow_overlap=True, **SMALL))
    assert built.overlap == [used[2]]
    note, = built.notes
    assert "'mimic' (2 rows) are not registered datasets" in note and "dataset 'mimic-cxr'" in note
    assert "mimic-cxr (MIMIC-CXR-JPG)" in note and built.meta["leakage_notes"] == [note]
    excluded = build_split(SplitRequest("mimic5x200", [str(folder)], exclude_patients=[manifest], **SMALL))
    assert used[0] in set(excluded.frame["patient_id"]) and "'mimic' (2 rows)" in excluded.notes[0]


def test_patient_lists_without_a_source_count_for_every_dataset(tmp_path):
    (tmp_path / "ids.txt").write_text("p10000032\n")
    table = _manifest(tmp_path / "ids.csv", [("a.jpg", "00000007", "chestxray14"), ("b.jpg", "8", "rsna")])
    assert read_patient_ids(tmp_path / "ids.txt", "rsna") == {"10000032"}
    assert read_patient_ids(table) == {"7", "8"}
    assert read_patient_ids(table, "chestxray14") == {"7"}


def test_an_unregistered_dataset_name_fails_loudly():
    with pytest.raises(CxrError, match="unknown dataset 'mimic'; known: .*mimic-cxr"):
        read_patient_ids("unused.txt", "mimic")
    with pytest.raises(CxrError, match="unknown dataset 'nih'; known: .*chestxray14"):
        class Guessed(BenchmarkTask):   # noqa: F841  (the declaration itself must fail)
            dataset = "nih"
