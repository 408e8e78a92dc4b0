"""Checkpoints: written atomically (a crash never leaves a truncated file), read with weights_only=True.

A checkpoint holds everything needed to continue bit-for-bit: model, optimizer, scheduler, grad scaler,
the RNG states of every process (python, numpy, torch, cuda), the epoch, the optimizer step, how many
batches of the current epoch were consumed, early-stopping state, and the resolved config.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cxr.core.atomic import atomic_path
from cxr.core.errors import CxrError

LAST, BEST = "checkpoint-last.pt", "checkpoint-best.pt"


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CxrError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise CxrError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None


def capture_rng() -> dict[str, Any]:
    """RNG states as plain lists/tensors (weights_only loading accepts no numpy arrays)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python": _to_lists(random.getstate()),
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _to_lists(x: Any) -> Any:
    return [_to_lists(v) for v in x] if isinstance(x, (tuple, list)) else x
