"""CacheDataset: the contract of docs/contracts.md ("Training data") and exact per-epoch sampling."""
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from cxr.core.errors import InputError
from cxr.pretrain.data.dataset import CacheDataset
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
from tests.pretrain.data_helpers import fixture_ontology, image_folder

KEYS = {"image", "labels", "annotated", "text", "has_report", "index"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """12 images: 0-5 reports (source 'mimic'), 6-9 label-only ('padchest', no effusion labels),
    10 label-only with nothing annotated, 11 missing on disk."""
    root = tmp_path_factory.mktemp("ds")
    frame = image_folder(root, 12)
    frame["source"] = ["mimic"] * 6 + ["padchest"] * 6
    frame.loc[6:, "report"] = None
    frame["not_annotated"] = [""] * 6 + ["pleural effusion"] * 4 + ["cardiomegaly|pleural effusion"] * 2
    frame.loc[6, "cardiomegaly"] = 0.0
    frame.loc[7, "cardiomegaly"] = 1.0
    frame.loc[7, "pleural effusion"] = 1.0           # present in the file, but the source does not annotate it
    (root / frame.loc[11, "path"]).unlink()
    manifest = root / "m.parquet"
    frame.to_parquet(manifest)
    prepare_cache(manifest, root / "cache", PrepareConfig(size=24, val_fraction=0.34, max_fail_fraction=0.2),
                  onto=fixture_ontology())
    return root / "cache"


def test_items_follow_the_contract(cache):
    ds = CacheDataset(cache, split=None, label_names=["pleural effusion", "cardiomegaly"], seed=0)
    assert len(ds) == 11 and ds.label_names == ["pleural effusion", "cardiomegaly"]   # failed image never served
    item = ds[0]
    assert set(item) == KEYS
    assert item["image"].dtype == torch.uint8 and item["image"].shape == (1, 24, 24)
    assert item["labels"].dtype == torch.float32 and item["labels"].shape == (2,)
    assert item["annotated"].dtype == torch.bool and item["annotated"].shape == (2,)
    assert isinstance(item["text"], str) and item["has_report"] is True and item["index"] == 0
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, num_workers=2)))
    assert batch["image"].shape == (4, 1, 24, 24) and len(batch["text"]) == 4


def test_labels_masked_where_the_source_does_not_annotate(cache):
    ds = CacheDataset(cache, label_names=["cardiomegaly", "pleural effusion"])
    i7 = [i for i in range(len(ds)) if ds[i]["text"] == "cardiomegaly"][0]
    item = ds[i7]
    assert item["annotated"].tolist() == [True, False]
    assert item["labels"][0] == 1.0 and torch.isnan(item["labels"][1])     # the file's 1 is not trusted
    assert ds[0]["annotated"].all()


def test_text_for_reports_prompts_and_nothing(cache):
    ds = CacheDataset(cache)
    texts = [ds[i]["text"] for i in range(len(ds))]
    has = [ds[i]["has_report"] for i in range(len(ds))]
    assert has == [True] * 6 + [False] * 5
    assert texts[6] == "no finding" and texts[7] == "cardiomegaly" and texts[10] == ""
    index = pd.read_parquet(cache / "index.parquet")
    for i in range(6):
        assert texts[i] in index["sentences"].iloc[i].tolist()


def test_sentence_sampling_is_exact_per_seed_and_epoch(cache):
    a, b = CacheDataset(cache, seed=3), CacheDataset(cache, seed=3)
    picks = {}
    for epoch in range(6):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        forward = [a[i]["text"] for i in range(6)]
        backward = [b[i]["text"] for i in reversed(range(6))][::-1]
        assert forward == backward                     # order/worker independent
        picks[epoch] = forward
    assert len({tuple(p) for p in picks.values()}) > 1  # epochs draw different sentences
    a.set_epoch(2)
    assert [a[i]["text"] for i in range(6)] == picks[2]  # resume at epoch 2 is exact
    seeds = {tuple(CacheDataset(cache, seed=s).text(i)[0] for i in range(6)) for s in range(5)}
    assert len(seeds) > 1


def test_splits_partition_by_patient(cache):
    train, val = CacheDataset(cache, split="train"), CacheDataset(cache, split="val")
    assert len(train) + len(val) == 11 and len(val) > 0
    index = pd.read_parquet(cache / "index.parquet").set_index("row")
    patients = {s: set(index.loc[d._rows, "patient_id"]) for s, d in (("t", train), ("v", val))}
    assert not patients["t"] & patients["v"]
    with pytest.raises(InputError, match="split must be"):
        CacheDataset(cache, split="test")


def test_unknown_label_and_pickling(cache):
    with pytest.raises(InputError, match=r"label\(s\) \['nodule'\] are not columns of this cache"):
        CacheDataset(cache, label_names=["nodule"])
    ds = CacheDataset(cache)
    ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._images is None                                      # the memmap reopens lazily
    np.testing.assert_array_equal(clone[5]["image"].numpy(), ds[5]["image"].numpy())
    assert ds.labels.shape == (11, 2) and not ds.labels.flags.writeable
    assert ds.has_report_mask().sum() == 6 and ds.annotated_matrix().shape == (11, 2)
    with pytest.raises(IndexError):
        ds[11]
