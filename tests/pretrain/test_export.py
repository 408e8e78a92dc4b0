"""Export round trip: the exported encoder reproduces the trained model; the contract's API holds."""
from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
import torch

from cxr.core.errors import CxrError
from cxr.datasets.patients import patient_digest
from cxr.pretrain.data import layout
from cxr.pretrain.engine.loader import DevicePrep
from cxr.pretrain.engine.trainer import train
from cxr.pretrain.export import Preprocessing, export_run, load_export
from cxr.pretrain.models.build import build_model
from cxr.pretrain.objectives import OBJECTIVES

from tests.pretrain.train_helpers import one_thread, tiny_config, train_on_resized_cache

_threads = pytest.fixture(autouse=True)(one_thread)


def _train(tmp_path_factory, objective):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = tiny_config(tmp_path_factory.mktemp(objective), objective, "train.epochs=1")
    train(cfg)
    torch.set_num_threads(before)
    return cfg


@pytest.fixture(scope="module")
def dlilp_run(tmp_path_factory):
    return _train(tmp_path_factory, "dlilp")


@pytest.fixture(scope="module")
def unimodal_run(tmp_path_factory):
    return _train(tmp_path_factory, "unimodal")


@pytest.fixture(scope="module")
def resized_run(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg, cache = train_on_resized_cache(tmp_path_factory.mktemp("resized"))
    torch.set_num_threads(before)
    return cfg, cache


def _trained_model(cfg):
    ckpt = torch.load(cfg.run_dir / "checkpoint-best.pt", weights_only=True)
    model = build_model(cfg, OBJECTIVES.get(cfg.objective.name).heads, len(ckpt["label_names"]))
    model.load_state_dict(ckpt["model"])
    return model.eval(), ckpt


def test_exported_encoder_reproduces_the_trained_model(dlilp_run):
    model, ckpt = _trained_model(dlilp_run)
    enc = load_export(dlilp_run.run_dir / "export")
    x = torch.randn(3, 3, 32, 32)
    texts = ["there is cardiomegaly", "no pleural effusion"]
    with torch.no_grad():
        assert torch.allclose(enc.encode_image(x), model.encode_image(x, "label"), atol=1e-6)
        assert torch.allclose(enc.encode_image(x, head="text"), model.encode_image(x, "text"), atol=1e-6)
        assert torch.allclose(enc.features(x), model.features(x), atol=1e-6)
        tokens = model.text.tokenize(texts)
        assert torch.allclose(enc.encode_text(texts), model.encode_text(**tokens), atol=1e-6)
    assert enc.encode_image(x).shape == (3, 32) and torch.allclose(enc.encode_image(x).norm(dim=-1), torch.ones(3))
    assert enc.label_names == ckpt["label_names"] and enc.prototypes.shape == (4, 32)
    assert torch.allclose(enc.prototypes, model.label_head.normalized_prototypes(), atol=1e-6)
    assert enc.logit_scale == pytest.approx(model.label_head.scale().item())
    assert enc.has_text and enc.image_size == 32 and enc.mean == (0.5, 0.5, 0.5)


def test_preprocess_matches_training_normalisation(dlilp_run):
    enc = load_export(dlilp_run.run_dir / "export")
    images = torch.randint(0, 256, (2, 1, 32, 32), dtype=torch.uint8)
    prep = DevicePrep(torch.device("cpu"), enc.mean, enc.std, channels_last=False)
    assert torch.equal(enc.preprocess(images), prep({"image": images})["image"])   # one normaliser


def test_export_command_is_reproducible_offline(dlilp_run, tmp_path):
    from safetensors.torch import load_file
    out = export_run(dlilp_run.run_dir, tmp_path / "again")
    a, b = load_file(str(out / "model.safetensors")), load_file(str(dlilp_run.run_dir / "export" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last = load_export(export_run(dlilp_run.run_dir, tmp_path / "last", checkpoint="last"))
    assert last.config["source"]["checkpoint"] == "checkpoint-last.pt"


def test_label_only_export_has_no_text(unimodal_run):
    enc = load_export(unimodal_run.run_dir / "export")
    assert not enc.has_text and enc.label_names is not None
    with pytest.raises(CxrError, match="without text"):
        enc.encode_text(["a"])
    with pytest.raises(CxrError, match="no text head"):
        enc.encode_image(torch.zeros(1, 3, 32, 32), head="text")


def test_not_an_export_is_a_clear_error(tmp_path):
    with pytest.raises(CxrError, match="not a cxr export"):
        load_export(tmp_path)


def test_text_only_export_records_its_pretraining_labels_for_base_novel(tmp_path_factory):
    from cxr.evaluate.encoders import EncoderOptions, load_encoder

    cfg = _train(tmp_path_factory, "clip")
    export = cfg.run_dir / "export"
    enc = load_export(export)
    assert enc.label_names is None and enc.prototypes is None     # CLIP has no label head...
    ckpt = torch.load(cfg.run_dir / "checkpoint-best.pt", weights_only=True)
    # ...but evaluation still knows which classes pre-training saw, without the run's config.yaml
    (cfg.run_dir / "config.yaml").unlink()
    handle = load_encoder(str(export), EncoderOptions())
    assert handle.vocabulary == list(ckpt["label_names"])


#: what evaluation needs from an export, all in its config.json (docs/contracts.md, "Export")
EXPORT_KEYS = {"format", "version", "backbone", "num_features", "preprocess", "embed_dim", "projection", "heads",
               "label_names", "label_vocabulary", "vocabulary", "text", "logit_scale", "text_logit_scale",
               "label_logit_scale", "pretraining"}


def test_export_config_records_everything_evaluation_needs(resized_run, tmp_path):
    cfg, cache = resized_run
    config = json.loads((cfg.run_dir / "export" / "config.json").read_text())
    assert EXPORT_KEYS <= set(config)
    assert config["preprocess"] == {"image_size": 32, "mode": "resize", "channels": 3, "mean": [0.5] * 3,
                                    "std": [0.5] * 3}                       # the cache was resized, not padded
    meta = layout.read_meta(cache)
    assert config["backbone"] == "tiny_cnn" and config["heads"] == {"text": True, "labels": True}
    assert config["label_names"] == config["label_vocabulary"] == meta["label_names"]
    assert config["vocabulary"] == meta["vocabulary"] == "padchest"
    assert config["text"]["encoder"] == "tiny_bert" and config["text"]["folder"] == "text"
    assert config["text"]["tokenizer"] and config["text"]["max_length"] == 16
    assert all(isinstance(config[k], float) for k in ("logit_scale", "text_logit_scale", "label_logit_scale"))
    patients = pd.read_parquet(cache / layout.INDEX, columns=["patient_id"])["patient_id"]
    assert config["pretraining"] == {"manifest_sha256": meta["manifest"]["sha256"],
                                     "patients_sha256": patient_digest(patients)}
    # `cxr pretrain export` rewrites the same contract from the run folder alone
    again = json.loads((export_run(cfg.run_dir, tmp_path / "again") / "config.json").read_text())
    assert {k: again[k] for k in EXPORT_KEYS} == {k: config[k] for k in EXPORT_KEYS}


def test_patient_digest_ignores_spelling_order_and_repeats():
    assert patient_digest(["p10000032", "00001280", "10000032"]) == patient_digest(["1280", "10000032"])
    assert patient_digest(["1280"]) != patient_digest(["1281"])


def test_an_old_format_export_still_loads_as_padded(dlilp_run, tmp_path):
    """Version-1 exports kept image_size, mean and std at top level and knew nothing of pad vs resize."""
    old = shutil.copytree(dlilp_run.run_dir / "export", tmp_path / "old")
    config = json.loads((old / "config.json").read_text())
    preprocess = config.pop("preprocess")
    for key in ("vocabulary", "pretraining"):
        del config[key]
    config.update(version=1, image_size=preprocess["image_size"], mean=preprocess["mean"], std=preprocess["std"],
                  text={"folder": "text", "max_length": config["text"]["max_length"]})
    (old / "config.json").write_text(json.dumps(config))
    enc, new = load_export(old), load_export(dlilp_run.run_dir / "export")
    assert enc.preprocessing == Preprocessing(32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), mode="pad", channels=3)
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(enc.features(x), new.features(x))


def test_an_export_without_usable_preprocessing_names_its_file(dlilp_run, tmp_path):
    bad = shutil.copytree(dlilp_run.run_dir / "export", tmp_path / "bad")
    config = json.loads((bad / "config.json").read_text())
    config["preprocess"]["mode"] = "crop"
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(CxrError, match=r"bad/config.json: unusable image preprocessing .*crop"):
        load_export(bad)


def test_export_names_its_pre_training_patients_as_tokens_only(resized_run, tmp_path):
    from cxr.pretrain.export import read_export_patients

    cfg, cache = resized_run
    index = pd.read_parquet(cache / layout.INDEX, columns=["source", "patient_id"])
    for export in (cfg.run_dir / "export", export_run(cfg.run_dir, tmp_path / "again")):
        text = (export / "patients.json").read_text()
        assert not any(f'"{p}"' in text for p in index["patient_id"])       # no raw id in the file
        tokens = read_export_patients(export)
        assert set(tokens.by_source) == set(index["source"])
        assert sorted(tokens.matches(index["patient_id"].unique())) == sorted(index["patient_id"].unique())
        assert tokens.matches(["nobody-1", "nobody-2"]) == []


def test_no_patient_list_from_a_cache_that_is_gone_or_rebuilt(resized_run, tmp_path, caplog):
    from cxr.pretrain.export import _cache_patients

    _, cache = resized_run
    patients = pd.read_parquet(cache / layout.INDEX, columns=["patient_id"])["patient_id"]
    assert _cache_patients({"cache": str(cache), "patients_sha256": patient_digest(patients)}) is not None
    assert _cache_patients({"cache": str(cache), "patients_sha256": patient_digest(["someone else"])}) is None
    assert _cache_patients({"cache": str(tmp_path / "gone"), "patients_sha256": "ab"}) is None
    assert "cannot check" in caplog.text
    assert _cache_patients({"cache": None, "patients_sha256": None}) is None      # toy data: nothing to say
