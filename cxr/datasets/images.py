"""Any radiograph -> a square grayscale uint8 array: the one geometric preprocessing of cxr.

``square_image`` is what ``cxr prepare`` stores in its cache and what evaluation and
``cxr.load_encoder`` feed an encoder, so an encoder sees images prepared exactly as in pre-training
(bit depth, DICOM windowing, resampling, pad or resize). The tensor half (float, channels, mean/std)
is ``cxr.pretrain.models.preprocess``.

Runs inside ``cxr prepare`` worker processes, so it imports only numpy and PIL (pydicom lazily).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

#: pad: keep the aspect ratio, centred on black; pad_topleft: the same image anchored at the top-left
#: corner, black on the right/bottom (the paper's reference code pads so); resize: stretched to S×S
MODES = ("pad", "pad_topleft", "resize")
DICOM_SUFFIXES = (".dcm", ".dicom")
_RESAMPLE = Image.Resampling.BICUBIC
#: a file path, a decoded PIL image, or a 2-D array of pixels
ImageSource = str | os.PathLike | Image.Image | np.ndarray


class DecodeError(Exception):
    """An image that cannot be cached; ``status`` is 'missing' or 'unreadable'."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def is_dicom(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(DICOM_SUFFIXES)


def pydicom_available() -> bool:
    try:
        import pydicom  # noqa: F401
    except ImportError:
        return False
    return True


def square_image(source: ImageSource, size: int, mode: str = "pad") -> np.ndarray:
    """``source`` as a ``size``×``size`` grayscale uint8 array; raises ``DecodeError``.

    ``pad`` keeps the aspect ratio (longest side = size, centred on black), ``pad_topleft`` too but with
    the black border on the right/bottom only; ``resize`` stretches.
    """
    if isinstance(source, (str, os.PathLike)):
        return _square_file(Path(source), size, mode)
    try:
        image = source if isinstance(source, Image.Image) else _array_image(source)
        return to_square(_grayscale(image), size, mode)
    except (TypeError, ValueError) as exc:
        raise DecodeError("unreadable", f"{type(source).__name__} image: {exc}") from None


def _square_file(path: Path, size: int, mode: str) -> np.ndarray:
    if not path.is_file():
        raise DecodeError("missing", f"no such file: {path}")
    try:
        image = _read_dicom(path) if is_dicom(path) else _read_pil(path, size)
        return to_square(image, size, mode)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - any broken file (truncated, bomb, odd mode) is one skipped row
        raise DecodeError("unreadable", f"{path}: {type(exc).__name__}: {exc}") from None


def _array_image(pixels: np.ndarray) -> Image.Image:
    """8-bit pixels as they are; deeper ones as float, to be stretched by their range like 16-bit files."""
    if not isinstance(pixels, np.ndarray) or pixels.ndim != 2:
        raise TypeError(f"expected an image path, a PIL image or a 2-D array, got {type(pixels).__name__} "
                        f"of shape {getattr(pixels, 'shape', None)}")
    return Image.fromarray(pixels if pixels.dtype == np.uint8 else pixels.astype(np.float32))


def _read_pil(path: Path, size: int) -> Image.Image:
    with Image.open(path) as im:
        if im.format == "JPEG":
            # JPEG can decode at 1/2, 1/4, 1/8 scale for free: a 3000-px MIMIC image never
            # needs to be decoded in full to make a 224-px cache entry.
            im.draft("L", (size, size))
        im.load()
        return _grayscale(im)


def _grayscale(im: Image.Image) -> Image.Image:
    """A grayscale PIL image in mode 'L' (8-bit sources) or 'F' (deeper sources, scaled to 0..255)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _minmax_to_float(np.asarray(im))
    if im.mode == "L":
        return im.copy()
    return im.convert("L")


def _minmax_to_float(pixels: np.ndarray) -> Image.Image:
    """Stretch a high-bit-depth image to 0..255 by its own range.

    The stored bit depth says little about the range used (PadChest keeps 12-bit data in 16-bit
    PNGs), so a fixed divisor such as 65535 would give near-black images.
    """
    pixels = pixels.astype(np.float32)
    lo, hi = float(pixels.min()), float(pixels.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    return Image.fromarray((pixels - lo) * scale, mode="F")


def _read_dicom(path: Path) -> Image.Image:
    try:
        import pydicom
    except ImportError:
        raise DecodeError("unreadable", f"{path}: reading DICOM needs pydicom (pip install pydicom)") from None
    ds = pydicom.dcmread(str(path))
    pixels = _dicom_lut(ds, ds.pixel_array).astype(np.float32)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        pixels = pixels.max() - pixels  # MONOCHROME1 stores bone dark; the cache shows bone bright
    return _minmax_to_float(pixels)


def _dicom_lut(ds, pixels: np.ndarray) -> np.ndarray:
    """Apply the modality and VOI (window) transforms the scanner recorded, across pydicom 2 and 3."""
    try:
        from pydicom.pixels import apply_modality_lut, apply_voi_lut
    except ImportError:
        from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut
    return apply_voi_lut(apply_modality_lut(pixels, ds), ds)


def to_square(image: Image.Image, size: int, mode: str) -> np.ndarray:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    w, h = image.size
    if mode == "resize":
        target = (size, size)
    else:
        scale = size / max(w, h)
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
    if image.size != target:
        image = image.resize(target, _RESAMPLE, reducing_gap=2.0)
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    if pixels.shape == (size, size):
        return pixels
    out = np.zeros((size, size), dtype=np.uint8)
    top, left = (0, 0) if mode == "pad_topleft" else ((size - pixels.shape[0]) // 2, (size - pixels.shape[1]) // 2)
    out[top:top + pixels.shape[0], left:left + pixels.shape[1]] = pixels
    return out
