"""timm backbones (random init, local weights, mismatched weights), cxr exports and spec parsing.
Other labs' formats: test_adapters.py."""
from __future__ import annotations

import json
import sys
import types

import pytest
import torch

from cxr.evaluate.encoders import EncoderOptions, load_encoder
from cxr.evaluate.errors import WeightsMismatchError
from cxr.core.errors import CxrError, InputError
from cxr.pretrain.export import Preprocessing

X = torch.rand(2, 3, 32, 32)


def test_random_init_is_seeded_and_identified():
    a = load_encoder("timm:test_resnet", EncoderOptions(image_size=32))
    b = load_encoder("timm:test_resnet", EncoderOptions(image_size=32))
    c = load_encoder("timm:test_resnet", EncoderOptions(image_size=32, init_seed=1))
    assert a.identity == b.identity != c.identity
    with torch.no_grad():
        assert torch.equal(a.model.features(X), b.model.features(X))
        emb = a.model.encode_image(X)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2))
    assert a.model.preprocessing.image_size == 32 and not a.can_zero_shot and a.vocabulary is None


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weights_load_and_change_the_identity(tmp_path, suffix):
    import timm

    torch.manual_seed(123)
    source = timm.create_model("test_resnet", pretrained=False)            # with its classifier head
    path = tmp_path / f"w{suffix}"
    if suffix == ".pth":
        torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, path)
    else:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    enc = load_encoder("timm:test_resnet", EncoderOptions(weights=str(path), image_size=32))
    source.reset_classifier(0)
    source.eval()
    with torch.no_grad():
        assert torch.allclose(enc.model.features(X), source(X), atol=1e-6)
    assert enc.identity != load_encoder("timm:test_resnet", EncoderOptions(image_size=32)).identity


def test_weights_of_another_architecture_name_the_keys(tmp_path):
    import timm

    path = tmp_path / "effnet.pth"
    torch.save(timm.create_model("test_efficientnet", pretrained=False).state_dict(), path)
    with pytest.raises(WeightsMismatchError, match=r"(?s)do not fit timm:test_resnet.*missing key\(s\): conv1.*unexpected key\(s\): conv_stem"):
        load_encoder("timm:test_resnet", EncoderOptions(weights=str(path)))


def test_unknown_timm_name_and_bad_paths():
    with pytest.raises(InputError, match="unknown timm model"):
        load_encoder("timm:resnet_does_not_exist")
    with pytest.raises(InputError, match="neither a cxr export"):
        load_encoder("/nonexistent/run")


def test_export_loads_through_pretrain_export_with_its_vocabulary(tmp_path, monkeypatch):
    export = tmp_path / "runs" / "dlilp" / "export"
    export.mkdir(parents=True)
    (export / "model.safetensors").write_bytes(b"weights")
    (export / "config.json").write_text(json.dumps({"objective": "clip",
                                                    "data": {"label_vocabulary": ["normal", "pneumonia"]}}))

    class FakeExport:
        preprocessing = Preprocessing(224, mean=(0.5,), std=(0.5,), channels=1)
        label_names, prototypes, has_text, logit_scale = None, None, True, 100.0

    module = types.ModuleType("cxr.pretrain.export")
    module.load_export = lambda path: FakeExport()
    monkeypatch.setitem(sys.modules, "cxr.pretrain.export", module)
    enc = load_encoder(str(tmp_path / "runs" / "dlilp"))               # a run folder holding export/
    assert enc.name == "dlilp" and enc.vocabulary == ["normal", "pneumonia"] and enc.can_zero_shot
    with pytest.raises(CxrError, match="--weights applies to timm"):
        load_encoder(str(export), EncoderOptions(weights="x.pth"))


def test_vocabulary_from_the_export_only_or_a_file(tmp_path):
    from cxr.evaluate.encoders import export_vocabulary, resolve_vocabulary

    run = tmp_path / "run"
    (run / "export").mkdir(parents=True)
    (run / "config.yaml").write_text("objective: {name: clip}\ndata: {vocabulary: padchest}\n")
    clip = types.SimpleNamespace(label_names=None)
    # evaluation reads only the export: the run's config.yaml beside it is never consulted
    assert export_vocabulary(clip, {"source": {"run": str(run)}}) is None
    assert export_vocabulary(clip, {"label_vocabulary": ["normal", "pneumonia"]}) == ["normal", "pneumonia"]
    listed = tmp_path / "labels.txt"
    listed.write_text("# base labels\nnormal\npneumonia\n")
    assert resolve_vocabulary(str(listed)) == ["normal", "pneumonia"]
    assert export_vocabulary(types.SimpleNamespace(label_names=["a"]), {}) == ["a"]


def test_spec_prefix_picks_the_adapter_else_the_path_is_an_export():
    from cxr.evaluate.encoders import ENCODERS, split_spec

    assert {"export", "timm", "torchvision", "dlilp", "xrv", "open_clip", "hf-clip"} <= set(ENCODERS.names())
    assert split_spec("xrv:/w/a:b.pt") == ("xrv", "/w/a:b.pt")        # only the first colon splits
    assert split_spec("runs/a:b") == ("export", "runs/a:b")            # not a scheme: a path
    assert split_spec("export:x") == ("export", "export:x")
    with pytest.raises(InputError, match="neither a cxr export.*hf-clip"):
        load_encoder("nope:thing")


def test_random_init_baseline_keeps_residual_norm_scales():
    """timm zeroes each ResNet block's last BN scale by default; the untrained baseline must not (issue 10)."""
    enc = load_encoder("timm:resnet18")
    last_bn = [m.bn2.weight for layer in ("layer1", "layer2", "layer3", "layer4")
               for m in getattr(enc.model.model, layer)]
    assert len(last_bn) == 8 and all(bool((w != 0).all()) for w in last_bn)
