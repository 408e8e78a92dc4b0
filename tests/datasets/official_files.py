"""Tiny files in each public dataset's official format (columns, quirks, layout), written by the tests.

The benchmark writers (``WRITERS``, by task) return the folder to pass as ``--metadata``; rows are generated
so every class has enough images for a small quota, plus rows each task must *exclude* (lateral views, two
positives, uncertain-only, abnormal-not-pneumonia, ...). The pre-training writers (``write_mimic_jpg``,
``write_padchest``, ``write_data_entry``) copy a few real-looking rows, quirks included.
"""
from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

CHEXPERT_COLUMNS = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity",
                    "Lung Lesion", "Edema", "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax",
                    "Pleural Effusion", "Pleural Other", "Fracture", "Support Devices"]
FIVE = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Pleural Effusion"]


def _write_csv(path: Path, header, rows, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _chexpert_values(positive: str | None, extra_uncertain: str | None = None) -> list[str]:
    vals = {c: "" for c in CHEXPERT_COLUMNS}
    if positive:
        vals[positive] = "1.0"
    if extra_uncertain:
        vals[extra_uncertain] = "-1.0"
    return [vals[c] for c in CHEXPERT_COLUMNS]


def write_chexpert(root: Path, per_class: int = 8) -> Path:
    """CheXpert-v1.0-small/train.csv: two studies per patient, a lateral and a double-positive row each."""
    base = root / "CheXpert-v1.0-small"
    rows, pid = [], 0
    for cls in FIVE:
        for _ in range(per_class):
            pid += 1
            p = f"CheXpert-v1.0-small/train/patient{pid:05d}"
            rows.append([f"{p}/study1/view1_frontal.jpg", "Male", "60", "Frontal", "AP",
                         *_chexpert_values(cls, extra_uncertain="Pneumonia")])
            rows.append([f"{p}/study1/view2_lateral.jpg", "Male", "60", "Lateral", "",
                         *_chexpert_values(cls)])
            two = _chexpert_values(cls)
            two[CHEXPERT_COLUMNS.index("Edema" if cls != "Edema" else "Atelectasis")] = "1.0"
            rows.append([f"{p}/study2/view1_frontal.jpg", "Male", "61", "Frontal", "PA", *two])
    header = ["Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", *CHEXPERT_COLUMNS]
    _write_csv(base / "train.csv", header, rows)
    return base


def write_mimic(root: Path, per_class: int = 8) -> Path:
    """mimic-cxr-2.0.0-chexpert.csv.gz + metadata.csv.gz; each study has a PA and a LATERAL image."""
    labels, meta = [], []
    sid = 10000000
    for cls in FIVE:
        for j in range(per_class):
            sid += 1
            study = 50000000 + sid % 100000
            labels.append([str(sid), str(study), *_chexpert_values(cls)])
            meta.append([f"d{sid}a", str(sid), str(study), "CHEST (PA AND LAT)", "PA"])
            meta.append([f"d{sid}b", str(sid), str(study), "CHEST (PA AND LAT)", "LATERAL"])
    _write_csv(root / "mimic-cxr-2.0.0-chexpert.csv.gz", ["subject_id", "study_id", *CHEXPERT_COLUMNS],
               labels, gz=True)
    _write_csv(root / "mimic-cxr-2.0.0-metadata.csv.gz",
               ["dicom_id", "subject_id", "study_id", "PerformedProcedureStepDescription", "ViewPosition"],
               meta, gz=True)
    return root


def write_rsna(root: Path, n_pneumonia: int = 8, n_normal: int = 8, n_other: int = 4) -> Path:
    """stage_2_train_labels.csv (two box rows per pneumonia) + stage_2_detailed_class_info.csv."""
    boxes, detail = [], []
    for i in range(n_pneumonia):
        pid = f"pneu-{i:04d}"
        boxes += [[pid, "100", "120", "50", "60", "1"], [pid, "300", "120", "40", "60", "1"]]
        detail += [[pid, "Lung Opacity"], [pid, "Lung Opacity"]]
    for i in range(n_normal):
        boxes.append([f"norm-{i:04d}", "", "", "", "", "0"])
        detail.append([f"norm-{i:04d}", "Normal"])
    for i in range(n_other):
        boxes.append([f"other-{i:04d}", "", "", "", "", "0"])
        detail.append([f"other-{i:04d}", "No Lung Opacity / Not Normal"])
    _write_csv(root / "stage_2_train_labels.csv", ["patientId", "x", "y", "width", "height", "Target"], boxes)
    _write_csv(root / "stage_2_detailed_class_info.csv", ["patientId", "class"], detail)
    return root


def write_siim(root: Path, n_pos: int = 8, n_neg: int = 8) -> Path:
    """train-rle.csv with the official ' EncodedPixels' header (leading space) and multi-mask rows."""
    rows = []
    for i in range(n_pos):
        uid = f"1.2.276.0.7230010.3.1.4.8323329.{1000 + i}.1517875166.{i}"
        rows += [[uid, " 175349 7 1013 12"], [uid, " 2000 3 1020 5"]] if i % 2 else [[uid, " 175349 7 1013 12"]]
    for i in range(n_neg):
        rows.append([f"1.2.276.0.7230010.3.1.4.8323329.{5000 + i}.1517875166.{i}", " -1"])
    _write_csv(root / "train-rle.csv", ["ImageId", " EncodedPixels"], rows)
    return root


def write_covid(root: Path, per_class: int = 8) -> Path:
    """COVID-19_Radiography_Dataset/<class>/images/*.png (+ masks/ that must be ignored)."""
    from PIL import Image

    base = root / "COVID-19_Radiography_Dataset"
    img = Image.fromarray(np.full((8, 8), 128, np.uint8))
    for folder in ("COVID", "Normal", "Lung_Opacity", "Viral Pneumonia"):
        (base / folder / "images").mkdir(parents=True, exist_ok=True)
        (base / folder / "masks").mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img.save(base / folder / "images" / f"{folder}-{i + 1}.png")
            img.save(base / folder / "masks" / f"{folder}-{i + 1}.png")
    return base


NIH_LT_COLUMNS = ["Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Effusion", "Emphysema",
                  "Fibrosis", "Hernia", "Infiltration", "Mass", "Nodule", "Pleural_Thickening", "Pneumonia",
                  "Pneumothorax", "Pneumoperitoneum", "Pneumomediastinum", "Subcutaneous Emphysema",
                  "Tortuous Aorta", "Calcification of the Aorta", "No Finding"]


def write_nih_lt(root: Path, per_class: int = 4) -> Path:
    """LongTailCXR/nih-cxr-lt_single-label_{train,test}.csv; patients differ between the files."""
    base = root / "LongTailCXR"
    for part, offset in (("train", 0), ("test", 50000)):
        rows = []
        for j, col in enumerate(NIH_LT_COLUMNS):
            for i in range(per_class):
                patient = offset + j * 100 + i // 2          # two images per patient
                onehot = ["1" if c == col else "0" for c in NIH_LT_COLUMNS]
                rows.append([f"{patient:08d}_{i % 2:03d}.png", *onehot, f"{patient:08d}"])
        _write_csv(base / f"nih-cxr-lt_single-label_{part}.csv", ["id", *NIH_LT_COLUMNS, "subject_id"], rows)
    return base


VINDR_COLUMNS = ["No finding", "Bronchitis", "Brocho-pneumonia", "Other disease", "Bronchiolitis",
                 "Situs inversus", "Pneumonia", "Pleuro-pneumonia"]
VINDR5_FILE = ["No finding", "Bronchitis", "Brocho-pneumonia", "Bronchiolitis", "Pneumonia"]


def write_vindr(root: Path, per_class: int = 6) -> Path:
    """image_labels_train.csv (two readers per image, one of them silent) + image_labels_test.csv."""
    for part in ("train", "test"):
        rows = []
        for j, col in enumerate(VINDR5_FILE):
            for i in range(per_class):
                image = f"{part[:2]}{j:02d}{i:04d}abcdef"
                onehot = ["1" if c == col else "0" for c in VINDR_COLUMNS]
                silent = ["0"] * len(VINDR_COLUMNS)
                if part == "train":
                    rows += [[image, "R1", *onehot], [image, "R2", *silent]]
                else:
                    rows.append([image, *onehot])
        header = ["image_id", "rad_ID", *VINDR_COLUMNS] if part == "train" else ["image_id", *VINDR_COLUMNS]
        _write_csv(root / f"image_labels_{part}.csv", header, rows)
    return root


WRITERS = {"chexpert5x200": write_chexpert, "mimic5x200": write_mimic, "rsna": write_rsna,
           "siim": write_siim, "covid": write_covid, "nih-lt": write_nih_lt, "vindr": write_vindr}


def write_text(path: Path, text: str, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.strip().encode() + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_mimic_jpg(root: Path) -> Path:
    """MIMIC-CXR-JPG metadata (a lateral, an official test image, five patients) and split, gzipped."""
    write_text(root / "mimic-cxr-2.0.0-metadata.csv.gz", """
dicom_id,subject_id,study_id,PerformedProcedureStepDescription,ViewPosition,Rows,Columns,StudyDate,StudyTime,ProcedureCodeSequence_CodeMeaning,ViewCodeSequence_CodeMeaning,PatientOrientationCodeSequence_CodeMeaning
d1,10000032,50414267,CHEST (PA AND LAT),PA,3056,2544,21800506,213014.531,CHEST (PA AND LAT),postero-anterior,Erect
d2,10000032,50414267,CHEST (PA AND LAT),LATERAL,3056,2544,21800506,213014.531,CHEST (PA AND LAT),lateral,Erect
d3,10000033,50414268,CHEST (PORTABLE AP),AP,2539,3050,21800507,101010.000,CHEST (PORTABLE AP),antero-posterior,Erect
d4,10000034,50414269,CHEST (PA AND LAT),PA,3056,2544,21800508,101010.000,CHEST (PA AND LAT),postero-anterior,Erect
d5,10000035,50414270,CHEST (PORTABLE AP),AP,3056,2544,21800508,101010.000,CHEST (PORTABLE AP),antero-posterior,Erect
""", gz=True)
    write_text(root / "mimic-cxr-2.0.0-split.csv.gz", """
dicom_id,study_id,subject_id,split
d1,50414267,10000032,train
d2,50414267,10000032,train
d3,50414268,10000033,test
d4,50414269,10000034,validate
d5,50414270,10000035,train
""", gz=True)
    return root


def write_padchest(root: Path) -> Path:
    """The PadChest label CSV: a lateral, an 'exclude', an empty label list and an unknown label name."""
    return write_text(root / "PADCHEST_chest_x_ray_images_labels_160K_01.02.19.csv", """
ImageID,ImageDir,StudyDate_DICOM,StudyID,PatientID,PatientBirth,PatientSex_DICOM,ViewPosition_DICOM,Projection,MethodProjection,Report,MethodLabel,Labels,Localizations
a.png,0,20150311,st1,pat1,1950,M,POSTEROANTERIOR,PA,Manual review of DICOM fields,derrame pleural,Physician,"['pleural effusion', ' lobar atelectasis']",[]
b.png,0,20150311,st1,pat1,1950,M,LATERAL,L,Manual review of DICOM fields,derrame pleural,Physician,"['pleural effusion']",[]
c.png,1,20150312,st2,pat2,1960,F,AP,AP_horizontal,Manual review of DICOM fields,normal,RNN_model,['normal'],[]
d.png,1,20150313,st3,pat3,1960,F,PA,PA,Manual review of DICOM fields,x,RNN_model,['exclude'],[]
e.png,1,20150314,st4,pat4,1960,F,PA,PA,Manual review of DICOM fields,x,RNN_model,,[]
f.png,2,20150315,st5,pat5,1970,M,PA,PA,Manual review of DICOM fields,x,RNN_model,"['kyphosis and more', 'cardiomegaly']",[]
""")


def write_data_entry(root: Path) -> Path:
    """ChestX-ray14's Data_Entry_2017_v2020.csv (its header splits 'OriginalImage[Width,Height]' in two)."""
    return write_text(root / "Data_Entry_2017_v2020.csv", """
Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]
00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.143,0.143
00000001_001.png,Cardiomegaly|Effusion,1,1,58,M,PA,2894,2729,0.143,0.143
00000002_000.png,No Finding,0,2,80,M,AP,2500,2048,0.168,0.168
00000003_000.png,Pleural_Thickening|Hernia,0,3,74,F,PA,2500,2048,0.168,0.168
""")
