"""Image backbones: a registry of named factories, with any timm model name as the fallback.

A backbone is an ``nn.Module`` mapping ``[B, 3, H, W]`` float images to pooled features ``[B, F]``, with
``num_features`` (F) and ``pretrained_cfg["mean"/"std"]`` (the normalisation its weights expect) —
the interface timm models already have, so a timm model is used as is.

``pretrained``: ``none`` (random init), ``imagenet`` (timm's default weights from the Hugging Face hub;
fails at once with a clear message when offline), or a path to a state dict / cxr checkpoint / cxr export.

``init`` (``INITS``) is how a randomly initialised network starts: ``standard`` (every normalisation
scale 1) or ``zero-residual`` (the last normalisation scale, or conv, of each residual block at 0, so
every block starts as the identity: timm's ``zero_init_last``, on by default for its ResNets). Loaded
weights overwrite either.

``num_features`` is the width of what ``forward`` returns: for timm models whose head widens the pooled
features (mobilenetv3, ghostnet, efficientvit: ``head_hidden_size`` != ``num_features``) it is set to the
real width. Models with a fixed input size (ViT, DeiT, Swin, LeViT) are built for ``image_size``.
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

#: model.init -> timm's ``zero_init_last``
INITS = {"standard": False, "zero-residual": True}


def build_backbone(name: str, pretrained: str = "none", image_size: int | None = None,
                   init: str = "standard") -> nn.Module:
    """A registered backbone, else a timm model of that name, whose ``forward`` gives ``[B, num_features]``."""
    if init not in INITS:
        raise CxrError(f"model.init={init!r}: must be one of {', '.join(INITS)}")
    if name in BACKBONES:
        if INITS[init]:
            raise CxrError(f"model.init={init}: the registered backbone {name!r} has no zero-residual option; "
                           "use model.init=standard")
        return BACKBONES.get(name)(pretrained)
    import timm
    if not timm.is_model(name):
        raise CxrError(f"unknown image backbone {name!r}: neither registered ({', '.join(BACKBONES.names())}) "
                       "nor a timm model name (see timm.list_models())")
    return _timm_backbone(name, pretrained, image_size, init)


def available_backbones() -> list[str]:
    return BACKBONES.names()


def check_backbone(backbone: nn.Module, image_size: int, name: str, device: torch.device | str = "cpu") -> None:
    """One forward of a blank image at ``image_size``: a backbone that cannot take that size, or whose output
    is not ``[B, num_features]``, fails here with its name, before a run folder exists."""
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            out = backbone(torch.zeros(1, 3, image_size, image_size, device=device))
    except Exception as exc:  # noqa: BLE001 - any failure means this size does not work for this model
        raise CxrError(f"backbone {name!r} fails on a {image_size} px image ({type(exc).__name__}: "
                       f"{str(exc)[:300]}); pick another data.image_size or backbone") from None
    finally:
        backbone.train(was_training)
    width = int(backbone.num_features)
    if out.ndim != 2 or out.shape[1] != width:
        raise CxrError(f"backbone {name!r} returns shape {tuple(out.shape)} at {image_size} px, not "
                       f"[batch, {width}] pooled features")


def _timm_backbone(name: str, pretrained: str, image_size: int | None, init: str) -> nn.Module:
    kwargs = {"num_classes": 0, **_size_kwargs(name, image_size)}
    if pretrained == "imagenet":
        try:
            model = _create(name, True, init, kwargs)
        except CxrError:
            raise
        except Exception as exc:  # noqa: BLE001 - hub/network errors come in many types
            raise CxrError(_imagenet_hint(name, exc)) from None
    else:
        model = _create(name, False, init, kwargs)
        _load_local(model, pretrained, name)
    # pooled features may be widened by a head layer (mobilenetv3: 288 pooled -> conv_head 1024)
    model.num_features = int(getattr(model, "head_hidden_size", None) or model.num_features)
    return model


def _create(name: str, pretrained: bool, init: str, kwargs: dict) -> nn.Module:
    """The timm model with ``zero_init_last`` set where the architecture has that option (its residual
    families); the others have no zero-initialised blocks, so only ``standard`` applies to them."""
    import timm
    try:
        return timm.create_model(name, pretrained=pretrained, zero_init_last=INITS[init], **kwargs)
    except TypeError as exc:
        if "zero_init_last" not in str(exc):
            raise
    if INITS[init]:
        raise CxrError(f"model.init={init}: timm model {name!r} has no zero-residual option "
                       "(zero_init_last); use model.init=standard")
    return timm.create_model(name, pretrained=pretrained, **kwargs)


def _size_kwargs(name: str, image_size: int | None) -> dict:
    """``img_size`` for models built for one input size (position embeddings, attention windows)."""
    from timm.models import get_pretrained_cfg
    cfg = get_pretrained_cfg(name)
    if image_size is None or cfg is None or not cfg.fixed_input_size or cfg.input_size[-1] == image_size:
        return {}
    return {"img_size": image_size}


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
