"""`cxr prepare`: decode once into a memory-mapped cache; resumable, parallel, failure-tolerant."""
import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from cxr.core.errors import InputError
from cxr.core.provenance import file_sha256
from cxr.datasets.images import DecodeError, pydicom_available, square_image
from cxr.pretrain.data import layout
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
from tests.pretrain.data_helpers import (FIXTURE_ONTOLOGY, fixture_ontology, gradient, image_folder,
                                         write_manifest_csv, write_png)

ONTO = fixture_ontology()


def _build(root, n=12, **overrides):
    frame = image_folder(root, n)
    manifest = write_manifest_csv(root, frame)
    config = PrepareConfig(size=32, chunk_size=5, val_fraction=0.3, **overrides)
    return manifest, config


def _images(cache):
    meta = layout.read_meta(cache)
    return np.array(layout.open_images(cache, meta))


# --- decoding -------------------------------------------------------------------------------------
def test_decode_formats_and_geometry(tmp_path):
    pixels = gradient(40, 20, 1)
    eight = square_image(write_png(tmp_path / "a.png", pixels), 32, "pad")
    sixteen = square_image(write_png(tmp_path / "b.png", pixels, bits=16), 32, "pad")
    # Tall image padded left/right with black, content centred and stretched to its own range.
    assert eight.shape == (32, 32) and eight.dtype == np.uint8
    assert (eight[:, :7] == 0).all() and (eight[:, -7:] == 0).all() and eight[:, 8:24].min() > 0
    assert sixteen.max() == 255 and abs(int(sixteen[:, 8:24].min()) - 0) < 5  # 12-bit data stretched
    stretched = square_image(tmp_path / "a.png", 32, "resize")
    assert (stretched[:, 0] > 0).mean() > 0.9                                     # no padding
    Image.fromarray(np.stack([pixels.astype(np.uint8)] * 3, -1)).save(tmp_path / "c.jpg", quality=95)
    rgb_jpeg = square_image(tmp_path / "c.jpg", 32, "pad")
    assert np.abs(rgb_jpeg.astype(int) - eight.astype(int)).mean() < 6
    with pytest.raises(DecodeError) as missing:
        square_image(tmp_path / "nope.png", 32)
    assert missing.value.status == "missing"
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DecodeError) as bad:
        square_image(tmp_path / "bad.png", 32)
    assert bad.value.status == "unreadable"


# --- the cache ------------------------------------------------------------------------------------
def test_round_trip_matches_decoder_and_manifest(tmp_path):
    manifest, config = _build(tmp_path)
    result = prepare_cache(manifest, tmp_path / "cache", config, onto=ONTO)
    cache = tmp_path / "cache"
    images = _images(cache)
    index = pd.read_parquet(cache / layout.INDEX)
    assert images.shape == (12, 32, 32)
    for i, rel in enumerate(index["path"]):
        np.testing.assert_array_equal(images[i], square_image(tmp_path / rel, 32, "pad"))
    source = pd.read_csv(manifest)
    assert index["path"].tolist() == source["path"].tolist()
    np.testing.assert_array_equal(index["pleural effusion"].to_numpy(), source["pleural effusion"].to_numpy())
    assert index["sentences"].iloc[3].tolist() == ["Finding number 3.", "Heart size is normal.", "Case 3."]
    meta = result.meta
    assert meta["manifest"]["sha256"] == file_sha256(manifest)
    assert meta["ok"] == 12 and meta["failed"] == 0 and meta["label_names"] == ["cardiomegaly", "pleural effusion"]
    assert meta["split"]["val"]["patients"] == 2 and meta["split"]["train"]["patients"] == 4
    assert not (cache / layout.WORK).exists() and not (cache / "images.u8.partial").exists()


def test_parallel_workers_give_the_same_cache(tmp_path):
    manifest, config = _build(tmp_path)
    prepare_cache(manifest, tmp_path / "one", config, onto=ONTO)
    prepare_cache(manifest, tmp_path / "two", PrepareConfig(**{**config.__dict__, "workers": 2}), onto=ONTO)
    assert (tmp_path / "one" / layout.IMAGES).read_bytes() == (tmp_path / "two" / layout.IMAGES).read_bytes()


def test_interrupted_run_resumes_to_an_identical_cache(tmp_path):
    manifest, config = _build(tmp_path)
    prepare_cache(manifest, tmp_path / "clean", config, onto=ONTO)

    def interrupt(done, total, desc):
        if done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare_cache(manifest, tmp_path / "cache", config, progress=interrupt, onto=ONTO)
    cache = tmp_path / "cache"
    assert not layout.is_complete(cache) and not (cache / layout.INDEX).exists()
    with pytest.raises(InputError, match="unfinished `cxr prepare` run"):
        layout.read_meta(cache)
    seen = []
    result = prepare_cache(manifest, cache, config, progress=lambda d, t, s: seen.append(d), onto=ONTO)
    assert result.resumed_rows == 5 and seen[0] == 5          # chunk 0 was not decoded again
    assert (cache / layout.IMAGES).read_bytes() == (tmp_path / "clean" / layout.IMAGES).read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(cache / layout.INDEX), pd.read_parquet(tmp_path / "clean" / layout.INDEX))
    assert prepare_cache(manifest, cache, config, onto=ONTO).up_to_date


