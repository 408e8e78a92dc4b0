"""Image files -> encoder input: resolve paths, then prepare each image as the encoder's export says.

Preprocessing is the pre-training cache's (contract): ``cxr.datasets.images.square_image`` (grayscale,
padded or resized to the encoder's ``image_size``, as the encoder's cache was; never cropped: findings sit
at the costophrenic angles and apices), then the encoder's ``Preprocessing.tensor`` (channels, mean/std).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from cxr.core.errors import InputError
from cxr.datasets.images import DICOM_SUFFIXES, DecodeError, ImageSource, is_dicom, pydicom_available, square_image

if TYPE_CHECKING:
    import torch

    from cxr.pretrain.export import Preprocessing

RASTER_SUFFIXES = (".png", ".jpg", ".jpeg")


# --- locating files ------------------------------------------------------------------------------
class _StemIndex:
    """file stem -> path below a root, built once and only when a direct lookup failed."""

    def __init__(self, root: Path):
        self.root, self._index = root, None

    def find(self, stem: str) -> Path | None:
        if self._index is None:
            self._index = {}
            seen_twice = set()
            for folder, _, names in os.walk(self.root):
                for name in names:
                    s, suffix = os.path.splitext(name)
                    if suffix.lower() in RASTER_SUFFIXES + DICOM_SUFFIXES:
                        if s in self._index:
                            seen_twice.add(s)
                        self._index[s] = Path(folder) / name
            for s in seen_twice:  # an ambiguous name must not silently pick one of two files
                self._index.pop(s)
        return self._index.get(stem)


def _with_raster_first(p: Path) -> list[Path]:
    """A DICOM path is also looked for as PNG/JPEG (converted copies need no pydicom)."""
    alternatives = [p.with_suffix(s) for s in RASTER_SUFFIXES]
    if p.suffix.lower() in DICOM_SUFFIXES:
        return alternatives + [p]
    return [p] + [a for a in alternatives if a != p]


def _direct(rel: Path, roots: Sequence[Path]) -> Path | None:
    if rel.is_absolute():
        tries = [rel]
    else:
        # Also try the path without its leading folders: users point at different levels of a dataset.
        tails = [Path(*rel.parts[i:]) for i in range(len(rel.parts))]
        tries = [root / t for t in tails for root in roots]
    for t in tries:
        for candidate in _with_raster_first(t):
            if candidate.is_file():
                return candidate
    return None


def resolve_images(paths: Sequence[str], roots: Sequence[str | Path], what: str = "split") -> list[Path]:
    """Existing file for every split path; one error listing the first missing ones otherwise."""
    roots = [Path(r) for r in roots if r is not None]
    indexes = [_StemIndex(r) for r in roots if r.is_dir()]
    resolved, missing = [], []
    for p in paths:
        hit = _direct(Path(p), roots)
        if hit is None:
            hit = next((f for ix in indexes if (f := ix.find(Path(p).stem)) is not None), None)
        if hit is None:
            missing.append(p)
        resolved.append(hit)
    if missing:
        where = ", ".join(str(r) for r in roots) or "(no image folder given: pass --images DIR)"
        raise InputError(f"{len(missing)} of {len(paths)} images of {what} not found under {where}; "
                         f"first missing: {missing[:5]}")
    return resolved


# --- reading pixels ------------------------------------------------------------------------------
def load_square(source: ImageSource, size: int, mode: str = "pad") -> np.ndarray:
    """uint8 ``size`` x ``size`` image of a file, a PIL image or a 2-D array, padded or resized.

    The same decoding ``cxr prepare`` uses for pre-training (bit depth, DICOM windowing, resampling),
    so an encoder is evaluated on images prepared exactly as it was trained on.
    """
    if isinstance(source, (str, os.PathLike)) and is_dicom(source) and not pydicom_available():
        raise InputError(f"{source} is DICOM and pydicom is not installed; convert the images to PNG "
                         "with the same names (they are found automatically) or install pydicom")
    try:
        return square_image(source, size, mode)
    except DecodeError as exc:
        raise InputError(f"cannot read image: {exc}") from None   # exc names the file


def encoder_input(source: ImageSource, preprocessing: Preprocessing, device: str = "cpu") -> torch.Tensor:
    """One image (file, PIL image or 2-D array) -> the encoder's float input [1, C, S, S] on ``device``."""
    pixels = load_square(source, preprocessing.image_size, preprocessing.mode)
    return preprocessing.tensor(pixels).to(device)


class ImageDataset:
    """A torch-style dataset of normalised C x S x S float tensors (a DataLoader batches it)."""

    def __init__(self, paths: Sequence[Path], preprocessing: Preprocessing):
        self.paths, self.preprocessing = list(paths), preprocessing

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        return encoder_input(self.paths[i], self.preprocessing)[0]
