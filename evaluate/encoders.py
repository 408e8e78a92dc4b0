"""Image encoders behind one protocol, so cxr exports, baselines and other labs' models sit in one table.

The adapters live in ``cxr.evaluate.adapters`` (one module per source: export, timm, torchvision, dlilp,
xrv, open_clip, hf_clip); this module keeps the names existing callers import.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

from cxr.evaluate.adapters import ENCODERS, EncoderHandle, EncoderOptions, ImageEncoder, load_encoder, split_spec
from cxr.evaluate.adapters.base import IMAGENET_MEAN, IMAGENET_STD, read_state_dict
from cxr.evaluate.adapters.export import VOCABULARY_KEYS, export_vocabulary, find_export_dir, resolve_vocabulary
from cxr.evaluate.adapters.timm import load_weights
from cxr.evaluate.images import encoder_input

__all__ = ["ENCODERS", "EncoderHandle", "EncoderOptions", "IMAGENET_MEAN", "IMAGENET_STD", "ImageEncoder",
           "VOCABULARY_KEYS", "export_vocabulary", "find_export_dir", "load_encoder", "load_weights",
           "load_with_preprocess", "read_state_dict", "resolve_vocabulary", "split_spec"]


def load_with_preprocess(path: str, device: str = "cpu") -> tuple[Any, Callable]:
    """``cxr.load_encoder``: the encoder at ``path`` (an export, a run folder, or any adapter spec such as
    ``timm:NAME`` or ``xrv:FILE``) and a function turning an image file, PIL image or 2-D uint8 array into
    its input [1, C, S, S] on ``device``, prepared as the encoder's adapter says (size, pad or resize,
    channels, mean/std)."""
    model = load_encoder(path, EncoderOptions(device=device)).model
    return model, partial(encoder_input, preprocessing=model.preprocessing, device=device)
