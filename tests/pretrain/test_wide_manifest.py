"""A manifest of a few hundred label columns (PadChest has ~190) goes through without pandas
fragmenting the frame: no PerformanceWarning reaches the user, and every label value survives."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from cxr.pretrain.data import layout
from cxr.pretrain.data.manifest import ManifestOptions
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
from tests.pretrain.data_helpers import gradient, write_png

LABELS = [f"finding {i:03d}" for i in range(150)]


class WideOntology:
    """Just what manifest reading asks of an ontology: one vocabulary of 150 labels."""
    vocabularies = ["wide"]

    def vocabulary(self, name: str) -> list[str]:
        return list(LABELS)


def test_a_wide_manifest_prepares_without_performance_warnings(tmp_path):
    rng = np.random.default_rng(0)
    n = 30
    values = rng.choice([1.0, 0.0, -1.0, np.nan], size=(n, len(LABELS)))
    frame = pd.DataFrame(values, columns=LABELS)
    frame.insert(0, "path", [f"img/{i}.png" for i in range(n)])
    frame.insert(1, "patient_id", [f"P{i // 2}" for i in range(n)])
    for i in range(n):
        write_png(tmp_path / "img" / f"{i}.png", gradient(12, 10, i))
    frame.to_csv(tmp_path / "m.csv", index=False)
    config = PrepareConfig(size=8, val_fraction=0.2, workers=1, manifest=ManifestOptions(vocabulary="wide"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        prepare_cache(tmp_path / "m.csv", tmp_path / "cache", config, onto=WideOntology())
    index = pq.read_table(tmp_path / "cache" / layout.INDEX).to_pandas()
    assert [c for c in index.columns if c in LABELS] == LABELS                 # order kept
    got = index.sort_values("row")[LABELS].to_numpy()
    assert np.array_equal(np.isnan(got), np.isnan(values))
    assert np.array_equal(got[~np.isnan(got)], values[~np.isnan(values)])
