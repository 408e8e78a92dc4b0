"""`cxr demo --smallest`: every stage runs and every promised artefact exists and parses."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from cxr.cli.main import app

runner = CliRunner()
BASE = ["cardiomegaly", "pleural effusion", "pneumothorax", "nodule", "consolidation", "atelectasis",
        "pacemaker", "central venous catheter"]
NOVEL = "ground glass pattern"
TRAINED = ["unimodal", "clip", "dlilp"]
ENCODERS = ["untrained", *TRAINED]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo-out"
    res = runner.invoke(app, ["demo", "--smallest", "-o", str(out), "--device", "cpu", "-q"],
                        catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return out, res.output


def test_corpus_labels_manifest_and_cache(demo):
    out, _ = demo
    assert len(list((out / "images").glob("*.png"))) == 120
    reports = pd.read_csv(out / "reports.csv", dtype=str)
    labels = pd.read_csv(out / "labels.csv", dtype={"study_id": str})
    assert list(labels["study_id"]) == list(reports["study_id"]) and set(BASE) <= set(labels.columns)
    values = labels[BASE].to_numpy().ravel()
    assert set(values[~pd.isna(values)]) <= {1.0, 0.0, -1.0}
    sentences = pd.read_parquet(out / "sentences.parquet")
    assert {"id", "sentence_index", "text", "labels"} <= set(sentences.columns) and len(sentences) > 120
    manifest = pd.read_csv(out / "manifest.csv", dtype=str)
    # The novel finding is never a pre-training label: only the base findings are label columns.
    assert NOVEL not in manifest.columns and set(BASE) <= set(manifest.columns)
    meta = json.loads((out / "cache" / "meta.json").read_text())
    assert meta["label_names"] == BASE and meta["ok"] == 120
    assert (out / "cache" / "images.u8").stat().st_size == 120 * 32 * 32


def test_runs_and_exports(demo):
    out, _ = demo
    for name in ENCODERS:
        config = json.loads((out / "runs" / name / "export" / "config.json").read_text())
        assert config["preprocess"]["image_size"] == 32 and config["backbone"] == "tiny_cnn"
    for name in TRAINED:
        assert yaml.safe_load((out / "runs" / name / "config.yaml").read_text())["objective"]["name"] == name


def test_task_is_patient_disjoint_from_pretraining(demo):
    out, _ = demo
    split = pd.read_csv(out / "task" / "phantom_test.csv", dtype=str)
    manifest = pd.read_csv(out / "manifest.csv", dtype=str)
    assert not set(split["patient_id"]) & set(manifest["patient_id"])
    assert NOVEL in set(split["label"]) and set(split["split"]) == {"train", "test"}
    prompts = yaml.safe_load((out / "task" / "phantom_test.prompts.yaml").read_text())
    novel = prompts["classes"][NOVEL]
    assert novel["names"] == [novel["description"]] and NOVEL not in novel["description"].lower()


def test_results_table_plot_and_config(demo):
    out, stdout = demo
    results = pd.read_csv(out / "results.csv")
    assert set(results["encoder"]) == {*ENCODERS, "dlilp-text"}
    probe = results[results["method"] == "linear-probe"]
    for name in ENCODERS:          # K in {1, 2} x 2 seeds in the smallest run
        rows = probe[probe["encoder"] == name]
        assert sorted(zip(rows["k"], rows["seed"])) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    zero_shot = results[results["method"] == "zero-shot"]
    assert sorted(zero_shot["encoder"]) == sorted([*ENCODERS, "dlilp-text"])
    assert results["aca"].between(0, 1).all() and (zero_shot["n_novel"] == 1).all()
    table = (out / "table.md").read_text()
    for row in ("untrained (random init)", "unimodal (labels)", "CLIP (reports)", "DLILP (labels + λ·CLIP)"):
        assert f"| {row} |" in table and f"| {row} |" in stdout
    assert "ZS novel" in table and "LP K=2" in table and "Labeler vs phantom truth" in table
    with Image.open(out / "plot.png") as img:
        assert img.format == "PNG" and img.size[0] > 500
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["git_sha"] and config["demo"]["smallest"] is True
    assert config["pretraining_labels"] == BASE and config["task"]["novel"] == [NOVEL]
    assert set(config["seconds"]) >= {"phantom corpus", "pre-training", "transfer", "total"}
    for warning in config["warnings"]:        # the verdict is printed, never only filed away
        assert warning in stdout
    for name in ENCODERS:
        assert (out / "results" / name / "results.csv").is_file()


def test_rerun_replaces_only_demo_artefacts(tmp_path):
    from cxr.demo.pipeline import MARKER, claim_folder

    out = tmp_path / "d"
    (out / "runs" / "clip").mkdir(parents=True)
    (out / MARKER).write_text("")
    (out / "labels.csv").write_text("old")
    (out / "notes.txt").write_text("mine")
    claim_folder(out)
    assert not (out / "runs").exists() and not (out / "labels.csv").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    res = runner.invoke(app, ["demo", "--smallest", "-o", str(tmp_path), "-q"])
    assert res.exit_code == 2 and "not written by `cxr demo`" in res.output
    assert (tmp_path / "thesis.tex").read_text() == "precious"


def test_bad_option_fails_before_touching_an_earlier_demo(tmp_path):
    from cxr.demo.pipeline import MARKER

    (tmp_path / MARKER).write_text("")
    (tmp_path / "labels.csv").write_text("earlier run")
    res = runner.invoke(app, ["demo", "-o", str(tmp_path), "--size", "16", "-q"])
    assert res.exit_code == 2 and "--size must be at least 32" in res.output
    assert (tmp_path / "labels.csv").read_text() == "earlier run"


def test_verdict_says_plainly_when_pretraining_does_not_help():
    from cxr.demo.report import Comparison, verdict

    def row(encoder, method, k, aca):
        return {"task": "t", "method": method, "k": k, "seed": 0, "encoder": encoder, "aca": aca,
                "base_aca": aca, "novel_aca": 0.0, "n_base": 2, "n_novel": 1}

    rows = [row("untrained", "linear-probe", 1, 0.5), row("unimodal", "linear-probe", 1, 0.6),
            row("clip", "linear-probe", 1, 0.4), row("dlilp-text", "zero-shot", 0, 0.3)]
    warnings = verdict(Comparison.from_rows(rows, ["untrained", "unimodal", "clip", "dlilp-text"]))
    assert len(warnings) == 1 and warnings[0].startswith("WARNING: CLIP")
    assert "did not beat the untrained encoder" in warnings[0]
