"""Encoder outputs for a split part, extracted once and cached on disk.

The cache is addressed by (encoder identity, task, split file location, kind, part). Its metadata
records the split file's sha256: if that file's content changed since, the cached features belong to
other images or labels, so loading refuses with a clear message instead of mixing them up. It also
records the full encoder identity and a signature of the image files (path, size, modification time):
an image replaced in place, or another encoder, makes the entry a miss, so features are recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cxr.core.atomic import atomic_open, atomic_write_text
from cxr.core.errors import CxrError, InputError
from cxr.core.progress import Progress, null_progress

from cxr.evaluate.errors import StaleCacheError

#: what to extract: the backbone features (linear probe) or the projected embedding (zero-shot)
KINDS = {"features": "features", "embed": "encode_image"}


@dataclass(frozen=True)
class FeatureKey:
    encoder_id: str
    task: str
    location: str        # absolute split path + image root: the "same split file" the hash is checked for
    split_sha: str
    kind: str
    part: str
    images_sha: str = ""   # images_signature() of the part's files

    @property
    def stem(self) -> str:
        loc = hashlib.sha1(self.location.encode("utf-8")).hexdigest()[:10]
        safe_task = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.task)
        return f"{safe_task}-{loc}.{self.kind}.{self.part}"


class FeatureCache:
    """``root/<encoder id>/<task>-<location>.<kind>.<part>.npz`` plus a ``.json`` with the split hash."""

    def __init__(self, root: str | Path | None, refresh: bool = False):
        self.root = Path(root) if root else None
        self.refresh = refresh

    def _paths(self, key: FeatureKey) -> tuple[Path, Path]:
        folder = self.root / key.encoder_id[:16]
        return folder / f"{key.stem}.npz", folder / f"{key.stem}.json"

    def check(self, key: FeatureKey) -> bool:
        """True when a usable entry exists; raises when the entry was made from another split version."""
        if self.root is None or self.refresh:
            return False
        data_path, meta_path = self._paths(key)
        if not (data_path.is_file() and meta_path.is_file()):
            return False
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("split_sha256") != key.split_sha:
            raise StaleCacheError(
                f"the split file of task {key.task!r} changed since its features were cached "
                f"(cached for split hash {str(meta.get('split_sha256'))[:12]}, the file now hashes "
                f"{key.split_sha[:12]}); cached at {data_path}. Re-run with --refresh-features to "
                f"recompute, or delete that file.")
        # same split, but other pixels or another encoder (a 16-character folder prefix could collide)
        return meta.get("images_sha256") == key.images_sha and meta.get("encoder_id") == key.encoder_id

    def load(self, key: FeatureKey, n_rows: int) -> np.ndarray | None:
        if not self.check(key):
            return None
        with np.load(self._paths(key)[0]) as npz:
            arr = npz["x"]
        return arr if len(arr) == n_rows else None

    def save(self, key: FeatureKey, arr: np.ndarray) -> None:
        if self.root is None:
            return
        data_path, meta_path = self._paths(key)
        data_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(data_path, "wb") as fh:
            np.savez(fh, x=arr)
        meta = {"task": key.task, "split_location": key.location, "split_sha256": key.split_sha,
                "encoder_id": key.encoder_id, "images_sha256": key.images_sha, "kind": key.kind, "part": key.part,
                "rows": int(arr.shape[0]), "dim": int(arr.shape[1])}
        atomic_write_text(meta_path, json.dumps(meta, indent=2) + "\n")


def images_signature(paths: Sequence[str | os.PathLike]) -> str:
    """sha256 of each file's path, size and modification time, in order. A stat per image, not a read:
    cheap for 100k images, and an image rewritten in place (new mtime) no longer matches."""
    digest = hashlib.sha256()
    for p in paths:
        st = os.stat(p)
        digest.update(f"{os.fspath(p)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8"))
    return digest.hexdigest()


@dataclass
class LoaderOptions:
    batch_size: int = 64
    workers: int = 2
    device: str = "cpu"


def extract(model, dataset, kind: str, opts: LoaderOptions, progress: Progress = null_progress,
            description: str = "extracting") -> np.ndarray:
    """Run ``model.features`` or ``model.encode_image`` over a dataset; float32 [N, D] in dataset order."""
    import torch
    from torch.utils.data import DataLoader

    fn: Callable = getattr(model, KINDS[kind])
    loader = DataLoader(_Guarded(dataset), batch_size=opts.batch_size, shuffle=False, num_workers=opts.workers,
                        pin_memory=str(opts.device).startswith("cuda"), collate_fn=_collate)
    chunks, done = [], 0
    progress(0, len(dataset), description)
    with torch.inference_mode():
        for batch in loader:
            if isinstance(batch, list):     # unreadable images: their messages, raised here in the main process
                more = f" (and {len(batch) - 1} more in the same batch)" if len(batch) > 1 else ""
                raise InputError(f"{batch[0].message}{more}")
            out = fn(batch.to(opts.device, non_blocking=True))
            chunks.append(out.float().cpu().numpy())
            done += len(batch)
            progress(done, len(dataset), description)
    return np.concatenate(chunks, axis=0).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Unreadable:
    message: str


class _Guarded:
    """A dataset whose user errors come back as ``Unreadable`` items. Raised inside a DataLoader worker,
    the error would reach the user re-raised with the worker's whole traceback in its message."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        try:
            return self.dataset[i]
        except CxrError as exc:
            return Unreadable(str(exc))


def _collate(items: list):
    """The batch as DataLoader stacks it, or the list of ``Unreadable`` items when it has any."""
    from torch.utils.data import default_collate

    bad = [it for it in items if isinstance(it, Unreadable)]
    return bad if bad else default_collate(items)


def cached_extract(cache: FeatureCache, key: FeatureKey, model, make_dataset: Callable[[], Sequence],
                   n_rows: int, opts: LoaderOptions, progress: Progress = null_progress) -> np.ndarray:
    hit = cache.load(key, n_rows)
    if hit is not None:
        return hit
    arr = extract(model, make_dataset(), key.kind, opts, progress, f"{key.task} {key.part} {key.kind}")
    cache.save(key, arr)
    return arr
