"""`cxr eval` end to end on a tiny user task with a tiny timm backbone, and its error messages."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from cxr.cli.main import app
from tests.datasets.official_files import write_rsna
from tests.evaluate.standins import write_bright_half_task

runner = CliRunner()


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    """Two classes (bright top vs bright bottom), 4 train + 3 test images each, 40 x 32 px."""
    return write_bright_half_task(tmp_path_factory.mktemp("task"), ("upper", "lower"), 4, 3)


def _run(args):
    return runner.invoke(app, ["eval", *args], catch_exceptions=False)


def _base_args(task, out, cache, *extra):
    return ["run", "-c", "timm:test_resnet", "--tasks", f"csv:{task}", "--image-size", "32", "--shots", "1,2",
            "--seeds", "2", "--workers", "0", "--device", "cpu", "--cache-dir", str(cache), "-q", "-o", str(out), *extra]


def test_run_writes_results_table_plot_config_and_compare(task, tmp_path):
    out = tmp_path / "out"
    res = _run(_base_args(task, out, tmp_path / "cache"))
    assert res.exit_code == 0, res.output
    results = pd.read_csv(out / "results.csv")
    assert len(results) == 4 and set(results["k"]) == {1, 2} and set(results["seed"]) == {0, 1}
    assert results["split_hash"].nunique() == 1 and results["aca"].between(0, 1).all()
    table = (out / "table.md").read_text()
    assert "| toy |" in table and "Linear probe ACA" in table and "zero-shot skipped" in table
    assert (out / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["split_hashes"]["toy"] == results["split_hash"][0]
    assert config["git_sha"] and config["encoder"]["model"] == "test_resnet"
    assert config["config"]["shots"] == [1, 2]

    out2 = tmp_path / "out2"
    assert _run(_base_args(task, out2, tmp_path / "cache", "--init-seed", "1")).exit_code == 0
    cmp_path = tmp_path / "compare.md"
    res = _run(["compare", str(out), str(out2), "-o", str(cmp_path)])
    assert res.exit_code == 0, res.output
    text = cmp_path.read_text()
    assert "## Linear probe ACA, K=2" in text and "[out]" in text and "[out2]" in text


def test_bad_k_fails_before_any_output_and_keeps_previous_results(task, tmp_path):
    out = tmp_path / "out"
    res = _run(_base_args(task, out, tmp_path / "cache") + ["--shots", "1,16"])
    assert res.exit_code == 2
    assert "K=16 is larger than the train pool of class" in res.output
    assert not out.exists()
    assert _run(_base_args(task, out, tmp_path / "cache")).exit_code == 0
    before = (out / "results.csv").read_bytes()
    assert _run(_base_args(task, out, tmp_path / "cache") + ["--shots", "5"]).exit_code == 2
    assert (out / "results.csv").read_bytes() == before


def test_unknown_task_missing_images_and_foreign_weights(task, tmp_path):
    res = _run(["run", "-c", "timm:test_resnet", "--tasks", "rsnaa", "--splits-dir", str(tmp_path), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2 and "unknown task 'rsnaa'; known: chexpert5x200" in res.output

    bad_prompts = tmp_path / "prompts.yaml"
    bad_prompts.write_text("classes:\n  uper: {description: bright upper half}\n")
    res = _run(_base_args(task, tmp_path / "o", tmp_path / "cache", "--prompts", str(bad_prompts)))
    assert res.exit_code == 2 and "unknown class name(s) ['uper']" in res.output and not (tmp_path / "o").exists()

    broken = tmp_path / "broken.csv"
    frame = pd.read_csv(task)
    frame.loc[0, "path"] = "img/not_there.png"
    frame.to_csv(broken, index=False)
    res = _run(_base_args(broken, tmp_path / "o", tmp_path / "cache", "--images", str(task.parent)))
    assert res.exit_code == 2 and "first missing: ['img/not_there.png']" in res.output

    import timm
    import torch
    torch.save(timm.create_model("test_vit", pretrained=False).state_dict(), tmp_path / "vit.pth")
    res = _run(_base_args(task, tmp_path / "o", tmp_path / "cache", "--weights", str(tmp_path / "vit.pth")))
    assert res.exit_code == 2 and "do not fit timm:test_resnet" in res.output and "missing" in res.output


def test_splits_command_writes_split_and_sidecar_hash(tmp_path):
    folder = write_rsna(tmp_path / "rsna")
    out = tmp_path / "rsna.csv"
    res = _run(["splits", "--task", "rsna", "--metadata", str(folder), "--seed", "3", "-o", str(out),
                "--train-per-class", "4", "--test-per-class", "2"])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "rsna.csv.meta.json").read_text())
    assert meta["protocol"] == "non-standard" and meta["seed"] == 3 and len(meta["sha256"]) == 64
    assert len(pd.read_csv(out)) == 12
    res = _run(["splits", "--task", "rsna", "--metadata", str(folder), "-o", str(tmp_path / "full.csv")])
    assert res.exit_code == 2 and "--test-per-class" in res.output
    assert not (tmp_path / "full.csv").exists()
