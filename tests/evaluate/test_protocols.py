"""Evaluation protocols: the paper preset's probe and zero-shot head routing, scored per subset."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cxr.core.errors import CxrError
from cxr.evaluate.class_embeddings import build_class_embeddings
from cxr.evaluate.config import PROTOCOLS, EvalConfig, ZeroShotConfig
from cxr.evaluate.probe import ProbeConfig, fit_probe
from cxr.evaluate.prompts import load_prompts
from cxr.evaluate.runner import run_evaluation
from tests.evaluate.standins import QuadrantEncoder, TwoHeadEncoder, handle, write_task

HEAD = ["atelectasis", "cardiomegaly", "consolidation", "lung opacity"]
# Atelectasis / Cardiomegaly are head labels (base); COVID and Mystery are novel, reachable by text only.
CLASSES = {"Atelectasis": [0], "Cardiomegaly": [1], "COVID": [2], "Mystery": [3]}
TEXT = {"covid": [0, 0, 0, 1], "mystery": [0, 0, 1, 0]}   # where the text head puts COVID / Mystery images


def test_presets_resolve_into_the_config_and_explicit_settings_win():
    paper = EvalConfig("x", ["t"], protocol="paper")
    assert (paper.probe.C, paper.probe.standardise, paper.probe.class_weight) == (0.316, False, "balanced")
    assert paper.zero_shot == ZeroShotConfig("split-heads", True)
    assert EvalConfig("x", ["t"]).probe == PROTOCOLS.get("cxr").probe == ProbeConfig(C=1.0)
    assert EvalConfig("x", ["t"], protocol="paper", probe=ProbeConfig(C=2.0)).probe.C == 2.0
    assert EvalConfig("x", ["t"], protocol="paper").to_dict()["probe"]["standardise"] is False
    with pytest.raises(CxrError, match="unknown evaluation protocol 'papr'; known: cxr, paper"):
        EvalConfig("x", ["t"], protocol="papr")


def test_paper_probe_matches_scikit_learn_logistic_regression():
    """The reference code's probe: LogisticRegression(C=0.316, class_weight='balanced') on raw features."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 32))
    y = np.r_[np.zeros(40, int), np.ones(15, int), np.full(25, 2)]
    x = centres[y] + rng.normal(size=(len(y), 32)) * 2.0 + 5.0     # offset: raw, not centred features
    ours = fit_probe(x, y, 3, PROTOCOLS.get("paper").probe)
    ref = LogisticRegression(C=0.316, class_weight="balanced", max_iter=5000, tol=1e-10).fit(x, y)
    xt = centres[rng.integers(0, 3, 500)] + rng.normal(size=(500, 32)) * 2.0 + 5.0
    assert np.abs(ours.scores(xt) - ref.predict_proba(xt)).max() < 1e-3
    assert (ours.scores(xt).argmax(1) == ref.predict(xt)).all()


def test_unweighted_probe_favours_the_majority_class():
    rng = np.random.default_rng(2)
    y = np.r_[np.zeros(900, int), np.ones(100, int)]
    x = y[:, None] * 1.0 + rng.normal(size=(1000, 1))
    pred = {w: fit_probe(x, y, 2, ProbeConfig(C=10.0, class_weight=w)).scores(np.array([[0.9]])).argmax()
            for w in ("balanced", "none")}
    # 0.9 is past the balanced boundary (~0.5) and far below the one the 9:1 prior sets (~2.7)
    assert pred == {"balanced": 1, "none": 0}


def _run(tmp_path, model, protocol="paper", **kw):
    split = write_task(tmp_path, CLASSES, n_test=3)
    cfg = EvalConfig(checkpoint="stand-in", tasks=[f"csv:{split}"], methods=["zero-shot"], workers=0,
                     device="cpu", protocol=protocol, **kw)
    result = run_evaluation(cfg, encoder=handle(model))
    return {r["subset"]: r for r in result.rows}, result


def test_paper_zero_shot_scores_novel_classes_through_the_image_text_head(tmp_path):
    model = TwoHeadEncoder(HEAD, TEXT)
    rows, result = _run(tmp_path, model)
    assert set(rows) == {"all", "base", "novel"}
    assert rows["base"]["aca"] == 1.0 and rows["base"]["n_test"] == 6
    assert rows["novel"]["aca"] == 1.0 and rows["novel"]["n_test"] == 6   # only with the text head's images
    assert rows["all"]["aca"] == 1.0
    assert {"text", None} <= set(model.heads_used)
    assert result.tasks["task"]["class_sources"] == {"Atelectasis": "prototype: atelectasis",
                                                     "Cardiomegaly": "prototype: cardiomegaly",
                                                     "COVID": "text", "Mystery": "text"}
    assert result.provenance["protocol"]["name"] == "paper"


def test_the_text_head_with_label_head_images_would_be_wrong(tmp_path):
    """Guards the head pairing: the same text embeddings against the default image embedding fail."""
    classes = ["COVID", "Mystery"]
    ce = build_class_embeddings(TwoHeadEncoder(HEAD, TEXT), classes, load_prompts("t", classes),
                                route="text-head")
    default_images = np.eye(4)[[2, 3]]               # COVID, Mystery through the label head's embedding
    assert ((default_images @ ce.matrix.T).argmax(1) == [1, 0]).all()


def test_unimodal_encoder_cannot_score_novel_classes_under_the_paper_protocol(tmp_path):
    rows, _ = _run(tmp_path, QuadrantEncoder(HEAD))
    assert rows["base"]["aca"] == 1.0
    assert math.isnan(rows["novel"]["aca"]) and rows["novel"]["n_test"] == 6     # the paper's "–"
    assert rows["all"]["aca"] == 0.5                                           # novel images count wrong


def test_cxr_protocol_keeps_one_all_class_row(tmp_path):
    rows, result = _run(tmp_path, TwoHeadEncoder(HEAD, TEXT), protocol="cxr")
    assert list(rows) == ["all"]
    assert result.tasks["task"]["class_sources"]["COVID"] == "none"   # no labeler given: not composed


def test_cli_paper_protocol_is_recorded_and_one_class_tasks_are_refused(tmp_path):
    import pandas as pd
    import yaml
    from typer.testing import CliRunner

    from cxr.cli.main import app

    split = write_task(tmp_path / "t", {"A": [0], "B": [1]}, n_train=2, n_test=2)
    base = ["eval", "run", "-c", "timm:test_resnet", "--image-size", "32", "--shots", "1", "--seeds", "1",
            "--workers", "0", "--device", "cpu", "--no-cache", "-q"]
    res = CliRunner().invoke(app, [*base, "--tasks", f"csv:{split}", "--protocol", "paper",
                                   "-o", str(tmp_path / "out")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    config = yaml.safe_load((tmp_path / "out" / "config.yaml").read_text())
    assert config["config"]["protocol"] == "paper" and config["config"]["probe"]["C"] == 0.316
    assert pd.read_csv(tmp_path / "out" / "results.csv")["subset"].tolist() == ["all"]

    one = tmp_path / "one.csv"
    frame = pd.read_csv(split)
    frame[frame["label"] == "A"].to_csv(one, index=False)
    res = CliRunner().invoke(app, [*base, "--tasks", f"csv:{one}", "--images", str(split.parent),
                                   "-o", str(tmp_path / "o1")], catch_exceptions=False)
    assert res.exit_code == 2 and "a task needs at least two classes" in res.output
    assert not (tmp_path / "o1").exists()
