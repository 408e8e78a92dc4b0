"""The run folder: where it is, whether it may be (re)used, and the resolved config with provenance.

Resuming checks the new config against the one in the checkpoint: only ``RESUMABLE_KEYS`` may differ
(see pretrain.config); anything else is refused with the differing keys named, because continuing a
run under other settings would silently produce a model that no config describes.
"""
from __future__ import annotations

import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from cxr.core.atomic import atomic_write_text
from cxr.core.errors import CxrError
from cxr.core.provenance import git_sha
from cxr.pretrain.config import RESUMABLE_KEYS, Config, diff, dump_yaml, flatten, load_config, to_dict
from cxr.pretrain.engine.checkpoint import LAST, load_checkpoint

CONFIG_NAME = "config.yaml"


def config_for_resume(run_dir: str | Path, overrides: list[str] | None = None,
                      config_path: str | Path | None = None) -> Config:
    """The config to resume ``run_dir`` with: its saved config.yaml (or ``config_path``) plus overrides."""
    run_dir = Path(run_dir)
    source = Path(config_path) if config_path else run_dir / CONFIG_NAME
    if not source.is_file():
        raise CxrError(f"cannot resume {run_dir}: no {CONFIG_NAME} there (is it a cxr pretrain run folder?)")
    return load_config(source, overrides)


def new_run_dir(cfg: Config) -> Path:
    run_dir = cfg.run_dir
    if (run_dir / LAST).exists():
        raise CxrError(f"{run_dir} already holds a run: continue it with --resume {run_dir}, "
                       f"or pick another name (--set name=...)")
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def load_for_resume(run_dir: Path, cfg: Config) -> dict[str, Any]:
    """The last checkpoint of ``run_dir``, after checking ``cfg`` may continue it."""
    ckpt = load_checkpoint(run_dir / LAST)
    saved, new = ckpt["config"], to_dict(cfg)
    changed = [k for k in diff(saved, new) if k not in RESUMABLE_KEYS]
    if changed:
        fs, fn = flatten(saved), flatten(new)
        detail = "; ".join(f"{k}: {fs.get(k)!r} -> {fn.get(k)!r}" for k in changed)
        raise CxrError(f"cannot resume {run_dir}: the config differs in {', '.join(changed)} ({detail}). "
                       f"Only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume; start a new run instead.")
    return ckpt


def check_data_hash(ckpt: dict[str, Any], record: dict[str, Any], run_dir: Path) -> None:
    if ckpt.get("data_hash") != record.get("hash"):
        raise CxrError(f"cannot resume {run_dir}: the training data changed (hash {ckpt.get('data_hash')} "
                       f"when it started, {record.get('hash')} now)")


def write_config(run_dir: Path, cfg: Config, data_record: dict[str, Any], world_size: int,
                 resumed_at: int | None) -> None:
    provenance = {
        "git_sha": git_sha(), "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data": data_record, "world_size": world_size, "torch": str(torch.__version__),
        "python": platform.python_version(), "host": platform.node(),
        "resumed_at_step": resumed_at,
    }
    atomic_write_text(run_dir / CONFIG_NAME, dump_yaml({**to_dict(cfg), "provenance": provenance}))
