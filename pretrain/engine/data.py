"""The run's datasets: a ``cxr prepare`` cache read through ``pretrain.data.CacheDataset``, or the in-memory
toy phantoms (``data.toy: N``, ``pretrain.synthetic.toy``). Also the data record saved with the run (hashes
checked on resume).

The train/val split and the exclusion of evaluation patients happen in ``cxr prepare`` (by patient);
``data.val_fraction`` applies to toy data only, and ``data.exclude_patients`` is verified against the
list the cache was prepared with, so evaluation patients cannot slip into pre-training.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxr.core.errors import CxrError
from cxr.core.provenance import file_sha256
from cxr.datasets.patients import patient_digest
from cxr.pretrain.config import Config
from cxr.pretrain.synthetic.toy import toy_split

log = logging.getLogger("pretrain")


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
    _check_image_mode(d.image_mode, meta, d.cache)
    train = CacheDataset(d.cache, split="train", label_names=names, seed=cfg.seed, label_text=d.label_text)
    val = CacheDataset(d.cache, split="val", label_names=names, seed=cfg.seed, label_text=d.label_text)
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


def _check_image_mode(wanted: str, meta: dict, cache: str) -> None:
    have = meta["images"]["mode"]
    if wanted and have != wanted:
        flag = {"pad": "--pad", "pad_topleft": "--pad-topleft", "resize": "--resize"}[wanted]
        raise CxrError(f"{cache} holds images squared by {have!r}, but data.image_mode={wanted!r}: "
                       f"rerun `cxr prepare ... {flag}` (or set data.image_mode to {have!r})")


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


# --- text for the image-text objectives ---------------------------------------------------------------
def text_counts(dataset: Any) -> dict[str, int]:
    """How many items of ``dataset`` have any text (report sentence or label prompt) and report text, at
    epoch 0 (whether an item has text does not change with the epoch, only which text it gets)."""
    n = len(dataset)
    if hasattr(dataset, "has_text_mask"):   # a cache: read off its arrays, no caption is built
        return {"items": n, "with_text": int(dataset.has_text_mask().sum()),
                "with_report": int(dataset.has_report_mask().sum())}
    items = [dataset[i] for i in range(n)]
    return {"items": n, "with_text": sum(1 for it in items if str(it["text"]).strip()),
            "with_report": sum(1 for it in items if it["has_report"] and str(it["text"]).strip())}


def check_text(bundle: DataBundle, objective: Any, cfg: Config) -> dict[str, int] | None:
    """Refuse an objective that needs text on data without any; say loudly when only some items have it.
    Returns the counts (recorded with the run), None for objectives without a text term."""
    from cxr.pretrain.objectives.base import TEXT_KINDS
    if not objective.needs_text:
        return None
    counts = text_counts(bundle.train)
    n, usable = counts["items"], counts["with_report" if objective.text_kind == "report" else "with_text"]
    what, name = TEXT_KINDS[objective.text_kind], cfg.objective.name
    where = cfg.data.cache if cfg.data.toy <= 0 else f"data.toy={cfg.data.toy}"
    if usable == 0:
        raise CxrError(f"{where}: objective {name} pairs images with {what}, but none of its {n} training items "
                       f"has any: its image-text term would be 0 throughout. Use a cache prepared from a "
                       f"manifest with a 'report' column, or objective.name=unimodal.")
    reports = counts["with_report"]
    if reports < n:
        rest = (f"objective {name} leaves the other {n - reports} out of its image-text term"
                if objective.text_kind == "report" else
                f"{usable - reports} get a label prompt instead, {n - usable} have no text and are left out "
                f"of the image-text term")
        log.warning("%s: %d of %d training items have report text; %s", where, reports, n, rest)
    return counts
