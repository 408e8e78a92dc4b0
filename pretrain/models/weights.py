"""Reading a state dict from a file someone hands us (safetensors, a torch checkpoint, a cxr export)."""
from __future__ import annotations

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
