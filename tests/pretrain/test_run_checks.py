"""What is checked before a run folder appears, and what a run folder says when the run fails: text for
the image-text objectives, a failure at the first step, settings added after a run started, and
``_base:`` of a user's config."""
from __future__ import annotations

import logging

import pytest
import yaml

from cxr.core.errors import CxrError
from cxr.pretrain.config import SHIPPED_CONFIGS, ConfigError, load_config
from cxr.pretrain.engine import step as step_module
from cxr.pretrain.engine.data import build_datasets, check_text
from cxr.pretrain.engine.trainer import train
from cxr.pretrain.objectives import build_objective

from tests.pretrain.train_helpers import one_thread, tiny_config

_threads = pytest.fixture(autouse=True)(one_thread)


# --- text ------------------------------------------------------------------------------------------------
def _cache(root, reports: bool, annotated: bool):
    """12 images, 9 for training; reports and label annotations kept or dropped."""
    from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
    from tests.pretrain.data_helpers import fixture_ontology, image_folder, write_manifest_csv
    frame = image_folder(root, 12)
    if not reports:
        frame = frame.drop(columns="report")
    if not annotated:
        frame["not_annotated"] = "cardiomegaly|pleural effusion"
    cache = root / "cache"
    prepare_cache(write_manifest_csv(root, frame), cache, PrepareConfig(size=32, val_fraction=0.25),
                  onto=fixture_ontology())
    return cache


def _cache_config(root, cache, objective: str):
    cfg = tiny_config(root, objective, "data.toy=0", "data.vocabulary=", "train.epochs=1", "train.batch_size=4")
    cfg.data.cache = str(cache)
    return cfg


def test_text_objectives_refuse_a_cache_without_their_text_before_a_run_folder(tmp_path, caplog):
    labels_only = _cache(tmp_path / "a", reports=False, annotated=True)
    n = len(build_datasets(_cache_config(tmp_path, labels_only, "clip")).train)
    cfg = _cache_config(tmp_path, labels_only, "dlilp")
    with pytest.raises(CxrError, match=rf"{labels_only}: objective dlilp pairs images with report text, "
                                       rf"but none of its {n} training items has any"):
        train(cfg)
    assert not cfg.run_dir.exists()
    # CLIP and UniCL pair these images with their label prompts, and say so
    clip = _cache_config(tmp_path, labels_only, "clip")
    with caplog.at_level(logging.WARNING, logger="pretrain"):
        counts = check_text(build_datasets(clip), build_objective(clip), clip)
    assert counts == {"items": n, "with_text": n, "with_report": 0}
    assert f"0 of {n} training items have report text; {n} get a label prompt instead, 0 have no text" in caplog.text

    nothing = _cache(tmp_path / "b", reports=False, annotated=False)
    for cache in (labels_only, nothing):   # the counted mask says what text() gives, item by item
        ds = build_datasets(_cache_config(tmp_path, cache, "clip")).train
        assert ds.has_text_mask().tolist() == [bool(ds.text(i)[0]) for i in range(len(ds))]
    for objective in ("clip", "unicl"):
        cfg = _cache_config(tmp_path, nothing, objective)
        with pytest.raises(CxrError, match=rf"objective {objective} pairs images with text \(a report sentence "
                                           rf"or a label prompt\), but none of its {n} training items"):
            train(cfg)
        assert not cfg.run_dir.exists()


def _fail_at_first_step(monkeypatch):
    def boom(self, *args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x1024 and 288x32)")
    monkeypatch.setattr(step_module.Stepper, "micro", boom)


