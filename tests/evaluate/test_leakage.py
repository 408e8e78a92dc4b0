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


# --- `cxr eval run` against the patients an export was pre-trained on ---------------------------------
def _export_dir(tmp_path, patients=None, digest="abc"):
    """What the check reads of an export: config.json, weights file, and patients.json when given."""
    import json

    from cxr.datasets.patients import PatientTokens
    from cxr.pretrain.export import Preprocessing

    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    (folder / "config.json").write_text(json.dumps({
        "format": "cxr-export", "version": 2, "preprocess": Preprocessing(32, (0.5,) * 3, (0.5,) * 3).to_config(),
        "pretraining": {"manifest_sha256": None, "patients_sha256": digest}}))
    if patients is not None:
        sources, ids = zip(*patients)
        (folder / "patients.json").write_text(PatientTokens.from_ids(sources, ids).to_json())
    return {"source": "export", "path": str(folder)}


def _split(rows):
    from cxr.evaluate.splitfile import split_from_frame

    frame = pd.DataFrame(rows, columns=["path", "label", "split", "patient_id"])
    return split_from_frame(frame, where="task.csv", sha="0")


ROWS = [("a.png", "A", "train", "10000032"), ("b.png", "B", "train", "7"),
        ("c.png", "A", "test", "00001280"), ("d.png", "B", "test", "8")]


def test_tokens_match_any_spelling_of_an_id_and_do_not_ship_it(tmp_path):
    from cxr.datasets.patients import PatientTokens

    tokens = PatientTokens.from_ids(["mimic-cxr", "chestxray14"], ["p10000032", "1280"])
    text = tokens.to_json()
    assert "10000032" not in text and "1280" not in text                      # ids are not written down
    again = PatientTokens.read(_write(tmp_path / "p.json", text))
    assert again.matches(["10000032", "00001280", "99"]) == ["10000032", "00001280"]
    assert again.matches(["10000032", "00001280"], "chestxray14") == ["00001280"]   # that dataset only
    other_salt = PatientTokens.from_ids(["mimic-cxr"], ["p10000032"])
    assert other_salt.salt != tokens.salt and other_salt.matches(["10000032"]) == ["10000032"]


def _write(path, text):
    path.write_text(text)
    return path


def test_a_task_sharing_patients_with_pre_training_is_refused(tmp_path):
    from cxr.evaluate.leakage import check_pretraining_patients

    info = _export_dir(tmp_path, [("mimic-cxr", "p10000032"), ("chestxray14", "1280"), ("chexpert", "8")])
    with pytest.raises(CxrError, match=r"3 patient\(s\) of this split .*'00001280', '10000032', '8'.*--allow-overlap"):
        check_pretraining_patients(_split(ROWS), "mine", None, info, allow=False)
    # a benchmark task of one dataset: only that dataset's pre-training patients count
    with pytest.raises(CxrError, match=r"1 patient\(s\) .*dataset 'chestxray14'.*\['00001280'\]"):
        check_pretraining_patients(_split(ROWS), "nih", "chestxray14", info, allow=False)
    kept = check_pretraining_patients(_split(ROWS), "mine", None, info, allow=True)
    assert len(kept) == 1 and "3 patient(s)" in kept[0] and "inflated" in kept[0]
    assert check_pretraining_patients(_split(ROWS), "rsna", "rsna", info, allow=False) == []


def test_a_user_split_with_a_source_column_is_compared_row_by_row(tmp_path):
    """Ids of a private dataset that merely look like NIH's are not a match once the rows say their source."""
    from cxr.evaluate.leakage import check_pretraining_patients
    from cxr.evaluate.splitfile import split_from_frame

    info = _export_dir(tmp_path, [("mimic-cxr", "p10000032"), ("chestxray14", "1280"), ("chexpert", "8")])
    sources = ["mimic-cxr", "my-hospital", "my-hospital", "my-hospital"]
    frame = pd.DataFrame([r + (s,) for r, s in zip(ROWS, sources)],
                         columns=["path", "label", "split", "patient_id", "source"])
    with pytest.raises(CxrError, match=r"1 patient\(s\) of this split .*\['10000032'\]"):
        check_pretraining_patients(split_from_frame(frame, "task.csv", "0"), "mine", None, info, allow=False)
    frame["source"] = "my-hospital"
    notes = check_pretraining_patients(split_from_frame(frame, "task.csv", "0"), "mine", None, info, False)
    assert notes == ["mine: source(s) ['my-hospital'] had no patients in the encoder's pre-training data, "
                     "so those rows were not compared"]


def test_what_cannot_be_checked_is_said(tmp_path):
    from cxr.evaluate.leakage import check_pretraining_patients

    no_ids = _split([(p, c, s, "") for p, c, s, _ in ROWS])
    info = _export_dir(tmp_path / "a", [("mimic-cxr", "1")])
    assert "no patient_id column" in check_pretraining_patients(no_ids, "mine", None, info, False)[0]
    some = _split([(p, c, s, "" if s == "test" else i) for p, c, s, i in ROWS])
    assert check_pretraining_patients(some, "mine", None, info, False) == [
        "mine: 2 of 4 rows have no patient_id: their overlap with pre-training NOT checked"]
    lost = _export_dir(tmp_path / "b", None, digest="abc")            # trained on patients, file missing
    assert "NOT checked" in check_pretraining_patients(_split(ROWS), "mine", None, lost, False)[0]
    toy = _export_dir(tmp_path / "c", None, digest=None)             # toy data / untrained: no patients
    assert check_pretraining_patients(_split(ROWS), "mine", None, toy, False) == []
    assert check_pretraining_patients(_split(ROWS), "mine", None, {"source": "timm"}, False) == []


def test_eval_run_refuses_before_encoding_and_records_an_allowed_overlap(tmp_path):
    from cxr.evaluate.config import EvalConfig
    from cxr.evaluate.runner import run_evaluation
    from tests.evaluate.standins import QuadrantEncoder, handle, write_task

    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    model = QuadrantEncoder(None)
    enc = handle(model)
    enc.info = _export_dir(tmp_path, [("synthetic", "Atest0"), ("synthetic", "Btrain2")])
    cfg = EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["linear-probe"], shots=[1],
                     seeds=1, workers=0, device="cpu")
    with pytest.raises(CxrError, match=r"task: 2 patient\(s\)"):
        run_evaluation(cfg, encoder=enc)
    assert model.calls == 0
    cfg.allow_overlap = True
    result = run_evaluation(cfg, encoder=enc)
    assert result.rows and any("2 patient(s)" in w and "--allow-overlap" in w for w in result.provenance["warnings"])
