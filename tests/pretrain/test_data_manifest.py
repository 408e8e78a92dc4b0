"""Manifest reading: every malformed input is one clear error naming file, row and column."""

import numpy as np
import pandas as pd
import pytest

from cxr.core.errors import InputError
from cxr.pretrain.data.manifest import ManifestOptions, read_manifest, write_manifest
from tests.pretrain.data_helpers import fixture_ontology

ONTO = fixture_ontology()


def _write(tmp_path, rows, name="m.csv"):
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_reads_ids_as_text_and_labels_as_float(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "007", "cardiomegaly": 1, "pleural effusion": ""},
                             {"path": "b.png", "patient_id": "008", "cardiomegaly": -1, "pleural effusion": 0}])
    m = read_manifest(path, onto=ONTO)
    assert list(m.frame["patient_id"]) == ["007", "008"]          # zeros kept
    assert m.label_columns == ["cardiomegaly", "pleural effusion"]
    assert m.frame["pleural effusion"].isna().tolist() == [True, False]
    assert m.frame["cardiomegaly"].dtype == np.float32
    assert m.vocabulary == "padchest"
    assert len(m.sha256) == 64


def test_missing_path_column_lists_columns(tmp_path):
    path = _write(tmp_path, [{"file": "a.png", "patient_id": "1"}])
    with pytest.raises(InputError, match=r"required column 'path' missing; columns: file, patient_id"):
        read_manifest(path, onto=ONTO)


def test_missing_patient_ids_explains_and_offers_ways_out(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "subject": "1", "study_id": "s1"}])
    with pytest.raises(InputError, match="no 'patient_id' column.*--patient-column.*--no-patient-ids"):
        read_manifest(path, onto=ONTO)
    renamed = read_manifest(path, ManifestOptions(patient_column="subject"), onto=ONTO)
    assert renamed.frame["patient_id"].tolist() == ["1"]


def test_no_patient_ids_uses_study_with_warning(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "study_id": "s1"}, {"path": "b.png", "study_id": "s1"}])
    m = read_manifest(path, ManifestOptions(no_patient_ids=True), onto=ONTO)
    assert m.frame["patient_id"].tolist() == ["s1", "s1"]
    assert any("no patient ids" in w for w in m.warnings)


def test_unknown_label_columns_are_named(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "cardiomegally": 1, "Age": 50, "meta_age": 50}])
    with pytest.raises(InputError) as err:
        read_manifest(path, onto=ONTO)
    assert "'cardiomegally', 'Age'" in str(err.value) and "meta_" in str(err.value)


def test_vocabulary_option_restricts_label_names(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "Pleural Effusion": 1}])
    assert read_manifest(path, onto=ONTO).vocabulary == "chexpert"
    with pytest.raises(InputError, match="vocabulary 'padchest'"):
        read_manifest(path, ManifestOptions(vocabulary="padchest"), onto=ONTO)


def test_bad_label_value_names_row_line_and_column(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "cardiomegaly": 1},
                             {"path": "b.png", "patient_id": "2", "cardiomegaly": "yes"}])
    with pytest.raises(InputError, match=r"row 2, line 3: column 'cardiomegaly': value 'yes'"):
        read_manifest(path, onto=ONTO)
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "cardiomegaly": 2}], "two.csv")
    with pytest.raises(InputError, match="value '2'"):
        read_manifest(path, onto=ONTO)


def test_duplicate_paths_and_empty_ids_rejected(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1"}, {"path": "a.png", "patient_id": "2"}])
    with pytest.raises(InputError, match="2 rows share a path"):
        read_manifest(path, onto=ONTO)
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1"}, {"path": "b.png", "patient_id": ""}], "e.csv")
    with pytest.raises(InputError, match="row 2, line 3: empty 'patient_id'"):
        read_manifest(path, onto=ONTO)


def test_split_column_rules(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "split": "validate"},
                             {"path": "b.png", "patient_id": "2", "split": "train"}])
    assert read_manifest(path, onto=ONTO).frame["split"].tolist() == ["val", "train"]
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "split": "test"}], "t.csv")
    with pytest.raises(InputError, match="evaluation/test images must not enter pre-training"):
        read_manifest(path, onto=ONTO)


def test_sentences_round_trip_through_csv_and_parquet(tmp_path):
    frame = pd.DataFrame({"path": ["a.png", "b.png"], "patient_id": ["1", "2"],
                          "sentences": [["No effusion.", "Heart normal."], []], "cardiomegaly": [1.0, np.nan]})
    for name in ("m.csv", "m.parquet"):
        out = write_manifest(frame, tmp_path / name)
        m = read_manifest(out, onto=ONTO)
        assert m.frame["sentences"].tolist() == [["No effusion.", "Heart normal."], []]
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "sentences": "not json"}], "bad.csv")
    with pytest.raises(InputError, match="JSON list of strings"):
        read_manifest(path, onto=ONTO)


def test_not_annotated_must_name_label_columns(tmp_path):
    path = _write(tmp_path, [{"path": "a.png", "patient_id": "1", "cardiomegaly": 1, "not_annotated": "nodule"}])
    with pytest.raises(InputError, match=r"not_annotated' names \['nodule'\]"):
        read_manifest(path, onto=ONTO)


def test_unknown_format_and_empty_file(tmp_path):
    (tmp_path / "m.xlsx").write_text("x")
    with pytest.raises(InputError, match="unknown manifest format"):
        read_manifest(tmp_path / "m.xlsx", onto=ONTO)
    (tmp_path / "e.csv").write_text("path,patient_id\n")
    with pytest.raises(InputError, match="no rows"):
        read_manifest(tmp_path / "e.csv", onto=ONTO)
