"""An in-memory synthetic dataset with the ``CacheDataset`` item contract and a learnable task.

Each of the four findings, when present, draws a bright disc at its own place in the image; the text is
one sentence about one finding ("there is cardiomegaly" / "no pleural effusion"), so labels and text are
both learnable from pixels. Every third item plays a label-only source: it does not annotate the last
label, has no report (``has_report`` False) and its text is a prompt of its positive labels.
Used by tests, ``data.toy: N`` configs and the throughput benchmark.
"""
from __future__ import annotations

import math

import numpy as np
import torch

TOY_LABELS = ("Cardiomegaly", "Pleural Effusion", "Nodule", "Pneumothorax")
_CENTRES = ((0.3, 0.3), (0.3, 0.7), (0.7, 0.3), (0.7, 0.7))


class ToyDataset:
    def __init__(self, n: int, size: int = 32, split: str | None = "train", val_fraction: float = 0.2,
                 seed: int = 0, label_names=None):
        n_val = int(round(n * val_fraction))
        all_idx = np.arange(n)
        self.ids = {"train": all_idx[:n - n_val], "val": all_idx[n - n_val:], None: all_idx}[split]
        self.label_names = list(TOY_LABELS)
        self.size, self.seed, self.epoch = size, seed, 0
        items = [self._make(int(i)) for i in self.ids]
        self.images = torch.from_numpy(np.stack([im for im, _ in items]))
        self.labels = torch.from_numpy(np.stack([lab for _, lab in items]))

    def __len__(self) -> int:
        return len(self.ids)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        uid = int(self.ids[i])
        labels = self.labels[i].clone()
        annotated = torch.ones(len(TOY_LABELS), dtype=torch.bool)
        label_only = uid % 3 == 2
        if label_only:
            annotated[-1] = False
            labels[-1] = math.nan
        text = self._prompt(labels) if label_only else self._sentence(uid, labels)
        return {"image": self.images[i].unsqueeze(0), "labels": labels, "annotated": annotated,
                "text": text, "has_report": not label_only, "index": i}

    # ------------------------------------------------------------------------------------------------
    def _make(self, uid: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, uid])
        present = rng.random(len(TOY_LABELS)) < 0.4
        labels = present.astype(np.float32)
        other = ~present
        labels[other & (rng.random(len(TOY_LABELS)) < 0.3)] = np.nan   # not mentioned
        labels[other & (rng.random(len(TOY_LABELS)) < 0.1)] = -1.0     # uncertain (and absent in pixels)
        s = self.size
        img = rng.normal(60, 12, (s, s))
        yy, xx = np.mgrid[0:s, 0:s] / s
        for k in np.flatnonzero(present):
            cy, cx = _CENTRES[k]
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < 0.015] = 200
        return np.clip(img, 0, 255).astype(np.uint8), labels

    def _sentence(self, uid: int, labels: torch.Tensor) -> str:
        rng = np.random.default_rng([self.seed, self.epoch, uid])
        mentioned = [k for k in range(len(TOY_LABELS)) if not math.isnan(labels[k])]
        if not mentioned:
            return "no acute findings"
        k = int(rng.choice(mentioned))
        name = TOY_LABELS[k].lower()
        return {1.0: f"there is {name}", 0.0: f"no {name}", -1.0: f"possible {name}"}[float(labels[k])]

    @staticmethod
    def _prompt(labels: torch.Tensor) -> str:
        names = [TOY_LABELS[k].lower() for k in range(len(TOY_LABELS)) if labels[k] == 1]
        return ", ".join(names) if names else "no finding"
