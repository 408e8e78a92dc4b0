"""Reading a state dict from a file someone hands us (safetensors, a torch checkpoint, a cxr export), and
finding torchvision's ImageNet weights (``model.pretrained=torchvision``) in torch's hub cache."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from cxr.core.errors import CxrError

#: Keys that wrap the real state dict in common checkpoint layouts.
_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from ``path``: a .safetensors file, a torch file (loaded with weights_only=True),
    or a cxr export folder (model.safetensors + config.json)."""
    path = Path(path)
    if path.is_dir():
        if not (path / "model.safetensors").is_file():
            raise CxrError(f"{path}: folder has no model.safetensors (expected a cxr export folder)")
        path = path / "model.safetensors"
    if not path.is_file():
        raise CxrError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            return load_file(str(path))
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt file or refused pickle means "not a weights file"
        raise CxrError(f"{path}: cannot be read as a weights file ({type(exc).__name__}: {exc})") from None
    for key in _WRAPPERS:  # e.g. a cxr training checkpoint keeps the weights under "model"
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CxrError(f"{path}: no state dict (a mapping of names to tensors) found")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def backbone_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Backbone weights from ``path``; from a cxr checkpoint or export only its image encoder."""
    state = read_state_dict(path)
    if any(k.startswith("backbone.") for k in state):
        state = {k.removeprefix("backbone."): v for k, v in state.items() if k.startswith("backbone.")}
    return state


def load_into(module: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``module``; extra keys (a classifier) are fine, missing or misshapen ones are not."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    bad = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in own.items()
           if k in state and state[k].shape != v.shape]
    if missing or bad:
        detail = (f"{len(missing)} missing key(s), e.g. {missing[:3]}" if missing else "") + \
                 (f"; shape mismatch: {bad[:3]}" if bad else "")
        raise CxrError(f"{source}: weights do not fit this model ({detail.strip('; ')})")
    module.load_state_dict({k: state[k] for k in own}, strict=True)


#: ``model.pretrained=torchvision``: the torchvision weights of each backbone (the paper: ResNet-50 V2)
TORCHVISION_WEIGHTS = {"resnet18": "ResNet18_Weights.IMAGENET1K_V1", "resnet34": "ResNet34_Weights.IMAGENET1K_V1",
                       "resnet50": "ResNet50_Weights.IMAGENET1K_V2", "resnet101": "ResNet101_Weights.IMAGENET1K_V2"}


def resolve_pretrained(backbone: str, pretrained: str) -> str:
    """``torchvision`` -> the path of that backbone's torchvision checkpoint; anything else unchanged.
    timm's ResNets name their parameters as torchvision's do, so the file loads like any local one."""
    return str(torchvision_file(backbone)) if pretrained == "torchvision" else pretrained


def torchvision_file(backbone: str) -> Path:
    """torchvision's checkpoint for ``backbone`` in torch's hub cache (``TORCH_HOME``), downloaded once."""
    if backbone not in TORCHVISION_WEIGHTS:
        raise CxrError(f"model.pretrained=torchvision: no torchvision weights known for backbone {backbone!r} "
                       f"(known: {', '.join(TORCHVISION_WEIGHTS)}); use imagenet or a weights file")
    import torch.hub
    from torchvision.models import get_weight
    url = get_weight(TORCHVISION_WEIGHTS[backbone]).url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # the file name ends in the first hex digits of its sha256, which the download checks
        torch.hub.download_url_to_file(url, str(path), hash_prefix=path.stem.rsplit("-", 1)[-1], progress=False)
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise CxrError(f"model.pretrained=torchvision: cannot download {url} to {path} ({type(exc).__name__}: "
                       f"{exc}). Put the file there by hand, or set model.pretrained=PATH to a copy.") from None
    return path
