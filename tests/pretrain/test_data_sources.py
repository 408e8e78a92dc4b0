"""Source readers on tiny fixtures written in each dataset's official file format."""
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr.core.errors import InputError
from cxr.pretrain.data.sources import SOURCES, read_source
from tests.datasets.official_files import write_data_entry, write_mimic_jpg, write_padchest, write_text
from tests.pretrain.data_helpers import FIXTURE_ONTOLOGY, fixture_ontology

ONTO = fixture_ontology()


def _mimic(root):
    write_mimic_jpg(root)
    write_text(root / "labels.csv", """
study,cardiomegaly,pleural effusion,nodule
s50414267,1,,0
s50414268,,1,
s50414270,0,-1,
""")
    pd.DataFrame({"id": ["s50414267", "s50414267", "s50414270"], "sentence_index": [1, 0, 0],
                  "text": ["Heart is enlarged.", "PA and lateral views.", "Possible effusion."],
                  "labels": [["cardiomegaly"], [], []]}).to_parquet(root / "sentences.parquet")


def test_mimic_reader(tmp_path):
    _mimic(tmp_path)
    sf = read_source("mimic-cxr", tmp_path, ONTO, labels=str(tmp_path / "labels.csv"),
                     sentences=str(tmp_path / "sentences.parquet"))
    f = sf.frame
    # lateral d2 dropped, test-split d3 dropped, d4 has no labels row (no report): dropped.
    assert f["path"].tolist() == [str(tmp_path / "files/p10/p10000032/s50414267/d1.jpg"),
                                  str(tmp_path / "files/p10/p10000035/s50414270/d5.jpg")]
    assert f["patient_id"].tolist() == ["10000032", "10000035"] and f["view"].tolist() == ["PA", "AP"]
    assert f["cardiomegaly"].tolist() == [1.0, 0.0] and np.isnan(f["pleural effusion"].iloc[0])
    assert f["sentences"].iloc[0] == ["PA and lateral views.", "Heart is enlarged."]   # by sentence_index
    assert sf.label_columns == ["cardiomegaly", "pleural effusion", "nodule"] and sf.vocabulary == "padchest"
    assert any("without a labels row" in w for w in sf.warnings)
    with_test = read_source("mimic-cxr", tmp_path, ONTO, labels=str(tmp_path / "labels.csv"), include_test=True)
    assert "10000033" in set(with_test.frame["patient_id"])


def test_mimic_reader_errors(tmp_path):
    with pytest.raises(InputError, match="MIMIC-CXR-JPG metadata CSV not found"):
        read_source("mimic-cxr", tmp_path, ONTO)
    _mimic(tmp_path)
    write_text(tmp_path / "bad.csv", "study,cardiomegally\ns1,1")
    with pytest.raises(InputError, match=r"\['cardiomegally'\] are not labels of vocabulary 'padchest'"):
        read_source("mimic-cxr", tmp_path, ONTO, labels=str(tmp_path / "bad.csv"))


def test_chexpert_reader(tmp_path):
    root = tmp_path / "CheXpert-v1.0-small"
    write_text(root / "train.csv", """
Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Cardiomegaly,Lung Lesion,Pleural Effusion,Support Devices
CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,,,0.0,1.0
CheXpert-v1.0-small/train/patient00002/study2/view1_frontal.jpg,Female,87,Frontal,AP,,-1.0,1.0,-1.0,
CheXpert-v1.0-small/train/patient00002/study2/view2_lateral.jpg,Female,87,Lateral,,,-1.0,1.0,-1.0,
CheXpert-v1.0-small/train/patient00003/study1/view1_frontal.jpg,Male,41,Frontal,PA,,,,,
""")
    sf = read_source("chexpert", root, ONTO)
    f = sf.frame
    assert len(f) == 3 and f["path"].iloc[0] == str(tmp_path / "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg")
    assert f["patient_id"].tolist() == ["patient00001", "patient00002", "patient00003"]
    assert f["study_id"].iloc[1] == "patient00002/study2" and f["view"].tolist() == ["AP", "AP", "PA"]
    assert f["Cardiomegaly"].iloc[1] == -1.0 and np.isnan(f["Cardiomegaly"].iloc[0])
    assert sf.vocabulary == "chexpert" and "Sex" not in sf.label_columns


