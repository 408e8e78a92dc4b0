"""``timm:NAME``: a timm backbone (random init, seeded; or ``--weights FILE``), pooled features, probe only.

Preprocessing: the model's pretrained_cfg mean/std (ImageNet for most), 3 channels, 224 px, padded square.
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import InputError

from cxr.evaluate.adapters.base import (ENCODERS, IMAGENET_MEAN, IMAGENET_STD, EncoderHandle, EncoderOptions,
                                        backbone_handle, load_checked, read_state_dict, seeded)


def load_weights(model, path: str | Path, arch: str) -> None:
    """Load strictly (except the classifier the backbone dropped); name the keys that do not fit."""
    head = (model.pretrained_cfg or {}).get("classifier") or ""
    heads = (head,) if isinstance(head, str) else tuple(head)
    load_checked(model, read_state_dict(path), path, arch,
                 ignore=lambda k: any(h and k.startswith(h + ".") for h in heads))


@ENCODERS.register("timm")
def load_timm(name: str, options: EncoderOptions) -> EncoderHandle:
    import timm

    from cxr.pretrain.export import untrained_backbone

    if not timm.is_model(name):
        raise InputError(f"unknown timm model {name!r} (see timm.list_models())")
    # built as pre-training builds it (standard init: timm's zeroed residual scales would make the
    # untrained baseline unfairly weak; fixed-size models at --image-size)
    model = seeded(options.init_seed, lambda: untrained_backbone(name, options.image_size))
    if options.weights:
        load_weights(model, options.weights, f"timm:{name}")
    cfg = model.pretrained_cfg or {}
    return backbone_handle(model, "timm", name, options, cfg.get("mean", IMAGENET_MEAN), cfg.get("std", IMAGENET_STD))
