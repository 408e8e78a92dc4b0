"""``timm:NAME``: a timm backbone (random init, seeded; or ``--weights FILE``), pooled features, probe only.

Preprocessing: the model's pretrained_cfg mean/std (ImageNet for most), 3 channels, 224 px, padded square.
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import InputError

from cxr.evaluate.adapters.base import (ENCODERS, IMAGENET_MEAN, IMAGENET_STD, EncoderHandle, EncoderOptions,
                                        FeatureEncoder, handle, load_checked, read_state_dict, weights_sha)


def load_weights(model, path: str | Path, arch: str) -> None:
    """Load strictly (except the classifier the backbone dropped); name the keys that do not fit."""
    head = (model.pretrained_cfg or {}).get("classifier") or ""
    heads = (head,) if isinstance(head, str) else tuple(head)
    load_checked(model, read_state_dict(path), path, arch,
                 ignore=lambda k: any(h and k.startswith(h + ".") for h in heads))


def _create(timm, name: str):
    """Random init as pre-training's default ``model.init: standard``: timm zeroes each residual block's
    last norm scale in its ResNets, which makes an untrained baseline unfairly weak (docs/reproduce.md)."""
    try:
        return timm.create_model(name, pretrained=False, num_classes=0, zero_init_last=False)
    except TypeError as exc:  # families without residual zero-init reject the keyword
        if "zero_init_last" not in str(exc):
            raise
        return timm.create_model(name, pretrained=False, num_classes=0)


@ENCODERS.register("timm")
def load_timm(name: str, options: EncoderOptions) -> EncoderHandle:
    import timm
    import torch

    from cxr.pretrain.export import Preprocessing

    if not timm.is_model(name):
        raise InputError(f"unknown timm model {name!r} (see timm.list_models())")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.init_seed)  # a random-init baseline must be the same network every run
        model = _create(timm, name)
    if options.weights:
        load_weights(model, options.weights, f"timm:{name}")
    sha = weights_sha(options.weights)
    cfg = model.pretrained_cfg or {}
    size = options.image_size or 224
    pre = Preprocessing(size, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD)))
    parts = {"source": "timm", "model": name, "weights_sha256": sha,
             "init_seed": None if sha else options.init_seed, "init": "standard", "image_size": size}
    label = f"timm:{name}" + (f" ({Path(options.weights).name})" if options.weights else " (random init)")
    return handle(FeatureEncoder(model, pre), label, parts, options)
