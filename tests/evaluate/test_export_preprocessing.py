"""Evaluation prepares images as the encoder's own pre-training cache did (pad or resize), from the export
alone: a model pre-trained on a resized cache is evaluated on resized images, not padded ones."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import cxr
from cxr.datasets.images import square_image
from cxr.evaluate.encoders import load_encoder
from cxr.evaluate.features import LoaderOptions, extract
from cxr.evaluate.images import ImageDataset, load_square
from cxr.pretrain.data import layout
from cxr.pretrain.export import Preprocessing

from tests.pretrain.train_helpers import one_thread, train_on_resized_cache

_threads = pytest.fixture(autouse=True)(one_thread)


@pytest.fixture(scope="module")
def resized(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg, cache = train_on_resized_cache(tmp_path_factory.mktemp("resized"), "unimodal")
    torch.set_num_threads(before)
    (cfg.run_dir / "config.yaml").unlink()          # evaluation must need nothing but the export
    return cfg.run_dir / "export", cache


def _cache_pixels(cache: Path) -> dict[Path, np.ndarray]:
    """image file -> the uint8 square ``cxr prepare`` stored for it (what pre-training saw)."""
    images = layout.open_images(cache, layout.read_meta(cache))
    index = pd.read_parquet(cache / layout.INDEX, columns=["row", "path"])
    return {cache.parent / p: np.array(images[r]) for r, p in zip(index["row"], index["path"])}


def _as_trained(model, pixels: np.ndarray) -> torch.Tensor:
    return model.preprocess(torch.from_numpy(pixels)[None, None])   # the training normalisation


def test_a_model_pretrained_on_resized_images_is_evaluated_on_resized_images(resized):
    export, cache = resized
    model = load_encoder(str(export)).model
    assert (model.preprocessing.mode, model.preprocessing.image_size) == ("resize", 32)
    pixels = _cache_pixels(cache)
    paths = list(pixels)
    dataset = ImageDataset(paths, model.preprocessing)        # what `cxr eval run` extracts features from
    for i, path in enumerate(paths):
        assert torch.equal(dataset[i], _as_trained(model, pixels[path])[0])
        assert not np.array_equal(load_square(path, 32, "pad"), pixels[path])   # 40x32 files: padding differs
    features = extract(model, dataset, "features", LoaderOptions(batch_size=8, workers=0))
    expected = torch.cat([model.features(_as_trained(model, pixels[p])) for p in paths])
    np.testing.assert_allclose(features, expected.numpy(), rtol=1e-5, atol=1e-6)   # batch of 8 vs 1


def test_load_encoder_features_of_a_file_match_those_of_its_cached_pixels(resized):
    export, cache = resized
    model, preprocess = cxr.load_encoder(str(export))
    for path, cached in list(_cache_pixels(cache).items())[:4]:   # 8- and 16-bit PNGs alternate
        x = preprocess(path)
        assert x.shape == (1, 3, 32, 32) and x.dtype == torch.float32
        assert torch.equal(model.features(x), model.features(_as_trained(model, cached)))
        with Image.open(path) as image:
            assert torch.equal(preprocess(image), x)
            assert torch.equal(preprocess(np.asarray(image)), x)


def test_load_encoder_of_a_timm_backbone_uses_its_own_preprocessing():
    model, preprocess = cxr.load_encoder("timm:test_resnet")
    cfg = model.model.pretrained_cfg
    image = np.arange(40 * 30, dtype=np.uint16).reshape(40, 30).astype(np.uint8)
    expected = Preprocessing(224, tuple(cfg["mean"]), tuple(cfg["std"])).tensor(square_image(image, 224, "pad"))
    assert torch.equal(preprocess(image), expected)
