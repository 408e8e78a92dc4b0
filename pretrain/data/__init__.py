"""Pre-training data: source readers -> manifest -> ``cxr prepare`` cache -> ``CacheDataset``.

Importing this package stays light (no torch): ``CacheDataset`` and friends load on first access.

- ``pretrain.data.sources``: ``@register_source`` readers (mimic-cxr, chexpert, padchest,
  chestxray14, manifest) returning ``SourceFrame``s in each dataset's own vocabulary.
- ``pretrain.data.labelspace.build_label_matrix``: one label space, ``not_annotated`` per row.
- ``pretrain.data.manifest``: the manifest format, reading and validation.
- ``pretrain.data.prepare.prepare``: the resumable, parallel image cache writer.
- ``pretrain.data.dataset.CacheDataset``: what the trainer reads.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "CacheDataset": "pretrain.data.dataset",
    "prepare_cache": "pretrain.data.prepare",
    "PrepareConfig": "pretrain.data.prepare",
    "read_manifest": "pretrain.data.manifest",
    "write_manifest": "pretrain.data.manifest",
    "ManifestOptions": "pretrain.data.manifest",
    "build_label_matrix": "pretrain.data.labelspace",
    "assign_split": "pretrain.data.split",
    "read_source": "pretrain.data.sources",
    "register_source": "pretrain.data.sources",
    "SOURCES": "pretrain.data.sources",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pretrain.data' has no attribute {name!r}")
