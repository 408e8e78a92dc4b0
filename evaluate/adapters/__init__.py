"""Encoder adapters: one module per source, each carrying the preprocessing its encoder was trained with.

``load_encoder(SPEC)`` picks the adapter by the spec's ``scheme:`` prefix (a bare path is a cxr export):

| spec | module |
|---|---|
| ``RUN_OR_EXPORT_DIR`` | ``export`` |
| ``timm:NAME`` (+ ``--weights``) | ``timm`` |
| ``torchvision:NAME`` (+ ``--weights``) | ``torchvision`` |
| ``dlilp:CHECKPOINT.pth[:TEXT]`` | ``dlilp`` |
| ``xrv:FILE``, ``xrv:ARCH:FILE``, ``xrv:ARCH`` (+ ``--weights``) | ``xrv`` |
| ``open_clip:ARCH:FILE`` | ``open_clip`` |
| ``hf-clip:FOLDER`` | ``hf_clip`` |

A new source is a module here with ``@ENCODERS.register("<scheme>")`` imported below. Optional libraries
(torchxrayvision, open_clip_torch) are imported inside their adapter; the ``adapters`` extra installs them.
"""
from __future__ import annotations

from cxr.evaluate.adapters import dlilp, export, hf_clip, open_clip, timm, torchvision, xrv  # noqa: F401 (registration)
from cxr.evaluate.adapters.base import ENCODERS, EncoderHandle, EncoderOptions, ImageEncoder

__all__ = ["ENCODERS", "EncoderHandle", "EncoderOptions", "ImageEncoder", "load_encoder", "split_spec"]


def split_spec(spec: str) -> tuple[str, str]:
    """(adapter, rest): a registered ``scheme:`` prefix, else the cxr export adapter on the whole spec."""
    scheme, _, rest = spec.partition(":")
    if rest and scheme in ENCODERS and scheme != "export":
        return scheme, rest
    return "export", spec


def load_encoder(spec: str, options: EncoderOptions | None = None) -> EncoderHandle:
    adapter, rest = split_spec(spec)
    return ENCODERS.get(adapter)(rest, options or EncoderOptions())
