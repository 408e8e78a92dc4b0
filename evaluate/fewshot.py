"""K-shot support sets: exactly K images per class from the train pool, fixed by the seed.

For one seed the sets are nested (the K=2 set contains the K=1 set, ...): each class's pool is permuted
once per seed and the first K taken, so the curve over K measures more data, not a new random draw.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from cxr.evaluate.errors import ShotsError

Shot = Union[int, str]          # an int K, or "all" (the whole train pool)
ALL = "all"


def parse_shots(text: str) -> list[Shot]:
    """``"1,2,4,8,16,all"`` -> [1, 2, 4, 8, 16, "all"]."""
    shots: list[Shot] = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        if part.lower() == ALL:
            shots.append(ALL)
            continue
        try:
            k = int(part)
        except ValueError:
            raise ShotsError(f"--shots: {part!r} is neither a positive integer nor 'all'") from None
        if k < 1:
            raise ShotsError(f"--shots: K must be at least 1, got {k}")
        shots.append(k)
    if not shots:
        raise ShotsError("--shots: give at least one K, e.g. 1,2,4,8,16")
    return shots


def check_shots(shots: Sequence[Shot], labels: np.ndarray, classes: Sequence[str], task: str) -> None:
    """Fail before any work when some K exceeds the smallest class's train pool."""
    counts = np.bincount(labels, minlength=len(classes))
    ks = [k for k in shots if k != ALL]
    if not ks:
        return
    smallest = int(counts.argmin())
    if max(ks) > counts[smallest]:
        raise ShotsError(f"task {task!r}: K={max(ks)} is larger than the train pool of class "
                         f"{classes[smallest]!r} ({counts[smallest]} images); use --shots up to "
                         f"{counts[smallest]} or a split with a larger train pool")


def sample_k_shot(labels: np.ndarray, k: Shot, seed: int) -> np.ndarray:
    """Indices into ``labels`` (sorted): K per class, or every index for K='all'."""
    labels = np.asarray(labels)
    if k == ALL:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(labels):
        pool = np.flatnonzero(labels == c)
        if k > len(pool):
            raise ShotsError(f"K={k} exceeds the {len(pool)} train images of class index {int(c)}")
        picked.append(pool[rng.permutation(len(pool))[:k]])
    return np.sort(np.concatenate(picked))
