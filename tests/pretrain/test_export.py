"""Export round trip: the exported encoder reproduces the trained model; the contract's API holds."""
from __future__ import annotations

import pytest
import torch

from cxr.core.errors import CxrError
from cxr.pretrain.engine.loader import DevicePrep
from cxr.pretrain.engine.trainer import train
from cxr.pretrain.export import export_run, load_export
from cxr.pretrain.models.build import build_model
from cxr.pretrain.objectives import OBJECTIVES

from tests.pretrain.train_helpers import one_thread, tiny_config

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
    assert torch.allclose(enc.preprocess(images), prep({"image": images})["image"], atol=1e-6)


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