def test_padchest_reader(tmp_path):
    write_padchest(tmp_path)
    sf = read_source("padchest", tmp_path, ONTO)
    f = sf.frame
    assert f["path"].tolist() == [str(tmp_path / "0/a.png"), str(tmp_path / "1/c.png"), str(tmp_path / "2/f.png")]
    assert f["view"].tolist() == ["PA", "AP", "PA"] and f["patient_id"].tolist() == ["pat1", "pat2", "pat5"]
    assert f["pleural effusion"].iloc[0] == 1.0 and f["lobar atelectasis"].iloc[0] == 1.0
    assert np.isnan(f["cardiomegaly"].iloc[0])                          # unlisted = not mentioned
    assert f["normal"].iloc[1] == 1.0 and f["cardiomegaly"].iloc[2] == 1.0
    assert any("'exclude' or no label list" in w for w in sf.warnings)
    assert any("kyphosis and more" in w for w in sf.warnings)
    neg = read_source("padchest", tmp_path, ONTO, unlisted="negative").frame
    assert neg["cardiomegaly"].iloc[0] == 0.0


def test_chestxray14_reader(tmp_path):
    write_data_entry(tmp_path)
    sf = read_source("chestxray14", tmp_path, ONTO)
    f = sf.frame
    assert f["path"].iloc[0] == str(tmp_path / "images/00000001_000.png")
    assert f["Effusion"].tolist() == [0.0, 1.0, 0.0, 0.0] and f["Pleural Thickening"].iloc[3] == 1.0
    assert any("Hernia" in w for w in sf.warnings)


def test_generic_reader_resolves_paths_and_names_source(tmp_path):
    (tmp_path / "data").mkdir()
    pd.DataFrame({"path": ["x/a.png", "/abs/b.png"], "patient_id": ["1", "2"], "cardiomegaly": [1, 0],
                  "report": ["Big heart.", "Normal."]}).to_csv(tmp_path / "data" / "mine.csv", index=False)
    sf = read_source("manifest", tmp_path / "data" / "mine.csv", ONTO)
    assert sf.frame["path"].tolist() == [str(tmp_path / "data/x/a.png"), "/abs/b.png"]
    assert (sf.frame["source"] == "mine").all() and sf.label_columns == ["cardiomegaly"]


def test_registry_errors_list_choices(tmp_path):
    assert {"mimic-cxr", "chexpert", "padchest", "chestxray14", "manifest"} <= set(SOURCES)
    with pytest.raises(InputError, match="unknown source 'mimic'; known: .*mimic-cxr"):
        read_source("mimic", tmp_path, ONTO)
    with pytest.raises(InputError, match="no option\\(s\\) label; it accepts: labels, sentences"):
        read_source("mimic-cxr", tmp_path, ONTO, label="x")


def test_cli_manifest_mixes_sources(tmp_path):
    from cxr.cli.main import app

    root = tmp_path / "CheXpert-v1.0-small"
    write_text(root / "train.csv", """
Path,Sex,Age,Frontal/Lateral,AP/PA,Cardiomegaly,Lung Lesion
CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg,Female,68,Frontal,AP,1.0,1.0
""")
    _mimic(tmp_path / "mimic")
    out = tmp_path / "mix.parquet"
    result = CliRunner().invoke(app, [
        "manifest", f"chexpert:{root}", f"mimic-cxr:{tmp_path / 'mimic'},labels={tmp_path / 'mimic/labels.csv'},frontal_only=false",
        "-o", str(out), "--label-space", "dlilp", "--ontology", str(FIXTURE_ONTOLOGY), "--relative-to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    mix = pd.read_parquet(out)
    assert mix["source"].tolist() == ["chexpert", "mimic-cxr", "mimic-cxr", "mimic-cxr"]   # lateral d2 kept
    assert mix["path"].iloc[0] == "CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg"
    assert "nodule" in mix["not_annotated"].iloc[0] and "nodule" not in mix["not_annotated"].iloc[1]
    assert "chexpert: 1 images" in result.output
    bad = CliRunner().invoke(app, ["manifest", "chexpert", "-o", str(out), "--ontology", str(FIXTURE_ONTOLOGY)])
    assert bad.exit_code == 2 and "expected NAME:ROOT" in bad.output
