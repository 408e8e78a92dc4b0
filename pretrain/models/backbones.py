"""Image backbones: a registry of named factories, with any timm model name as the fallback.

A backbone is an ``nn.Module`` mapping ``[B, 3, H, W]`` float images to pooled features ``[B, F]``, with
``num_features`` (F) and ``pretrained_cfg["mean"/"std"]`` (the normalisation its weights expect) —
the interface timm models already have, so a timm model is used as is.

``pretrained``: ``none`` (random init), ``imagenet`` (timm's default weights from the Hugging Face hub;
fails at once with a clear message when offline), or a path to a state dict / cxr checkpoint / cxr export.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from cxr.core.errors import CxrError
from cxr.core.registry import Registry
from cxr.pretrain.models.weights import backbone_state, load_into

BackboneFactory = Callable[[str], nn.Module]
BACKBONES: Registry[BackboneFactory] = Registry("image backbone")


def build_backbone(name: str, pretrained: str = "none") -> nn.Module:
    """A registered backbone, else a timm model of that name."""
    if name in BACKBONES:
        return BACKBONES.get(name)(pretrained)
    import timm
    if not timm.is_model(name):
        raise CxrError(f"unknown image backbone {name!r}: neither registered ({', '.join(BACKBONES.names())}) "
                       "nor a timm model name (see timm.list_models())")
    return _timm_backbone(name, pretrained)


def available_backbones() -> list[str]:
    return BACKBONES.names()


def _timm_backbone(name: str, pretrained: str) -> nn.Module:
    import timm
    if pretrained == "imagenet":
        try:
            return timm.create_model(name, pretrained=True, num_classes=0)
        except Exception as exc:  # noqa: BLE001 - hub/network errors come in many types
            raise CxrError(_imagenet_hint(name, exc)) from None
    model = timm.create_model(name, pretrained=False, num_classes=0)
    _load_local(model, pretrained, name)
    return model


def _imagenet_hint(name: str, exc: Exception) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    why = "HF_HUB_OFFLINE is set and the weights are not in the local cache" if offline \
        else f"the download failed ({type(exc).__name__})"
    return (f"model.pretrained=imagenet: cannot get ImageNet weights for {name!r}: {why}. "
            "Use model.pretrained=none, or model.pretrained=PATH to a downloaded state dict "
            "(.safetensors/.pth), or run once with network access to fill the Hugging Face cache.")


def _load_local(model: nn.Module, pretrained: str, name: str) -> None:
    if pretrained in ("", "none"):
        return
    path = Path(pretrained)
    if not path.exists():
        raise CxrError(f"model.pretrained={pretrained!r}: not 'none', 'imagenet' or an existing path")
    load_into(model, backbone_state(path), f"model.pretrained={pretrained} for backbone {name!r}")


# ------------------------------------------------------------------------------------------------
class TinyCNN(nn.Module):
    """Four stride-2 conv blocks with GroupNorm (no BatchNorm, so results do not depend on how a batch is
    split across processes) and global average pooling. For tests and CPU demos."""

    def __init__(self, width: int = 16):
        super().__init__()
        chans = [3, width, width * 2, width * 4, width * 4]
        blocks = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            blocks += [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                       nn.GroupNorm(min(4, cout), cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*blocks)
        self.num_features = chans[-1]
        self.pretrained_cfg = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


@BACKBONES.register("tiny_cnn")
def tiny_cnn(pretrained: str = "none") -> nn.Module:
    if pretrained == "imagenet":
        raise CxrError("model.pretrained=imagenet: tiny_cnn has no ImageNet weights; use none or a path")
    model = TinyCNN()
    _load_local(model, pretrained, "tiny_cnn")
    return model
