"""Shared builders for the pre-training data tests: a fixture ontology and tiny image folders."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from cxr.labeler.ontology import load_ontology

FIXTURE_ONTOLOGY = Path(__file__).parent / "fixtures" / "data_ontology"


def fixture_ontology():
    return load_ontology(FIXTURE_ONTOLOGY)


def gradient(h: int, w: int, seed: int) -> np.ndarray:
    """A distinctive image per seed: smooth ramps plus a bright square at a seed-dependent place."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = (xx / max(w - 1, 1) * 120 + yy / max(h - 1, 1) * 80).astype(np.float64)
    r, c = rng.integers(0, h - 4), rng.integers(0, w - 4)
    img[r:r + 4, c:c + 4] = 250
    return img


def write_png(path: Path, pixels: np.ndarray, bits: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if bits == 16:
        # 12-bit data in a 16-bit container, like PadChest: the decoder must stretch by the range.
        Image.fromarray((pixels / 255 * 4095).astype(np.uint16)).save(path)
    else:
        Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def image_folder(root: Path, n: int = 12, size: tuple[int, int] = (40, 32)) -> pd.DataFrame:
    """``n`` PNGs (alternating 8- and 16-bit) of 6 patients and a manifest frame describing them."""
    rows = []
    for i in range(n):
        rel = f"img/{i:03d}.png"
        write_png(root / rel, gradient(size[0], size[1], i), bits=16 if i % 2 else 8)
        rows.append({"path": rel, "patient_id": f"P{i // 2}", "study_id": f"S{i}", "view": "PA",
                     "cardiomegaly": float(i % 3 == 0), "pleural effusion": [1.0, 0.0, np.nan, -1.0][i % 4],
                     "report": f"FINDINGS: Finding number {i}. Heart size is normal.\n\nIMPRESSION: Case {i}."})
    return pd.DataFrame(rows)


def write_manifest_csv(root: Path, frame: pd.DataFrame, name: str = "manifest.csv") -> Path:
    path = root / name
    frame.to_csv(path, index=False)
    return path
