"""Other labs' encoders through their adapters: each test writes a tiny checkpoint in the real format,
loads it by spec, and checks feature width, the preprocessing it carries, determinism and zero-shot."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cxr.core.errors import InputError
from cxr.evaluate.encoders import EncoderOptions, load_encoder
from cxr.evaluate.errors import WeightsMismatchError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)


def _deterministic(handle, x):
    with torch.no_grad():
        a, b = handle.model.features(x), handle.model.features(x)
    assert torch.equal(a, b)
    return a


# --- torchvision -------------------------------------------------------------------------------------
def test_torchvision_resnet_weights_file_without_its_classifier(tmp_path):
    import torchvision

    torch.manual_seed(0)
    source = torchvision.models.resnet18(weights=None)           # an ImageNet file keeps fc.* keys
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(source.state_dict(), path)
    enc = load_encoder("torchvision:resnet18", EncoderOptions(weights=str(path), image_size=32))
    x = torch.rand(2, 3, 32, 32)
    feats = _deterministic(enc, x)
    source.fc = torch.nn.Identity()
    with torch.no_grad():
        assert feats.shape == (2, 512) and torch.allclose(feats, source.eval()(x), atol=1e-5)
    pre = enc.model.preprocessing
    assert (pre.image_size, pre.channels, pre.mean, pre.mode) == (32, 3, (0.485, 0.456, 0.406), "pad")
    assert not enc.can_zero_shot
    # the cache key follows the file's content and the adapter, not the path
    same = load_encoder("torchvision:resnet18", EncoderOptions(weights=str(path), image_size=32))
    assert same.identity == enc.identity
    state = torch.load(path, weights_only=True)
    state["conv1.weight"][0, 0, 0, 0] += 1.0                     # one weight changed, same path
    torch.save(state, path)
    assert load_encoder("torchvision:resnet18", EncoderOptions(weights=str(path), image_size=32)).identity != enc.identity


def test_torchvision_wrong_file_and_unknown_name(tmp_path):
    import torchvision

    path = tmp_path / "r34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), path)
    with pytest.raises(WeightsMismatchError, match=r"(?s)do not fit torchvision:resnet18.*unexpected key\(s\): layer1.2"):
        load_encoder("torchvision:resnet18", EncoderOptions(weights=str(path)))
    with pytest.raises(InputError, match="unknown torchvision model"):
        load_encoder("torchvision:resnet_9000")


# --- TorchXRayVision -----------------------------------------------------------------------------------
def test_xrv_densenet_state_dict_one_channel_in_its_range(tmp_path):
    xrv = pytest.importorskip("torchxrayvision")
    torch.manual_seed(0)
    source = xrv.models.DenseNet(weights=None, num_classes=18, in_channels=1).eval()
    path = tmp_path / "xrv-densenet.pt"
    torch.save(source.state_dict(), path)
    enc = load_encoder(f"xrv:{path}")                             # architecture read off the keys
    pre = enc.model.preprocessing
    assert (pre.image_size, pre.channels) == (224, 1)
    # black and white pixels land on TorchXRayVision's range ends, as xrv.utils.normalize(img, 255) puts them
    ends = pre.tensor(np.array([[0, 255]], dtype=np.uint8))
    assert torch.allclose(ends.flatten(), torch.tensor([-1024.0, 1024.0]))
    assert np.allclose(xrv.utils.normalize(np.array([0.0, 255.0]), 255), [-1024, 1024])
    x = torch.randn(1, 1, 32, 32) * 500
    feats = _deterministic(enc, x)
    with torch.no_grad():
        assert feats.shape == (1, 1024) and torch.allclose(feats, source.features2(x), atol=1e-5)
    named = load_encoder("xrv:densenet121-res224-all", EncoderOptions(weights=str(path)))
    assert named.identity == enc.identity and "xrv" in enc.info["source"]


def test_xrv_pickled_model_is_refused_with_the_conversion(tmp_path):
    xrv = pytest.importorskip("torchxrayvision")
    path = tmp_path / "release.pt"
    torch.save(xrv.models.DenseNet(weights=None), path)          # how the DenseNet release files are saved
    with pytest.raises(InputError, match=r"pickles a whole model.*state_dict\(\)"):
        load_encoder(f"xrv:{path}")
    with pytest.raises(InputError, match="needs a local weights file"):
        load_encoder("xrv:densenet121-res224-nih")


# --- DLILP reference checkpoints -----------------------------------------------------------------------
P = 8  # projection width of the tiny checkpoints


def _tiny_bert_folder(tmp_path):
    from transformers import BertConfig, BertModel

    from cxr.pretrain.models.text import tiny_tokenizer, tiny_vocab

    folder = tmp_path / "bert"
    config = BertConfig(vocab_size=len(tiny_vocab()), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128)
    bert = BertModel(config).eval()                               # with pooler, as AutoModel builds it
    config.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(str(folder))
    return folder, bert


@pytest.fixture(scope="module")
def resnet():
    """The reference's image encoder: torchvision ResNet-50 with fc replaced by Identity (built once)."""
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet50(weights=None)
    model.fc = torch.nn.Identity()
    return model.eval()


