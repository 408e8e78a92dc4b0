"""Source readers on tiny fixtures written in each dataset's official file format."""
import gzip

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr.core.errors import InputError
from cxr.pretrain.data.sources import SOURCES, read_source
from tests.pretrain.data_helpers import FIXTURE_ONTOLOGY, fixture_ontology

ONTO = fixture_ontology()


def _csv(path, text, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.strip().encode() + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _mimic(root):
    _csv(root / "mimic-cxr-2.0.0-metadata.csv.gz", """
dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning
d1,10000032,50414267,CHEST (PA AND LAT),PA,3056,2544,21800506,213014.531,CHEST (PA AND LAT),postero-anterior,Erect
d2,10000032,50414267,CHEST (PA AND LAT),LATERAL,3056,2544,21800506,213014.531,CHEST (PA AND LAT),lateral,Erect
d3,10000033,50414268,CHEST (PORTABLE AP),AP,2539,3050,21800507,101010.000,CHEST (PORTABLE AP),antero-posterior,Erect
d4,10000034,50414269,CHEST (PA AND LAT),PA,3056,2544,21800508,101010.000,CHEST (PA AND LAT),postero-anterior,Erect
d5,10000035,50414270,CHEST (PORTABLE AP),AP,3056,2544,21800508,101010.000,CHEST (PORTABLE AP),antero-posterior,Erect
""", gz=True)
    _csv(root / "mimic-cxr-2.0.0-split.csv.gz", """
dicom_id,study_id,subject_id,split
d1,50414267,10000032,train
d2,50414267,10000032,train
d3,50414268,10000033,test
d4,50414269,10000034,validate
d5,50414270,10000035,train
""", gz=True)
    _csv(root / "labels.csv", """
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
    _csv(tmp_path / "bad.csv", "study,cardiomegally\ns1,1")
    with pytest.raises(InputError, match=r"\['cardiomegally'\] are not labels of vocabulary 'padchest'"):
        read_source("mimic-cxr", tmp_path, ONTO, labels=str(tmp_path / "bad.csv"))


def test_chexpert_reader(tmp_path):
    root = tmp_path / "CheXpert-v1.0-small"
    _csv(root / "train.csv", """
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
    _csv(tmp_path / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv", """
ImageID,ImageDir,StudyDate_DICOM,StudyID,PatientID,PatientBirth,PatientSex_DICOM,ViewPosition_DICOM,Projection,MethodProjection,Report,MethodLabel,Labels,Localizations
a.png,0,20150311,st1,pat1,1950,M,POSTEROANTERIOR,PA,Manual review of DICOM fields,derrame pleural,Physician,"['pleural effusion', ' lobar atelectasis']",[]
b.png,0,20150311,st1,pat1,1950,M,LATERAL,L,Manual review of DICOM fields,derrame pleural,Physician,"['pleural effusion']",[]
c.png,1,20150312,st2,pat2,1960,F,AP,AP_horizontal,Manual review of DICOM fields,normal,RNN_model,['normal'],[]
d.png,1,20150313,st3,pat3,1960,F,PA,PA,Manual review of DICOM fields,x,RNN_model,['exclude'],[]
e.png,1,20150314,st4,pat4,1960,F,PA,PA,Manual review of DICOM fields,x,RNN_model,,[]
f.png,2,20150315,st5,pat5,1970,M,PA,PA,Manual review of DICOM fields,x,RNN_model,"['kyphosis and more', 'cardiomegaly']",[]
""")
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
    _csv(tmp_path / "Data_Entry_2017_v2020.csv", """
Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]
00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.143,0.143
00000001_001.png,Cardiomegaly|Effusion,1,1,58,M,PA,2894,2729,0.143,0.143
00000002_000.png,No Finding,0,2,80,M,AP,2500,2048,0.168,0.168
00000003_000.png,Pleural_Thickening|Hernia,0,3,74,F,PA,2500,2048,0.168,0.168
""")
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
    _csv(root / "train.csv", """
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