def test_failures_listed_and_threshold_enforced(tmp_path):
    manifest, config = _build(tmp_path)
    (tmp_path / "img/003.png").unlink()
    (tmp_path / "img/007.png").write_bytes(b"garbage")
    strict = PrepareConfig(**{**config.__dict__, "max_fail_fraction": 0.1})
    with pytest.raises(InputError, match=r"2 of 12 images \(16.7%\).*failures.csv"):
        prepare_cache(manifest, tmp_path / "cache", strict, onto=ONTO)
    assert not layout.is_complete(tmp_path / "cache")
    failures = pd.read_csv(tmp_path / "cache" / layout.FAILURES)
    assert failures[["row", "status"]].values.tolist() == [[3, "missing"], [7, "unreadable"]]
    lenient = PrepareConfig(**{**config.__dict__, "max_fail_fraction": 0.2})
    result = prepare_cache(manifest, tmp_path / "cache", lenient, onto=ONTO)
    assert result.resumed_rows == 12 and result.meta["failed"] == 2 and result.meta["ok"] == 10
    index = pd.read_parquet(tmp_path / "cache" / layout.INDEX)
    assert index.loc[index["status"] != "ok", "row"].tolist() == [3, 7]


def test_wrong_image_root_fails_fast(tmp_path):
    manifest, config = _build(tmp_path)
    wrong = PrepareConfig(**{**config.__dict__, "image_root": str(tmp_path / "elsewhere")})
    with pytest.raises(InputError, match="none of the first 12 images exists.*--image-root"):
        prepare_cache(manifest, tmp_path / "cache", wrong, onto=ONTO)


def test_cache_of_another_manifest_is_not_clobbered(tmp_path):
    manifest, config = _build(tmp_path)
    prepare_cache(manifest, tmp_path / "cache", config, onto=ONTO)
    other = write_manifest_csv(tmp_path, pd.read_csv(manifest).head(6), "other.csv")
    (tmp_path / "cache" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="different manifest or settings.*--overwrite"):
        prepare_cache(other, tmp_path / "cache", config, onto=ONTO)
    again = PrepareConfig(**{**config.__dict__, "overwrite": True})
    assert prepare_cache(other, tmp_path / "cache", again, onto=ONTO).meta["rows"] == 6
    assert (tmp_path / "cache" / "notes.txt").read_text() == "mine"      # only our files are replaced


def test_excluded_patients_never_reach_the_cache(tmp_path):
    manifest, config = _build(tmp_path)
    (tmp_path / "eval.txt").write_text("# evaluation patients\nP1\nP4\n")
    excl = PrepareConfig(**{**config.__dict__, "exclude_patients": str(tmp_path / "eval.txt")})
    meta = prepare_cache(manifest, tmp_path / "cache", excl, onto=ONTO).meta
    index = pd.read_parquet(tmp_path / "cache" / layout.INDEX)
    assert not {"P1", "P4"} & set(index["patient_id"]) and meta["rows"] == 8
    assert meta["exclude_patients"]["rows_removed"] == 4


@pytest.mark.skipif(pydicom_available(), reason="pydicom installed: the missing-dependency message cannot occur")
def test_dicom_without_pydicom_is_one_clear_error(tmp_path):
    manifest = write_manifest_csv(tmp_path, pd.DataFrame({"path": ["a.dcm"], "patient_id": ["1"]}))
    with pytest.raises(InputError, match="needs pydicom"):
        prepare_cache(manifest, tmp_path / "cache", PrepareConfig(size=32), onto=ONTO)


def test_cli_prepare_success_and_error(tmp_path):
    from cxr.cli.main import app

    image_folder(tmp_path, 6)
    manifest = write_manifest_csv(tmp_path, image_folder(tmp_path, 6))
    runner = CliRunner()
    ok = runner.invoke(app, ["prepare", str(manifest), "-o", str(tmp_path / "cache"), "--size", "32",
                             "--workers", "1", "--ontology", str(FIXTURE_ONTOLOGY), "-q"])
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "cache" / layout.META).read_text())["images"]["shape"] == [6, 32, 32]
    bad = pd.read_csv(manifest).rename(columns={"patient_id": "subject"})
    bad_path = write_manifest_csv(tmp_path, bad, "bad.csv")
    fail = runner.invoke(app, ["prepare", str(bad_path), "-o", str(tmp_path / "c2"), "--ontology", str(FIXTURE_ONTOLOGY)])
    assert fail.exit_code == 2 and "no 'patient_id' column" in fail.output
    assert not (tmp_path / "c2").exists()
