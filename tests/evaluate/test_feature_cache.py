"""Features are extracted once per (encoder, split) and a cache from a changed split file is refused."""
from __future__ import annotations

import numpy as np
import pytest

from cxr.evaluate.config import EvalConfig
from cxr.evaluate.errors import StaleCacheError
from cxr.evaluate.features import FeatureCache, FeatureKey
from cxr.evaluate.runner import run_evaluation
from tests.evaluate.standins import QuadrantEncoder, handle, write_task


def _cfg(split, cache, **kw):
    return EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["linear-probe"], shots=[1, 2],
                      seeds=2, workers=0, device="cpu", cache_dir=str(cache), **kw)


def test_second_run_reuses_cached_features(tmp_path):
    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    model = QuadrantEncoder(None)
    first = run_evaluation(_cfg(split, tmp_path / "cache"), encoder=handle(model))
    calls = model.calls
    assert calls > 0
    second = run_evaluation(_cfg(split, tmp_path / "cache"), encoder=handle(model))
    assert model.calls == calls                           # nothing re-encoded
    assert [r["aca"] for r in first.rows] == [r["aca"] for r in second.rows]
    assert len(first.rows) == 4                             # K in {1, 2} x 2 seeds


def test_edited_split_file_refuses_the_stale_cache_until_refreshed(tmp_path):
    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    model = QuadrantEncoder(None)
    first_hash = run_evaluation(_cfg(split, tmp_path / "cache"), encoder=handle(model)).rows[0]["split_hash"]
    lines = split.read_text().splitlines()
    split.write_text("\n".join([lines[0]] + lines[1:][::-1]) + "\n")      # same rows, new order: new hash
    with pytest.raises(StaleCacheError, match="changed since its features were cached.*--refresh-features"):
        run_evaluation(_cfg(split, tmp_path / "cache"), encoder=handle(model))
    refreshed = run_evaluation(_cfg(split, tmp_path / "cache", refresh_features=True), encoder=handle(model))
    uncached = run_evaluation(_cfg(split, tmp_path / "none", ), encoder=handle(model))
    assert [r["aca"] for r in refreshed.rows] == [r["aca"] for r in uncached.rows]
    assert refreshed.rows[0]["split_hash"] != first_hash
    run_evaluation(_cfg(split, tmp_path / "cache"), encoder=handle(model))   # refreshed cache now fits


def test_cache_is_per_encoder_and_round_trips_exactly(tmp_path):
    cache = FeatureCache(tmp_path)
    key = FeatureKey("enc-a" * 4, "task", "/x/task.csv|/x", "sha1", "features", "train")
    arr = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    cache.save(key, arr)
    assert np.array_equal(cache.load(key, 5), arr)
    other = FeatureKey("enc-b" * 4, "task", "/x/task.csv|/x", "sha1", "features", "train")
    assert cache.load(other, 5) is None
    assert FeatureCache(None).load(key, 5) is None


def test_a_stale_cache_stops_the_run_before_any_encoding(tmp_path):
    fresh = write_task(tmp_path / "fresh", {"A": [0], "B": [1]}, task="fresh")
    stale = write_task(tmp_path / "stale", {"A": [2], "B": [3]}, task="stale")
    model = QuadrantEncoder(None)
    run_evaluation(_cfg(stale, tmp_path / "cache"), encoder=handle(model))
    stale.write_text(stale.read_text().replace("\n", "\r\n"))                  # same rows, other bytes
    cfg = _cfg(stale, tmp_path / "cache")
    cfg.tasks = [f"csv:{fresh}", f"csv:{stale}"]
    model.calls = 0
    with pytest.raises(StaleCacheError):
        run_evaluation(cfg, encoder=handle(model))
    assert model.calls == 0                                                     # 'fresh' was not encoded either


def _features(tmp_path, split, model, cache="cache", encoder_name="stand-in"):
    """The train features a run used: read back from the cache it wrote."""
    run_evaluation(_cfg(split, tmp_path / cache), encoder=handle(model, encoder_name))
    files = sorted((tmp_path / cache).rglob("*.features.train.npz"))
    assert len(files) == 1
    with np.load(files[0]) as npz:
        return npz["x"]


def test_an_image_replaced_in_place_is_re_encoded(tmp_path):
    from PIL import Image

    from tests.evaluate.standins import quadrant_image

    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    model = QuadrantEncoder(None)
    before = _features(tmp_path, split, model)
    first = tmp_path / "task" / "A_train_0.png"                   # first train row: quadrant 0 bright
    assert before[0].argmax() == 0
    Image.fromarray(quadrant_image([3])).save(first)              # same name, other pixels
    calls = model.calls
    after = _features(tmp_path, split, model)
    assert model.calls > calls                                    # not served from the cache
    assert after[0].argmax() == 3 and np.allclose(after[1:], before[1:])


def test_features_of_another_encoder_with_the_same_id_prefix_are_not_reused(tmp_path):
    from cxr.evaluate.encoders import EncoderHandle

    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    model = QuadrantEncoder(None)
    one, other = (EncoderHandle(model, "enc", identity="0123456789abcdef" + tail) for tail in ("-one", "-two"))
    run_evaluation(_cfg(split, tmp_path / "cache"), encoder=one)
    calls = model.calls
    run_evaluation(_cfg(split, tmp_path / "cache"), encoder=one)
    assert model.calls == calls
    run_evaluation(_cfg(split, tmp_path / "cache"), encoder=other)    # same cache folder, other encoder
    assert model.calls > calls


def test_a_corrupt_image_in_a_worker_is_one_clean_message(tmp_path):
    from cxr.core.errors import InputError
    from cxr.evaluate.features import LoaderOptions, extract
    from cxr.evaluate.images import ImageDataset

    split = write_task(tmp_path / "task", {"A": [0], "B": [1]})
    paths = sorted((tmp_path / "task").glob("*.png"))
    paths[2].write_bytes(b"not an image")
    dataset = ImageDataset(paths, QuadrantEncoder.preprocessing)
    with pytest.raises(InputError) as caught:
        extract(QuadrantEncoder(None), dataset, "features", LoaderOptions(batch_size=4, workers=2))
    message = str(caught.value)
    assert paths[2].name in message and "\n" not in message
    assert "Traceback" not in message and "worker" not in message