def _dlilp_checkpoint(tmp_path, objective: str, resnet):
    """The reference's VLMModel.state_dict() layout (cxrvlms/modeling/model.py), torch.save'd flat."""
    tmp_path.mkdir(exist_ok=True)
    state = {f"vision_model.model.{k}": v for k, v in resnet.state_dict().items()}
    state["vision_model.projection_head_vision.projection.weight"] = torch.randn(P, 2048)
    state["logit_scale"] = torch.log(torch.tensor(1 / 0.07))
    bert = None
    if objective in ("clip", "dlilp"):
        folder, bert = _tiny_bert_folder(tmp_path)
        state.update({f"text_model.model.{k}": v for k, v in bert.state_dict().items()})
        state["text_model.projection_head_text.projection.weight"] = torch.randn(P, 16)
    if objective in ("unimodal", "dlilp"):
        state["class_prototypes"] = torch.randn(85, P)
    if objective == "dlilp":
        state["vision_model.projection_head2.projection.weight"] = torch.randn(P, 2048)
        state["logit_scale_head2"] = torch.tensor(5.0)           # above ln 100: clamped when used
    path = tmp_path / f"resnet_v1_{objective}_best.pth"
    torch.save(state, path)
    return path, state, bert


def test_dlilp_checkpoint_label_head_text_head_and_raw_features(tmp_path, resnet):
    path, state, bert = _dlilp_checkpoint(tmp_path, "dlilp", resnet)
    enc = load_encoder(f"dlilp:{path}:{tmp_path / 'bert'}")
    m = enc.model
    pre = m.preprocessing
    assert (pre.image_size, pre.channels, pre.mean, pre.std, pre.mode) == (224, 3, (0.0,) * 3, (1.0,) * 3, "pad_topleft")
    x = torch.rand(2, 3, 32, 32)
    feats = _deterministic(enc, x)
    with torch.no_grad():
        assert feats.shape == (2, 2048) and torch.allclose(feats, resnet(x), atol=1e-5)
        label_emb = F.normalize(feats @ state["vision_model.projection_head2.projection.weight"].T, dim=-1)
        assert torch.allclose(m.encode_image(x), label_emb, atol=1e-5)       # default: the label head
        text_emb = F.normalize(feats @ state["vision_model.projection_head_vision.projection.weight"].T, dim=-1)
        assert torch.allclose(m.encode_image(x, head="text"), text_emb, atol=1e-5)
        # text as the reference's TextModel: mean over tokens of the mean of hidden layers 1, 2 and last
        tok = m.text.tokenizer(["pleural effusion"], return_tensors="pt")
        hidden = bert(**tok, output_hidden_states=True).hidden_states
        pooled = torch.stack([hidden[1], hidden[2], hidden[-1]]).mean(2).mean(0)
        expected = F.normalize(pooled @ state["text_model.projection_head_text.projection.weight"].T, dim=-1)
        assert torch.allclose(m.encode_text(["pleural effusion"]), expected, atol=1e-5)
        assert m.encode_text(["a", "b c"]).shape == (2, P)
    assert m.prototypes.shape == (85, P) and torch.allclose(m.prototypes.norm(dim=-1), torch.ones(85))
    assert m.label_names[0] == "adenopathy" and m.label_names[-1] == "vertebral degenerative changes"
    assert m.logit_scale == pytest.approx(100.0, rel=1e-3)        # head 2's 5.0 clamped to ln 100
    assert m.config["text_logit_scale"] == pytest.approx(1 / 0.07, rel=1e-4)  # the text head keeps its own
    assert enc.can_zero_shot and enc.has_label_head and enc.vocabulary == m.label_names
    assert enc.info["objective"] == "dlilp"


def test_dlilp_unimodal_and_text_tower_unavailable(tmp_path, resnet):
    path, state, _ = _dlilp_checkpoint(tmp_path, "unimodal", resnet)
    enc = load_encoder(f"dlilp:{path}")
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        emb = F.normalize(enc.model.features(x) @ state["vision_model.projection_head_vision.projection.weight"].T, dim=-1)
        assert torch.allclose(enc.model.encode_image(x), emb, atol=1e-5)
    assert enc.model.logit_scale == pytest.approx(1 / 0.07, rel=1e-4) and not enc.model.has_text
    clip_path, _, _ = _dlilp_checkpoint(tmp_path / "clip", "clip", resnet)
    with pytest.warns(UserWarning, match="text encoder not loaded"):
        clip = load_encoder(f"dlilp:{clip_path}:{tmp_path / 'no-such-text-model'}")
    assert not clip.can_zero_shot and clip.model.encode_image(x).shape == (1, P)
    with pytest.raises(InputError, match="not a DLILP-format checkpoint"):
        torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pth")
        load_encoder(f"dlilp:{tmp_path / 'other.pth'}")


