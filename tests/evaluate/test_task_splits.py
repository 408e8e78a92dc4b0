"""Every benchmark builds a deterministic, balanced, patient-disjoint split from its official files."""
from __future__ import annotations

import pandas as pd
import pytest

from cxr.evaluate.errors import ProtocolCountError
from cxr.evaluate.splitfile import read_split, write_split
from cxr.evaluate.tasks import TASKS, get_task
from cxr.evaluate.tasks.build import SplitRequest, build_split
from cxr.core.errors import CxrError, InputError
from cxr.datasets.catalog import DATASETS
from tests.datasets.official_files import WRITERS

SMALL = dict(train_per_class=3, test_per_class=2)


def _build(task, tmp_path, seed=0, **kw):
    folder = WRITERS[task](tmp_path)
    return build_split(SplitRequest(task, [str(folder)], seed=seed, **{**SMALL, **kw}))


def test_every_registered_task_has_a_fixture_and_names_its_dataset_module():
    assert set(TASKS.names()) == set(WRITERS)
    for name in TASKS.names():
        task = get_task(name)
        doc = __import__(task.__module__, fromlist=["x"]).__doc__
        assert DATASETS.get(task.dataset).module in doc, name     # where citation and layout live


@pytest.mark.parametrize("task", sorted(WRITERS))
def test_split_is_balanced_patient_disjoint_and_deterministic(task, tmp_path):
    built = _build(task, tmp_path / "a")
    frame = built.frame
    counts = frame.groupby(["split", "label"]).size()
    classes = list(get_task(task).classes)
    assert set(frame["label"]) == set(classes)
    assert all(counts[("train", c)] == 3 and counts[("test", c)] == 2 for c in classes)
    train_p = set(frame.loc[frame.split == "train", "patient_id"])
    assert not train_p & set(frame.loc[frame.split == "test", "patient_id"])
    again = _build(task, tmp_path / "b")
    assert again.frame.equals(frame)
    assert built.meta["protocol"] == "non-standard" and built.meta["seed"] == 0


def test_a_different_seed_draws_a_different_split(tmp_path):
    a = _build("chexpert5x200", tmp_path / "a", seed=0).frame
    b = _build("chexpert5x200", tmp_path / "b", seed=1).frame
    assert not a.equals(b)


def test_chexpert_keeps_frontal_single_positive_images_only(tmp_path):
    frame = _build("chexpert5x200", tmp_path).frame
    assert frame["path"].str.endswith("view1_frontal.jpg").all()
    assert frame["path"].str.contains("/study1/").all()     # study2 rows have two positives
    assert frame["patient_id"].str.match(r"patient\d{5}$").all()


def test_mimic_builds_official_jpg_paths_from_frontal_images(tmp_path):
    frame = _build("mimic5x200", tmp_path).frame
    assert frame["path"].str.match(r"files/p10/p1\d{7}/s\d+/d1\d{7}a\.jpg$").all()


def test_rsna_drops_abnormal_images_that_are_not_pneumonia(tmp_path):
    frame = _build("rsna", tmp_path).frame
    assert not frame["path"].str.contains("other-").any()
    assert set(frame.loc[frame.label == "Pneumonia", "path"].str.extract(r"(pneu)")[0]) == {"pneu"}


def test_rsna_without_detail_file_treats_every_target_0_as_no_finding(tmp_path):
    folder = WRITERS["rsna"](tmp_path, n_normal=0, n_other=6)
    (folder / "stage_2_detailed_class_info.csv").unlink()
    built = build_split(SplitRequest("rsna", [str(folder)], **SMALL))
    assert built.frame.loc[built.frame.label == "No Finding", "path"].str.contains("other-").all()


def test_siim_counts_an_image_with_several_masks_once(tmp_path):
    folder = WRITERS["siim"](tmp_path, n_pos=5, n_neg=5)
    frame = build_split(SplitRequest("siim", [str(folder)], **SMALL)).frame
    assert frame["path"].is_unique and len(frame) == 10


def test_official_test_files_feed_the_test_side(tmp_path):
    frame = _build("nih-lt", tmp_path).frame
    assert frame.loc[frame.split == "test", "patient_id"].astype(int).min() >= 50000


def test_vindr_pools_the_official_files_as_the_paper_does(tmp_path):
    # 6 images per class in each official file: 8 test images per class need both files.
    frame = _build("vindr", tmp_path, train_per_class=4, test_per_class=8).frame
    test_rows = frame[frame.split == "test"]
    assert len(test_rows) == 40 and test_rows["path"].str.startswith("train/").any()
    assert test_rows["path"].str.startswith("test/").any()


def test_vindr_paper_counts_are_refused_naming_what_the_pooled_files_hold(tmp_path):
    assert get_task("vindr").quota.train_per_class * 5 == 2000 == get_task("vindr").quota.test_per_class * 5
    folder = WRITERS["vindr"](tmp_path)
    with pytest.raises(ProtocolCountError) as err:
        build_split(SplitRequest("vindr", [str(folder)]))
    assert "400 train + 400 test" in str(err.value) and "Bronchiolitis: 12 images" in str(err.value)


