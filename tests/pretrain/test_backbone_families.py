"""A representative of every timm family the docs and configs name builds, gives the width it declares at
the configured size and trains a step; the random init is a config choice; any config's model can be
exported as built, before a step."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cxr.core.errors import CxrError
from cxr.pretrain.engine.distributed import DistContext
from cxr.pretrain.engine.trainer import Trainer, export_init, train
from cxr.pretrain.export import load_export
from cxr.pretrain.models import CxrModel, Heads, build_backbone
from cxr.pretrain.models.backbones import check_backbone
from cxr.pretrain.objectives.unimodal import label_loss

from tests.pretrain.train_helpers import one_thread, tiny_config

_threads = pytest.fixture(autouse=True)(one_thread)

# (timm name, pooled width): the smallest member of each family. mobilenetv3 widens its pooled 288
# features to 1024 in a head conv, so its ``num_features`` (288) is not what it returns.
FAMILIES = [
    ("resnet18", 512), ("resnetv2_18", 512), ("regnetx_002", 368), ("densenet121", 1024),
    ("efficientnet_b0", 1280), ("mobilenetv3_small_050", 1024), ("convnext_atto", 320),
    ("vit_tiny_patch16_224", 192), ("swin_tiny_patch4_window7_224", 768),
]


@pytest.mark.parametrize("name,width", FAMILIES)
def test_family_builds_runs_at_the_configured_size_and_trains_a_step(name, width):
    torch.manual_seed(0)
    backbone = build_backbone(name, "none", image_size=64)
    assert backbone.num_features == width
    check_backbone(backbone, 64, name)     # ViT / Swin are built for 64 px, not their default 224
    model = CxrModel(backbone, Heads(text=False, labels=True), num_labels=3, embed_dim=16).train()
    batch = {"labels": torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]), "annotated": torch.ones(2, 3, dtype=torch.bool)}
    before = {k: v.detach().clone() for k, v in model.label_proj.named_parameters()}
    optim = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss = label_loss(model(torch.randn(2, 3, 64, 64)), batch, "masked", "negative")
    loss.backward()
    optim.step()
    assert torch.isfinite(loss)
    assert all(not torch.equal(before[k], v) for k, v in model.label_proj.named_parameters())


def test_the_reported_mobilenetv3_run_trains_and_exports(tmp_path):
    """It used to crash at the first step (projection built for 288 inputs, given 1024)."""
    cfg = tiny_config(tmp_path, "unimodal", "model.backbone=mobilenetv3_small_050", "data.toy=24",
                      "train.epochs=1", "train.batch_size=8")
    result = train(cfg)
    assert result.step == 2 and (cfg.run_dir / "checkpoint-last.pt").is_file()
    enc = load_export(result.export_dir)
    assert enc.config["num_features"] == 1024
    assert enc.features(torch.zeros(1, 3, 32, 32)).shape == (1, 1024)


def test_a_size_the_backbone_cannot_take_fails_before_a_run_folder(tmp_path, monkeypatch):
    from cxr.pretrain.models import backbones
    monkeypatch.setattr(backbones, "_size_kwargs", lambda name, size: {})   # as before: always 224 px
    cfg = tiny_config(tmp_path, "unimodal", "model.backbone=vit_tiny_patch16_224", "data.toy=24",
                      "train.batch_size=8")
    with pytest.raises(CxrError, match=r"backbone 'vit_tiny_patch16_224' fails on a 32 px image"):
        train(cfg)
    assert not cfg.run_dir.exists()


# --- the random init ------------------------------------------------------------------------------------
def _zero_norm_scales(model: nn.Module) -> int:
    return sum(1 for m in model.modules() if isinstance(m, nn.BatchNorm2d) and not m.weight.any())


def test_zeroed_residual_scales_are_opt_in():
    assert _zero_norm_scales(build_backbone("resnet18", "none")) == 0           # default: standard
    assert _zero_norm_scales(build_backbone("resnet18", "none", init="zero-residual")) == 8   # one per block
    with pytest.raises(CxrError, match="'densenet121' has no zero-residual option"):
        build_backbone("densenet121", "none", init="zero-residual")
    with pytest.raises(CxrError, match="model.init='xavier': must be one of standard, zero-residual"):
        build_backbone("resnet18", "none", init="xavier")


def _resnet_config(tmp_path, init: str, name: str):
    return tiny_config(tmp_path, "unimodal", "model.backbone=resnet18", f"model.init={init}", "data.toy=24",
                       "train.batch_size=8", name=name)


def test_export_init_is_the_model_training_starts_from(tmp_path):
    x = torch.randn(2, 3, 32, 32)
    cfg = _resnet_config(tmp_path, "standard", "std")
    exported = load_export(export_init(cfg, tmp_path / "init-std"))
    assert exported.config["pretraining"] == {"manifest_sha256": None, "patients_sha256": None}
    assert exported.config["source"]["step"] == 0 and exported.config["source"]["init"] == "standard"

    trainer = Trainer(cfg, DistContext(), None, None)   # built exactly as a run starts, no step taken
    trainer.metrics.close()
    with torch.no_grad():
        expected = trainer.model.eval().features(x)
    assert torch.allclose(exported.features(x), expected, atol=1e-6)

    zero = load_export(export_init(_resnet_config(tmp_path, "zero-residual", "zero"), tmp_path / "init-zero"))
    assert not torch.allclose(zero.features(x), expected, atol=1e-3)


def test_cli_export_init_writes_an_export(tmp_path):
    from typer.testing import CliRunner

    from cxr.cli.main import app
    out = tmp_path / "untrained"
    args = ["pretrain", "-c", "demo_toy", "--set", "data.toy=24", "--set", "data.workers=0",
            "--set", "model.init=standard", "--export-init", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "no step" in result.output and load_export(out).config["source"]["step"] == 0
    refused = CliRunner().invoke(app, ["pretrain", "--resume", str(tmp_path), "--export-init", str(out)])
    assert refused.exit_code == 2 and "--export-init needs --config" in refused.output
