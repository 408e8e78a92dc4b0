"""Stand-in encoders (the Export contract's attributes) and tiny image tasks whose answers are known.

``QuadrantEncoder`` embeds an image as the mean brightness of its four quadrants, so an image with
quadrant i bright embeds to e_i; its label head has one prototype per quadrant. Images are 32 px PNGs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cxr.evaluate.encoders import EncoderHandle
from cxr.pretrain.export import Preprocessing


class QuadrantEncoder:
    preprocessing = Preprocessing(32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    logit_scale = 10.0

    def __init__(self, label_names=None, has_text=False, text_vectors=None):
        self.label_names = label_names
        self.prototypes = torch.eye(max(4, len(label_names)))[: len(label_names)] if label_names else None
        self.has_text = has_text
        self.text_vectors = text_vectors or {}
        self.calls = 0

    def features(self, x):
        self.calls += 1
        h = x.shape[-1] // 2
        q = [x[:, 0, :h, :h], x[:, 0, :h, h:], x[:, 0, h:, :h], x[:, 0, h:, h:]]
        return torch.stack([t.mean(dim=(1, 2)) for t in q], dim=1)

    def encode_image(self, x):
        return F.normalize(self.features(x), dim=-1)

    def encode_text(self, texts):
        rows = []
        for t in texts:
            key = next((k for k in self.text_vectors if k in t.lower()), None)
            rows.append(torch.tensor(self.text_vectors[key], dtype=torch.float32) if key else torch.randn(4))
        return F.normalize(torch.stack(rows), dim=-1)


class TwoHeadEncoder(QuadrantEncoder):
    """A DLILP stand-in: the label head embeds as ``QuadrantEncoder``; the image-text head embeds with
    quadrants 2 and 3 swapped, so pairing text with the wrong head's image embedding gives wrong answers.
    Each head has its own logit scale in ``config``, as an export records them."""

    def __init__(self, label_names, text_vectors, label_scale=10.0, text_scale=20.0):
        super().__init__(label_names, has_text=True, text_vectors=text_vectors)
        self.config = {"label_logit_scale": label_scale, "text_logit_scale": text_scale}
        self.heads_used = []

    def encode_image(self, x, head=None):
        self.heads_used.append(head)
        emb = super().encode_image(x)
        return emb[:, [0, 1, 3, 2]] if head == "text" else emb


def handle(model, name="stand-in") -> EncoderHandle:
    return EncoderHandle(model, name, identity=f"{name}-0123456789abcdef", vocabulary=model.label_names)


def quadrant_image(quadrants, size=32, noise=0.0, rng=None) -> np.ndarray:
    img = np.zeros((size, size), np.float64)
    h = size // 2
    corners = [(0, 0), (0, h), (h, 0), (h, h)]
    for q in quadrants:
        r, c = corners[q]
        img[r:r + h, c:c + h] = 1.0
    if noise and rng is not None:
        img = np.clip(img * (1 - noise) + rng.uniform(0, noise, img.shape), 0, 1)
    return (img * 255).astype(np.uint8)


def write_task(folder: Path, classes: dict[str, list[int]], n_train=3, n_test=2, seed=0, task="task") -> Path:
    """PNG images + split CSV: class name -> bright quadrants; one patient per image."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = ["path,label,split,patient_id"]
    for label, quadrants in classes.items():
        for part, n in (("train", n_train), ("test", n_test)):
            for i in range(n):
                name = f"{label.replace(' ', '_')}_{part}_{i}.png"
                Image.fromarray(quadrant_image(quadrants, noise=0.3, rng=rng)).save(folder / name)
                rows.append(f"{name},{label},{part},{label[:3]}{part}{i}")
    split = folder / f"{task}.csv"
    split.write_text("\n".join(rows) + "\n")
    return split


def write_bright_half_task(root: Path, labels: tuple[str, str], n_train: int, n_test: int) -> Path:
    """A user task CSV of two classes told apart by which half of a 40 x 32 image is bright (the first
    label: the top), with one patient per image; written under ``root``."""
    import pandas as pd
    from PIL import Image

    rng = np.random.default_rng(0)
    rows = []
    (root / "img").mkdir(exist_ok=True)
    for label, lit in zip(labels, (slice(0, 20), slice(20, 40))):
        for part, n in (("train", n_train), ("test", n_test)):
            for i in range(n):
                img = rng.integers(0, 60, (40, 32)).astype(np.uint8)
                img[lit] += 150
                name = f"img/{label}_{part}_{i}.png"
                Image.fromarray(img).save(root / name)
                rows.append((name, label, part, f"{label}-{part}-{i}"))
    split = root / "toy.csv"
    pd.DataFrame(rows, columns=["path", "label", "split", "patient_id"]).to_csv(split, index=False)
    return split
