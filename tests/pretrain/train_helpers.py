"""Shared builders for the trainer tests: tiny configs on in-memory toy data (CPU, seconds)."""
from __future__ import annotations

from pathlib import Path

import torch

from cxr.pretrain.config import Config, dump_yaml, load_config, to_dict


def tiny_overrides(output: Path, objective: str = "dlilp", name: str | None = None) -> list[str]:
    return [
        f"name={name or objective}", f"output={output}", "data.toy=192", "data.image_size=32", "data.workers=0",
        "data.val_fraction=0.25", "model.backbone=tiny_cnn", "model.pretrained=none", "model.text=tiny_bert",
        "model.embed_dim=32", "model.text_max_length=16", "model.channels_last=false", f"objective.name={objective}",
        "train.epochs=2", "train.batch_size=16", "train.log_every=1", "train.ckpt_every=4", "train.patience=0",
        "optim.lr=3e-3", "optim.warmup_epochs=0.5", "augment.p=0.5",
    ]


def tiny_config(output: Path, objective: str = "dlilp", *extra: str, name: str | None = None) -> Config:
    return load_config(None, tiny_overrides(output, objective, name) + list(extra))


def write_config(cfg: Config, path: Path) -> Path:
    path.write_text(dump_yaml(to_dict(cfg)), encoding="utf-8")
    return path


def train_rows(run_dir: Path, metric: str = "loss") -> list[tuple[int, float]]:
    """(step, value) of a train metric from metrics.csv."""
    import csv
    with open(run_dir / "metrics.csv", newline="") as fh:
        return [(int(r["step"]), float(r["value"])) for r in csv.DictReader(fh)
                if r["split"] == "train" and r["metric"] == metric]


def checkpoint_weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def one_thread():
    """Generator for an autouse fixture: tiny models run fastest on one thread, and on a busy 2-core
    machine OpenMP's spinning threads can make them 100x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train_on_resized_cache(root: Path, objective: str = "dlilp") -> tuple[Config, Path]:
    """A tiny run pre-trained on a ``cxr prepare`` cache of *resized* (stretched, not padded) 40x32 PNGs."""
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
    from cxr.pretrain.engine.trainer import train
    from tests.pretrain.data_helpers import fixture_ontology, image_folder, write_manifest_csv

    manifest = write_manifest_csv(root, image_folder(root, 16))
    cache = root / "cache"
    prepare_cache(manifest, cache, PrepareConfig(size=32, mode="resize", val_fraction=0.25), onto=fixture_ontology())
    cfg = tiny_config(root, objective, "data.toy=0", "data.vocabulary=", "train.epochs=1", "train.batch_size=4")
    cfg.data.cache = str(cache)   # set directly: an override is parsed as YAML
    train(cfg)
    return cfg, cache