def test_partial_text_is_said_and_recorded_and_a_first_step_failure_marks_the_run(tmp_path, monkeypatch,
                                                                                  caplog):
    # toy data: 144 training items, every third a label-only one without a report -> 96 with report text
    cfg = tiny_config(tmp_path, "dlilp", "train.epochs=1")
    _fail_at_first_step(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="pretrain"), pytest.raises(RuntimeError, match="mat1 and mat2"):
        train(cfg)
    assert "96 of 144 training items have report text" in caplog.text
    saved = yaml.safe_load((cfg.run_dir / "config.yaml").read_text())
    assert saved["provenance"]["data"]["text"] == {"items": 144, "with_text": 144, "with_report": 96}
    failed = (cfg.run_dir / "failed.txt").read_text()
    assert failed.startswith("failed at step 0 (epoch 1)") and "RuntimeError: mat1 and mat2" in failed
    assert "nothing to resume" in failed and not (cfg.run_dir / "checkpoint-last.pt").exists()

    monkeypatch.undo()   # the same config again: the folder is reused, the failed start leaves no trace
    result = train(tiny_config(tmp_path, "dlilp", "train.epochs=1"))
    assert result.step == 9 and not (cfg.run_dir / "failed.txt").exists()
    rows = [r.split(",")[:4] for r in (cfg.run_dir / "metrics.csv").read_text().splitlines()[1:]]
    assert len(rows) == len(set(map(tuple, rows)))   # each (step, epoch, split, metric) once


def test_a_failure_after_a_checkpoint_says_how_to_resume(tmp_path, monkeypatch):
    cfg = tiny_config(tmp_path, "unimodal", "train.epochs=2", "train.ckpt_every=100")
    calls = {"n": 0}
    real = step_module.Stepper.micro

    def fail_in_epoch_2(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 9:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)
    monkeypatch.setattr(step_module.Stepper, "micro", fail_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg)
    failed = (cfg.run_dir / "failed.txt").read_text()
    assert failed.startswith("failed at step 9 (epoch 2)") and f"--resume {cfg.run_dir}" in failed
    monkeypatch.undo()
    assert train(cfg, resume=cfg.run_dir).step == 18 and not (cfg.run_dir / "failed.txt").exists()


def test_a_setting_added_after_a_run_started_resumes_at_its_default(tmp_path):
    import torch
    cfg = tiny_config(tmp_path, "unimodal", "train.epochs=1")
    train(cfg)
    ckpt_path = cfg.run_dir / "checkpoint-last.pt"
    ckpt = torch.load(ckpt_path, weights_only=True)
    for section, key in (("model", "init"), ("optim", "min_lr_ratio")):   # as a run from before they existed
        del ckpt["config"][section][key]
    torch.save(ckpt, ckpt_path)
    with pytest.raises(CxrError, match=r"config differs in optim.min_lr_ratio \(optim.min_lr_ratio: None -> 0.1\)"):
        train(tiny_config(tmp_path, "unimodal", "train.epochs=2", "optim.min_lr_ratio=0.1"), resume=cfg.run_dir)
    assert train(tiny_config(tmp_path, "unimodal", "train.epochs=2"), resume=cfg.run_dir).epoch == 2


# --- _base ------------------------------------------------------------------------------------------------
def test_a_user_config_can_start_from_a_shipped_base(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("_base: _paper.yaml\nname: mine\ntrain:\n  epochs: 3\n")
    cfg = load_config(mine)
    paper = load_config(SHIPPED_CONFIGS / "_paper.yaml")
    assert (cfg.name, cfg.train.epochs) == ("mine", 3)
    assert cfg.train.batch_size == paper.train.batch_size and cfg.data.vocabulary == paper.data.vocabulary
    (tmp_path / "_paper.yaml").write_text("train:\n  batch_size: 6\n")   # a file beside it comes first
    assert load_config(mine).train.batch_size == 6

    lost = tmp_path / "lost.yaml"
    lost.write_text("_base: _nope.yaml\n")
    with pytest.raises(ConfigError, match=rf"{lost}: _base '_nope.yaml' not found; looked for "
                                          rf"{tmp_path / '_nope.yaml'}, {SHIPPED_CONFIGS / '_nope.yaml'}"):
        load_config(lost)
