"""``CacheDataset``: what the trainer reads (the contract in docs/contracts.md, "Training data").

Everything per item is a memory-mapped slice or an array lookup; nothing is decoded. Report
sentences stay in flat byte buffers (not Python lists of str), so forked DataLoader workers share
them instead of copying them page by page as reference counts change.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.utils.data import Dataset

from cxr.core.errors import InputError
from cxr.pretrain.data import layout
from cxr.pretrain.data.manifest import ANNOTATION_SEP
from cxr.pretrain.data.text import LABEL_TEXTS, mix

SPLITS = (None, "train", "val")


class CacheDataset(Dataset):
    """Items of a ``cxr prepare`` cache.

    ``split`` selects train / val rows (None = all); rows whose image failed to decode are never
    served. ``label_names`` picks and orders the label columns (default: all the cache has).
    ``seed`` and the epoch (``set_epoch``) fix which sentence each item gets; call ``set_epoch``
    before building each epoch's DataLoader iterator (persistent workers keep their own copy).
    ``label_text`` names how an image without a report gets its text (``LABEL_TEXTS``).
    """

    def __init__(self, cache_dir: str | Path, split: str | None = None,
                 label_names: list[str] | None = None, seed: int = 0, label_text: str = "list"):
        if split not in SPLITS:
            raise InputError(f"split must be 'train', 'val' or None, got {split!r}")
        if label_text not in LABEL_TEXTS:
            raise InputError(f"data.label_text={label_text!r}: must be one of {', '.join(LABEL_TEXTS.names())}")
        self._label_text = LABEL_TEXTS.get(label_text)
        self.cache_dir = Path(cache_dir)
        self.meta = layout.read_meta(self.cache_dir)
        self.split, self.seed, self.epoch = split, int(seed), 0
        self.label_names = self._check_labels(label_names)
        table = self._read_index()
        self._rows = table.column("row").to_numpy().astype(np.int64)
        self.sources = table.column("source").to_numpy(zero_copy_only=False)
        self._annotation_groups(table.column("not_annotated").to_pylist())
        self._labels = self._label_matrix(table)
        self._sentence_buffers(table.column("sentences"))
        self._names = np.array(self.label_names, dtype=object)
        self._images: np.ndarray | None = None

    # --- construction -----------------------------------------------------------------------------
    def _check_labels(self, label_names: list[str] | None) -> list[str]:
        available = list(self.meta["label_names"])
        names = list(available if label_names is None else label_names)
        missing = [n for n in names if n not in available]
        if missing:
            raise InputError(f"{self.cache_dir}: label(s) {missing} are not columns of this cache "
                             f"(vocabulary {self.meta.get('vocabulary')!r}, {len(available)} labels); build the "
                             f"manifest in the training label space (cxr manifest --label-space)")
        return names

    def _read_index(self) -> pa.Table:
        columns = ["row", "split", "status", "source", "not_annotated", "sentences", *self.label_names]
        table = pq.read_table(self.cache_dir / layout.INDEX, columns=columns)
        keep = pc.equal(table.column("status"), layout.STATUS_OK)
        if self.split is not None:
            keep = pc.and_(keep, pc.equal(table.column("split"), self.split))
        return table.filter(keep)

    def _annotation_groups(self, not_annotated: list[str | None]) -> None:
        """Sources annotate fixed label sets: store each distinct set once plus a per-item group id."""
        groups: dict[str, int] = {}
        self._group = np.array([groups.setdefault(v or "", len(groups)) for v in not_annotated], dtype=np.int32)
        self._group_masks = np.ones((max(len(groups), 1), len(self.label_names)), dtype=bool)
        position = {n: j for j, n in enumerate(self.label_names)}
        for value, g in groups.items():
            for name in filter(None, value.split(ANNOTATION_SEP)):
                if name in position:
                    self._group_masks[g, position[name]] = False

    def _label_matrix(self, table: pa.Table) -> np.ndarray:
        labels = np.empty((table.num_rows, len(self.label_names)), dtype=np.float32)
        for j, name in enumerate(self.label_names):
            labels[:, j] = table.column(name).to_numpy(zero_copy_only=False)
        labels[~self._group_masks[self._group]] = np.nan   # contract: NaN where not annotated too
        return labels

    def _sentence_buffers(self, column: pa.ChunkedArray) -> None:
        """Item -> sentence range (``_offsets``), sentence -> byte range (``_text_offsets``) in ``_text``."""
        column = column.combine_chunks()
        lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy().astype(np.int64)
        self._offsets = np.concatenate([[0], np.cumsum(lengths)])
        strings = column.flatten().cast(pa.large_string())
        if strings.null_count:
            strings = pc.fill_null(strings, "")
        _, offsets, data = strings.buffers()
        self._text_offsets = np.frombuffer(offsets, dtype=np.int64)[strings.offset:strings.offset + len(strings) + 1]
        self._text = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)

    # --- the contract -----------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: int) -> dict:
        i, n = int(index), len(self._rows)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"index {index} out of range for {n} items")
        text, has_report = self.text(i)
        return {
            "image": torch.from_numpy(self._image_array()[self._rows[i]][None].copy()),
            "labels": torch.from_numpy(self._labels[i].copy()),
            "annotated": torch.from_numpy(self._group_masks[self._group[i]].copy()),
            "text": text,
            "has_report": has_report,
            "index": i,
        }

    def text(self, i: int) -> tuple[str, bool]:
        """(text, has_report) of item ``i`` for the current epoch."""
        start, end = self._offsets[i], self._offsets[i + 1]
        key = mix(self.seed, self.epoch, int(self._rows[i]))
        if end > start:
            k = start + key % int(end - start)
            a, b = self._text_offsets[k], self._text_offsets[k + 1]
            return self._text[a:b].tobytes().decode("utf-8"), True
        if not self._group_masks[self._group[i]].any():
            return "", False                     # nothing known about this image
        return self._label_text(list(self._names[self._labels[i] == 1.0]), key), False

    # --- helpers for the trainer (class balance, samplers) ------------------------------------------
    @property
    def image_size(self) -> int:
        return int(self.meta["images"]["shape"][1])

    @property
    def labels(self) -> np.ndarray:
        """[N, C] float32 label values (NaN = not mentioned or not annotated); read-only view."""
        view = self._labels.view()
        view.flags.writeable = False
        return view

    def annotated_matrix(self) -> np.ndarray:
        """[N, C] bool: whether each item's source annotates each label."""
        return self._group_masks[self._group]

    def has_report_mask(self) -> np.ndarray:
        return np.diff(self._offsets) > 0

    def has_text_mask(self) -> np.ndarray:
        """Items ``text`` gives any text: a report, or annotated labels to caption (not an image nothing is
        known about), whatever the epoch."""
        return self.has_report_mask() | np.asarray(self._group_masks).any(axis=1)[self._group]

    # --- lazily opened memmap (not pickled to spawned workers) --------------------------------------
    def _image_array(self) -> np.ndarray:
        """The image file as a plain ndarray view of the memmap: indexing it skips np.memmap's
        Python-level slicing, and numpy's copy avoids torch's threaded copy (slow for 50 KB items)."""
        if self._images is None:
            self._images = np.asarray(layout.open_images(self.cache_dir, self.meta))
        return self._images

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_images"] = None
        return state
