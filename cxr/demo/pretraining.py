"""Demo stage 4: pre-train one encoder per objective from the shipped demo configs, plus the
untrained baseline (same architecture, random weights) exported the same way.
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.progress import Progress, null_progress

RUNS = "runs"


def config_dir() -> Path:
    from cxr.pretrain.config import SHIPPED_CONFIGS

    return SHIPPED_CONFIGS


def pretrain_config(method: str, out: Path, *, size: int, epochs: int, batch_size: int, device: str,
                    seed: int, workers: int):
    """pretrain/configs/demo_<method>.yaml with the demo's sizes, device and folders."""
    from cxr.pretrain.config import load_config, validate

    cfg = load_config(config_dir() / f"demo_{method}.yaml", [
        f"data.image_size={size}", f"train.epochs={epochs}", f"train.batch_size={batch_size}",
        f"train.device={device}", f"seed={seed}", f"data.workers={workers}"])
    # Paths are set directly, not as 'key=value' overrides: those are parsed as YAML, and a folder
    # name like 'a: b' or 'yes' would not survive that.
    cfg.name, cfg.output, cfg.data.cache = method, str(out / RUNS), str(out / "cache")
    validate(cfg)
    return cfg


def train_encoder(cfg, progress: Progress = null_progress) -> Path:
    """Train one run; returns its export folder (what ``cxr eval`` loads)."""
    from cxr.pretrain.engine.trainer import train

    result = train(cfg, progress=progress)
    if result.export_dir is None:
        raise RuntimeError(f"pre-training {cfg.name} finished without an export")
    return Path(result.export_dir)


def export_untrained(cfg, label_names: list[str], seed: int) -> Path:
    """Random-init model of ``cfg``'s architecture (the DLILP config has every head) as an export."""
    import torch

    from cxr.pretrain.export import export_trained
    from cxr.pretrain.models.build import build_model
    from cxr.pretrain.objectives import OBJECTIVES

    heads = OBJECTIVES.get(cfg.objective.name).heads
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(cfg, heads, len(label_names))
    out = Path(cfg.output) / cfg.name / "export"
    return export_trained(model, cfg, out, label_names=label_names, data=None,
                          extra={"objective": "none (random init)", "source": {"init_seed": seed,
                                 "architecture": f"demo_{cfg.objective.name}"}})
