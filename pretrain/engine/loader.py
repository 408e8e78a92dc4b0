"""From a contract dataset to device tensors: sampler, per-item view with augmentation, collate,
host->device step.

* ``EpochBatchSampler`` shards one seeded permutation per epoch across processes (rank r takes every
  W-th index), so the union of the W local batches of step k is exactly the single-process batch k of
  the same global size; ``set_epoch(epoch, skip)`` resumes mid-epoch by skipping consumed batches.
  It yields ``(epoch, index)`` keys, so persistent workers (which keep their own dataset copy) still
  see the epoch for sentence sampling and augmentation.
* Workers do the uint8 work (augment, resize, tokenise); the device does float conversion and
  normalisation (``DevicePrep``), with pinned memory and non-blocking copies.
* Augmentation draws from a generator seeded by (seed, epoch, item), never from a global RNG: the same
  item gets the same augmentation whatever the worker count, the number of processes, or a resume in
  the middle of an epoch.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.v2 import functional as TF

from cxr.core.errors import CxrError, InputError
from cxr.pretrain.config import AugmentConfig
from cxr.pretrain.models.preprocess import Normalize
from cxr.pretrain.models.text import tokenize

Key = tuple[int, int]
#: a batch holding this key carries its items' user errors (a truncated cache...) instead of data.
#: Raised inside a worker, an error would reach the user re-raised with the worker's traceback as its
#: message; carried to the main process, ``DevicePrep`` raises it as it was.
ERRORS = "errors"


class EpochBatchSampler:
    def __init__(self, n: int, batch_size: int, rank: int = 0, world_size: int = 1, seed: int = 0,
                 shuffle: bool = True, drop_last: bool = True, multiple_of: int = 1):
        self.n, self.batch_size, self.rank, self.world = n, batch_size, rank, world_size
        self.seed, self.shuffle, self.drop_last = seed, shuffle, drop_last
        self.multiple_of = multiple_of  # whole gradient-accumulation groups only
        self.epoch, self.skip = 0, 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.epoch, self.skip = epoch, skip

    def _shard(self) -> np.ndarray:
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle \
            else np.arange(self.n)
        per_step = self.batch_size * self.world
        if self.drop_last:
            order = order[:len(order) // per_step * per_step]
        elif len(order) % self.world:
            # every process needs the same number of items; repeat a few (validation only)
            order = np.concatenate([order, order[:self.world - len(order) % self.world]])
        return order[self.rank::self.world]

    def batches_per_epoch(self) -> int:
        shard = len(self._shard())
        if not self.drop_last:
            return -(-shard // self.batch_size)
        return shard // self.batch_size // self.multiple_of * self.multiple_of

    def __len__(self) -> int:
        return max(self.batches_per_epoch() - self.skip, 0)

    def __iter__(self) -> Iterator[list[Key]]:
        shard = self._shard()
        for b in range(self.skip, self.batches_per_epoch()):
            yield [(self.epoch, int(i)) for i in shard[b * self.batch_size:(b + 1) * self.batch_size]]


class ItemView(Dataset):
    """``view[(epoch, i)]``: item i of the contract dataset at that epoch, image augmented and sized."""

    def __init__(self, dataset, image_size: int, augment_cfg: AugmentConfig | None, seed: int):
        self.dataset, self.size, self.augment, self.seed = dataset, image_size, augment_cfg, seed
        self._epoch: int | None = None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: Key) -> dict[str, Any]:
        try:
            return self._item(key)
        except CxrError as exc:
            return {ERRORS: str(exc)}

    def _item(self, key: Key) -> dict[str, Any]:
        epoch, i = key
        if epoch != self._epoch and hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)
            self._epoch = epoch
        item = dict(self.dataset[i])
        image = item["image"]
        if self.augment is not None and self.augment.enabled:
            image = augment(image, self.augment, item_rng(self.seed, epoch, i))
        item["image"] = fit_size(image, self.size)
        return item


def item_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def augment(image: torch.Tensor, cfg: AugmentConfig, rng: np.random.Generator) -> torch.Tensor:
    """The paper's recipe on a uint8 image (about 0.5 ms at 224 px): horizontal flip, small affine
    (rotation + zoom out), brightness/contrast jitter."""
    u = rng.random(3)
    if u[0] < cfg.p:
        angle = float(rng.uniform(-cfg.rotate, cfg.rotate))
        scale = float(rng.uniform(*cfg.scale))
        image = TF.affine(image, angle=angle, translate=[0, 0], scale=scale, shear=[0.0, 0.0])
    if u[1] < cfg.hflip:
        image = TF.horizontal_flip(image)
    if u[2] < cfg.p:
        image = TF.adjust_brightness(image, float(rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)))
        image = TF.adjust_contrast(image, float(rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)))
    return image


def fit_size(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a square [1, S, S] cache image to ``size`` (no-op when it already has that size)."""
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    return TF.resize(image, [size, size], antialias=True)


class Collate:
    """Stack items; tokenise texts when the model has a text encoder (in the worker, not on the GPU host)."""

    def __init__(self, tokenizer=None, max_length: int = 77):
        self.tokenizer, self.max_length = tokenizer, max_length

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        errors = [it[ERRORS] for it in items if ERRORS in it]
        if errors:
            return {ERRORS: list(dict.fromkeys(errors))}
        texts = [str(it["text"]) for it in items]
        batch = {
            "image": torch.stack([it["image"] for it in items]),
            "labels": torch.stack([it["labels"] for it in items]).float(),
            "annotated": torch.stack([it["annotated"] for it in items]).bool(),
            "has_report": torch.tensor([bool(it["has_report"]) for it in items]),
            "has_text": torch.tensor([bool(t.strip()) for t in texts]),
            "index": torch.tensor([int(it["index"]) for it in items]),
        }
        if self.tokenizer is not None:
            batch.update(tokenize(self.tokenizer, texts, self.max_length))
        return batch


def make_loader(view: ItemView, sampler: EpochBatchSampler, collate: Collate, workers: int, prefetch: int,
                pin_memory: bool) -> DataLoader:
    # Forked workers must not inherit a tokenizer thread pool (and its warning on every fork).
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    return DataLoader(
        view, batch_sampler=sampler, collate_fn=collate, num_workers=workers, pin_memory=pin_memory,
        persistent_workers=workers > 0, prefetch_factor=prefetch if workers > 0 else None,
        # its own generator: creating an epoch iterator must not consume the global torch RNG, or a
        # resumed run would draw different dropout masks than an uninterrupted one
        generator=torch.Generator().manual_seed(0))


class DevicePrep:
    """uint8 [B, 1, S, S] on the host -> normalised float [B, 3, S, S] on the device (channels_last)."""

    def __init__(self, device: torch.device, mean: Sequence[float], std: Sequence[float],
                 channels_last: bool = True):
        self.device = device
        self.normalize = Normalize(mean, std).to(device)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if ERRORS in batch:
            raise InputError("; ".join(batch[ERRORS]))
        out = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        out["image"] = self.normalize(out["image"]).contiguous(memory_format=self.memory_format)
        return out
