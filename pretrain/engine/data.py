"""The run's datasets: a ``cxr prepare`` cache read through ``pretrain.data.CacheDataset``, or the in-memory
toy phantoms (``data.toy: N``, ``pretrain.synthetic.toy``). Also the data record saved with the run (hashes
checked on resume).

The train/val split and the exclusion of evaluation patients happen in ``cxr prepare`` (by patient);
``data.val_fraction`` applies to toy data only, and ``data.exclude_patients`` is verified against the
list the cache was prepared with, so evaluation patients cannot slip into pre-training.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxr.core.errors import CxrError
from cxr.core.provenance import file_sha256
from cxr.datasets.patients import patient_digest
from cxr.pretrain.config import Config
from cxr.pretrain.synthetic.toy import toy_split


@dataclass
class DataBundle:
    train: Any
    val: Any | None
    label_names: list[str]
    record: dict[str, Any]      # saved in config.yaml; ``record["hash"]`` must match on resume


def build_datasets(cfg: Config) -> DataBundle:
    return _toy(cfg) if cfg.data.toy > 0 else _cache(cfg)


def _toy(cfg: Config) -> DataBundle:
    d = cfg.data
    train, val = toy_split(d.toy, d.image_size, d.val_fraction, cfg.seed)
    record = {"source": "toy", "items": d.toy, "hash": f"toy:{d.toy}:{d.image_size}:{d.val_fraction}:{cfg.seed}"}
    return DataBundle(train, val if len(val) else None, train.label_names, record)


def _cache(cfg: Config) -> DataBundle:
    from cxr.pretrain.data.dataset import CacheDataset
    from cxr.pretrain.data.layout import read_meta
    d = cfg.data
    if not d.cache:
        raise CxrError("data.cache is not set: give the folder written by `cxr prepare` "
                       "(--set data.cache=PATH), or data.toy=N for synthetic data")
    meta = read_meta(d.cache)
    _check_exclusion(d.exclude_patients, meta, d.cache)
    names = _label_names(d.vocabulary) if d.vocabulary else None
    train = CacheDataset(d.cache, split="train", label_names=names, seed=cfg.seed)
    val = CacheDataset(d.cache, split="val", label_names=names, seed=cfg.seed)
    if len(train) == 0:
        raise CxrError(f"{d.cache}: no training items (split 'train' is empty)")
    record = {"source": "cache", "cache": str(Path(d.cache).resolve()), "hash": meta.get("fingerprint"),
              "manifest_sha256": (meta.get("manifest") or {}).get("sha256"), "items": meta.get("ok"),
              "split": meta.get("split"), "exclude_patients": meta.get("exclude_patients"),
              "cache_git_sha": meta.get("git_sha"),
              # what the export needs: how images were squared, the label space, whose images they were
              "image_mode": meta["images"]["mode"], "vocabulary": d.vocabulary or meta.get("vocabulary"),
              "patients_sha256": _patients_sha256(d.cache)}
    return DataBundle(train, val if len(val) else None, list(train.label_names), record)


def _patients_sha256(cache: str) -> str:
    """Digest of every patient of the cache (train and val rows: both shaped the encoder)."""
    import pyarrow.parquet as pq
    from cxr.pretrain.data.layout import INDEX
    ids = pq.read_table(Path(cache) / INDEX, columns=["patient_id"]).column("patient_id").to_pylist()
    return patient_digest(ids)


def _label_names(vocabulary: str) -> list[str]:
    from cxr.labeler.ontology import load_ontology
    return load_ontology().vocabulary(vocabulary)


def _check_exclusion(path: str, meta: dict, cache: str) -> None:
    if not path:
        return
    if not Path(path).is_file():
        raise CxrError(f"data.exclude_patients: file not found: {path}")
    recorded = meta.get("exclude_patients") or {}
    if recorded.get("sha256") != file_sha256(path):
        what = "without an exclusion list" if not recorded else f"with a different list ({recorded.get('path')})"
        raise CxrError(f"{cache} was prepared {what}, but data.exclude_patients={path}: rerun "
                       f"`cxr prepare ... --exclude-patients {path}` so these patients are not pre-trained on")
