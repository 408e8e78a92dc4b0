"""A broken cache met inside a DataLoader worker reaches the user as one clean message, not a traceback."""
from __future__ import annotations

import pytest
import torch

from cxr.core.errors import InputError
from cxr.pretrain.data import layout
from cxr.pretrain.data.dataset import CacheDataset
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
from cxr.pretrain.engine.loader import Collate, DevicePrep, EpochBatchSampler, ItemView, make_loader
from tests.pretrain.data_helpers import fixture_ontology, image_folder


@pytest.fixture
def truncated_cache(tmp_path):
    frame = image_folder(tmp_path, 8)
    manifest = tmp_path / "m.parquet"
    frame.to_parquet(manifest)
    prepare_cache(manifest, tmp_path / "cache", PrepareConfig(size=16, val_fraction=0.0, workers=1),
                  onto=fixture_ontology())
    images = tmp_path / "cache" / layout.IMAGES
    images.write_bytes(images.read_bytes()[:100])      # cut short after cxr prepare finished
    return tmp_path / "cache"


def _first_error(loader, prep) -> str:
    # caught here, so no traceback keeps the loader's worker processes alive after the test
    try:
        for batch in loader:
            prep(batch)
    except InputError as exc:
        return str(exc)
    return "no error"


@pytest.mark.parametrize("workers", [0, 2])
def test_truncated_cache_in_the_loader_is_one_clean_error(truncated_cache, workers):
    dataset = CacheDataset(truncated_cache, split="train")   # opens its image file lazily, in the worker
    loader = make_loader(ItemView(dataset, 16, None, seed=0), EpochBatchSampler(len(dataset), 4),
                         Collate(), workers=workers, prefetch=2, pin_memory=False)
    prep = DevicePrep(torch.device("cpu"), (0.5,) * 3, (0.5,) * 3, channels_last=False)
    message = _first_error(loader, prep)
    assert "truncated image array" in message and layout.IMAGES in message
    assert "\n" not in message and "Traceback" not in message and "worker" not in message


def test_a_healthy_batch_passes_untouched(tmp_path):
    frame = image_folder(tmp_path, 4)
    frame.to_parquet(tmp_path / "m.parquet")
    prepare_cache(tmp_path / "m.parquet", tmp_path / "cache", PrepareConfig(size=16, val_fraction=0.0, workers=1),
                  onto=fixture_ontology())
    dataset = CacheDataset(tmp_path / "cache", split="train")
    batch = Collate()([ItemView(dataset, 16, None, seed=0)[(0, i)] for i in range(4)])
    out = DevicePrep(torch.device("cpu"), (0.0,) * 3, (1.0,) * 3, channels_last=False)(batch)
    assert tuple(out["image"].shape) == (4, 3, 16, 16)
    assert torch.allclose(out["image"][:, 0], batch["image"][:, 0].float() / 255)      # (x - 0) / (255 * 1)