def test_vindr_accepts_the_official_brocho_spelling(tmp_path):
    frame = _build("vindr", tmp_path).frame
    assert "Broncho-pneumonia" in set(frame["label"])


def test_protocol_counts_that_files_cannot_supply_stop_with_a_helpful_message(tmp_path):
    folder = WRITERS["rsna"](tmp_path)
    with pytest.raises(ProtocolCountError) as err:
        build_split(SplitRequest("rsna", [str(folder)]))
    msg = str(err.value)
    assert "4200 train + 1800 test" in msg
    assert "Pneumonia: 8 images from 8 patients" in msg
    assert "--test-per-class" in msg and "--train-per-class" in msg


def test_patient_disjointness_can_make_a_split_impossible(tmp_path):
    # Enough B images, but all from one patient: B cannot be on both sides.
    cands = pd.DataFrame({"path": [f"p{i}.png" for i in range(4)], "label": ["B", "B", "A", "A"],
                          "patient_id": ["1", "1", "2", "3"], "pool": "any"})
    from cxr.evaluate.sampling import Quota, balanced_patient_split
    with pytest.raises(ProtocolCountError, match="only 0 train images of 'B' .* without sharing patients"):
        balanced_patient_split(cands, ["A", "B"], Quota(1, 1), 0, "toy")


def test_missing_official_file_names_what_is_expected(tmp_path):
    with pytest.raises(InputError, match="mimic-cxr-2.0.0-metadata"):
        folder = WRITERS["mimic5x200"](tmp_path)
        (folder / "mimic-cxr-2.0.0-metadata.csv.gz").unlink()
        build_split(SplitRequest("mimic5x200", [str(folder)], **SMALL))


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(CxrError, match="known: .*rsna"):
        get_task("rnsa")


def test_exclude_patients_and_pretrain_leakage_check(tmp_path):
    folder = WRITERS["nih-lt"](tmp_path, per_class=8)
    built = build_split(SplitRequest("nih-lt", [str(folder)], **SMALL))
    used = sorted(set(built.frame["patient_id"]))
    manifest = tmp_path / "pretrain.csv"
    pd.DataFrame({"path": ["x.png", "y.png"], "patient_id": [str(int(used[0])), "p99999999"],
                  "source": ["chestxray14", "chestxray14"]}).to_csv(manifest, index=False)
    with pytest.raises(CxrError, match="1 patient.*pre-training manifest") as err:
        build_split(SplitRequest("nih-lt", [str(folder)], pretrain_manifest=str(manifest), **SMALL))
    assert str(int(used[0])) in str(err.value)       # zero-padded 0000xxxx matched to xxxx
    allowed = build_split(SplitRequest("nih-lt", [str(folder)], pretrain_manifest=str(manifest),
                                       allow_overlap=True, **SMALL))
    assert allowed.overlap == [str(int(used[0]))]
    excluded = build_split(SplitRequest("nih-lt", [str(folder)], pretrain_manifest=str(manifest),
                                        exclude_patients=[str(manifest)], **SMALL))
    assert used[0] not in set(excluded.frame["patient_id"]) and excluded.overlap == []


def test_images_folder_is_checked_and_nested_files_are_found(tmp_path):
    from PIL import Image
    import numpy as np

    folder = WRITERS["siim"](tmp_path / "meta", n_pos=5, n_neg=5)
    images = tmp_path / "dicom-images-train"
    ids = pd.read_csv(folder / "train-rle.csv")["ImageId"].unique()
    for i, uid in enumerate(ids[:-1]):
        nested = images / f"study{i}" / f"series{i}"
        nested.mkdir(parents=True)
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(nested / f"{uid}.png")   # converted DICOM
    with pytest.raises(InputError, match=r"1 of 10 images .* first missing: \['" + ids[-1].replace(".", r"\.")):
        build_split(SplitRequest("siim", [str(folder)], images=str(images), **SMALL))
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(images / f"{ids[-1]}.png")
    built = build_split(SplitRequest("siim", [str(folder)], images=str(images), **SMALL))
    assert built.frame["path"].str.endswith(".png").all()
    assert built.frame["path"].str.contains("series").sum() == 9


def test_written_split_carries_its_hash_and_reads_back(tmp_path):
    built = _build("covid", tmp_path)
    out = tmp_path / "covid.csv"
    sha = write_split(built.frame, out, built.meta)
    split = read_split(out)
    assert split.sha256 == sha and split.meta["sha256"] == sha
    assert split.classes == list(get_task("covid").classes)     # task order kept via the sidecar
    out.write_text(out.read_text().replace("test", "train", 1))
    assert read_split(out).sha256 != sha
