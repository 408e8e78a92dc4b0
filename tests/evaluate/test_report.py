"""table.md / compare.md content from known rows: means, stds, base/novel columns, split mismatch marks."""
from __future__ import annotations

import math

import pytest
import yaml

from cxr.evaluate.compare import render_compare
from cxr.evaluate.config import EvalConfig
from cxr.evaluate.report import render_table, results_frame, write_outputs
from cxr.evaluate.runner import EvalResult
from cxr.core.errors import InputError


def _row(task, method, k, seed, aca, split="h1", base=math.nan, novel=math.nan, nb=math.nan, nn=math.nan):
    return {"task": task, "method": method, "k": k, "seed": seed, "encoder": "enc", "aca": aca, "auc": 0.5,
            "f1": 0.5, "kappa": 0.0, "n_test": 10, "split_hash": split, "base_aca": base, "novel_aca": novel,
            "n_base": nb, "n_novel": nn}


ROWS = [_row("covid", "zero-shot", 0, 0, 0.6, base=0.7, novel=0.3, nb=3, nn=1),
        _row("covid", "linear-probe", 1, 0, 0.5), _row("covid", "linear-probe", 1, 1, 0.7),
        _row("covid", "linear-probe", "all", 0, 0.9)]


def test_table_has_zero_shot_base_novel_and_probe_mean_std():
    table = render_table(results_frame(ROWS), "enc", 2)
    assert "| covid | 70.0 | 30.0 | 60.0 | 3 / 1 |" in table
    assert "| covid | 60.0 ± 10.0 | 90.0 ± 0.0 |" in table        # mean/std (ddof 0) of 0.5 and 0.7


def _write_run(path, rows, name):
    result = EvalResult(rows, [], {"encoder": {"name": name}}, EvalConfig("x", ["covid"], seeds=2), name)
    write_outputs(result, path)


def test_compare_bolds_the_best_and_marks_different_splits(tmp_path):
    _write_run(tmp_path / "a", ROWS, "A")
    other = [dict(r, aca=r["aca"] + 0.1, split_hash="h2") for r in ROWS]
    _write_run(tmp_path / "b", other, "B")
    text = render_compare([tmp_path / "a", tmp_path / "b"])
    assert "| covid | 60.0 | **70.0** †" in text
    assert "| covid | 90.0 | **100.0** † |" in text
    assert "† = this run used a different split file" in text
    assert yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())["encoder"]["name"] == "A"


def test_compare_needs_run_folders(tmp_path):
    with pytest.raises(InputError, match="no results.csv"):
        render_compare([tmp_path, tmp_path])
    with pytest.raises(InputError, match="at least two"):
        render_compare([tmp_path])


def test_separately_scored_subsets_fill_the_base_and_novel_columns(tmp_path):
    rows = [dict(_row("covid", "zero-shot", 0, 0, 0.6, base=0.7, novel=0.3, nb=3, nn=2), subset="all"),
            dict(_row("covid", "zero-shot", 0, 0, 0.8, nb=3, nn=2), subset="base"),
            dict(_row("covid", "zero-shot", 0, 0, math.nan, nb=3, nn=2), subset="novel"),
            dict(_row("covid", "linear-probe", 1, 0, 0.5), subset="all")]
    table = render_table(results_frame(rows), "enc", 1)
    assert "| covid | 80.0 | – | 60.0 | 3 / 2 |" in table and "each scored as its own problem" in table
    assert "| covid | 50.0 ± 0.0 |" in table
    _write_run(tmp_path / "a", rows, "A")
    _write_run(tmp_path / "b", ROWS, "B")          # an older run: no subset column in its rows
    assert "| covid | **60.0** (80.0 / –) | **60.0** (70.0 / 30.0) |" in render_compare([tmp_path / "a", tmp_path / "b"])