# --- OpenCLIP ----------------------------------------------------------------------------------------
TINY_OPEN_CLIP = {"embed_dim": 16,
                  "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
                  "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


def _open_clip_files(tmp_path):
    open_clip = pytest.importorskip("open_clip")
    config = tmp_path / "tiny-clip.json"
    config.write_text(json.dumps(TINY_OPEN_CLIP))
    open_clip.add_model_config(str(config))
    torch.manual_seed(0)
    model = open_clip.create_model("tiny-clip", pretrained=None).eval()
    path = tmp_path / "tiny-clip.pt"
    torch.save(model.state_dict(), path)
    return config, path, model


def test_open_clip_local_checkpoint_both_towers(tmp_path):
    config, path, source = _open_clip_files(tmp_path)
    enc = load_encoder(f"open_clip:{config}:{path}")
    pre = enc.model.preprocessing
    assert (pre.image_size, pre.channels, pre.mode) == (32, 3, "resize") and pre.mean == pytest.approx(CLIP_MEAN)
    x = torch.rand(2, 3, 32, 32)
    feats = _deterministic(enc, x)
    with torch.no_grad():
        assert feats.shape == (2, 16) and torch.allclose(feats, source.encode_image(x), atol=1e-5)
        text = enc.model.encode_text(["pleural effusion", "no finding"])
    assert text.shape == (2, 16) and torch.allclose(text.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert enc.can_zero_shot and enc.model.logit_scale == pytest.approx(1 / 0.07, rel=1e-4)
    assert enc.identity == load_encoder(f"open_clip:{config}", EncoderOptions(weights=str(path))).identity


def test_missing_optional_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)          # import open_clip -> ImportError
    with pytest.raises(InputError, match=r"pip install 'cxr\[adapters\]'"):
        load_encoder(f"open_clip:ViT-B-32:{tmp_path / 'x.pt'}")


# --- Hugging Face CLIP -------------------------------------------------------------------------------
def _hf_clip(tmp_path, vision_only=False):
    from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig, CLIPVisionModel

    from cxr.pretrain.models.text import tiny_tokenizer, tiny_vocab

    vision = dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=8)
    torch.manual_seed(0)
    if vision_only:
        model = CLIPVisionModel(CLIPVisionConfig(**vision))
    else:
        text = dict(vocab_size=len(tiny_vocab()), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                    num_attention_heads=2, max_position_embeddings=32,
                    pad_token_id=0, bos_token_id=2, eos_token_id=3)  # the tiny tokenizer's [PAD], [CLS], [SEP]
        model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=8))
    folder = tmp_path / ("vision" if vision_only else "clip")
    model.save_pretrained(str(folder))
    if not vision_only:
        tiny_tokenizer().save_pretrained(str(folder))
    return folder, model.eval()


def test_hf_clip_model_and_vision_only_folder(tmp_path):
    folder, source = _hf_clip(tmp_path)
    enc = load_encoder(f"hf-clip:{folder}")
    pre = enc.model.preprocessing
    assert (pre.image_size, pre.channels, pre.mode) == (32, 3, "resize") and pre.mean == pytest.approx(CLIP_MEAN)
    x = torch.rand(2, 3, 32, 32)
    feats = _deterministic(enc, x)
    with torch.no_grad():
        pooled = source.vision_model(pixel_values=x).pooler_output
        assert feats.shape == (2, 16) and torch.allclose(feats, pooled, atol=1e-5)
        assert torch.allclose(enc.model.encode_image(x), F.normalize(source.visual_projection(pooled), dim=-1), atol=1e-5)
        assert enc.model.encode_text(["pleural effusion", "edema"]).shape == (2, 8)
    assert enc.can_zero_shot and enc.model.logit_scale == pytest.approx(float(source.logit_scale.detach().exp()))

    vision, _ = _hf_clip(tmp_path, vision_only=True)
    venc = load_encoder(f"hf-clip:{vision}")
    assert not venc.can_zero_shot and venc.model.features(x).shape == (2, 16)
    assert venc.identity != enc.identity
    with pytest.raises(InputError, match="not a folder with config.json"):
        load_encoder(f"hf-clip:{tmp_path / 'nothing'}")
