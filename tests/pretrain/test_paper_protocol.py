"""The paper's pre-training protocol as config choices: padding anchor, [0, 1] inputs, torchvision weights,
the 100-epoch cosine horizon, uncertain-as-negative, label-only captions, text pooling; and the shipped
configs that use them."""
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from cxr.core.errors import CxrError
from cxr.datasets.images import square_image
from cxr.pretrain.config import SHIPPED_CONFIGS, config_path, load_config, shipped_configs
from cxr.pretrain.data.dataset import CacheDataset
from cxr.pretrain.data.prepare import PrepareConfig, prepare_cache
from cxr.pretrain.engine.step import Stepper
from cxr.pretrain.export import export_trained, load_export
from cxr.pretrain.models import weights
from cxr.pretrain.models.build import build_model
from cxr.pretrain.models.model import Heads
from cxr.pretrain.models.text import TextEncoder, tiny_tokenizer, tiny_vocab
from cxr.pretrain.objectives import build_objective
from tests.pretrain.data_helpers import fixture_ontology, image_folder
from tests.pretrain.train_helpers import one_thread, tiny_config

one_thread = pytest.fixture(autouse=True)(one_thread)


# --- padding anchor ------------------------------------------------------------------------------------
def test_pad_topleft_puts_the_image_at_the_top_left():
    wide = np.full((10, 20), 200, dtype=np.uint8)           # 20 wide, 10 tall -> 20 x 10 inside 20 x 20
    corner, centred = square_image(wide, 20, "pad_topleft"), square_image(wide, 20, "pad")
    assert (corner[:10] == 200).all() and (corner[10:] == 0).all()
    assert (centred[5:15] == 200).all() and (centred[:5] == 0).all() and (centred[15:] == 0).all()
    tall = Image.fromarray(np.full((20, 10), 90, dtype=np.uint8))
    corner = square_image(tall, 20, "pad_topleft")
    assert (corner[:, :10] == 90).all() and (corner[:, 10:] == 0).all()


def _paper_model(cfg, labels=3):
    cfg.model.normalize = "none"
    return build_model(cfg, Heads(text=True, labels=True), labels)


def test_export_records_the_anchor_and_unit_range_inputs(tmp_path):
    from cxr.evaluate.images import encoder_input
    cfg = tiny_config(tmp_path)
    model = _paper_model(cfg)
    out = export_trained(model, cfg, tmp_path / "export", label_names=["a", "b", "c"],
                         data={"image_mode": "pad_topleft"}, extra={})
    pre = json.loads((out / "config.json").read_text())["preprocess"]
    assert pre["mode"] == "pad_topleft" and pre["mean"] == [0.0] * 3 and pre["std"] == [1.0] * 3
    enc = load_export(out)
    assert enc.preprocessing.mode == "pad_topleft"
    wide = np.full((16, 32), 255, dtype=np.uint8)
    x = encoder_input(wide, enc.preprocessing)             # evaluation squares it as training did
    assert x.shape == (1, 3, 32, 32)
    assert torch.all(x[0, :, :16] == 1.0) and torch.all(x[0, :, 16:] == 0.0)   # [0, 1], image on top


def test_backbone_normalisation_stays_the_default(tmp_path):
    model = build_model(tiny_config(tmp_path), Heads(text=False, labels=True), 2)
    assert model.mean == (0.5, 0.5, 0.5) and model.std == (0.5, 0.5, 0.5)   # tiny_cnn's weights' statistics


def test_prepare_flag_and_a_cache_of_another_anchor_is_refused(tmp_path):
    from typer.testing import CliRunner

    from cxr.cli.main import app
    from cxr.pretrain.engine.data import build_datasets
    root = tmp_path / "d"
    root.mkdir()
    image_folder(root, 4, size=(16, 32)).to_csv(root / "m.csv", index=False)   # 16 tall, 32 wide
    for flag, name in (("--pad-topleft", "corner"), ("--pad", "centred")):
        result = CliRunner().invoke(app, ["prepare", str(root / "m.csv"), "-o", str(root / name), "--size", "16",
                                          flag, "--val-fraction", "0", "--workers", "1", "-q"])
        assert result.exit_code == 0, result.output
    corner = CacheDataset(root / "corner", label_names=["cardiomegaly"])[0]["image"][0]
    assert (corner[8:] == 0).all() and (corner[:8] > 0).all()          # bottom half black
    cfg = tiny_config(tmp_path, "unimodal", "data.toy=0", "data.vocabulary=", "data.image_mode=pad_topleft")
    cfg.data.cache = str(root / "corner")
    assert len(build_datasets(cfg).train) == 4
    cfg.data.cache = str(root / "centred")
    with pytest.raises(CxrError, match="squared by 'pad'.*--pad-topleft"):
        build_datasets(cfg)


# --- torchvision weights -------------------------------------------------------------------------------
def test_torchvision_weights_come_from_torch_hub_cache(tmp_path, monkeypatch):
    """The real path (torchvision's checkpoint file in TORCH_HOME) with a tiny stand-in state dict."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setitem(weights.TORCHVISION_WEIGHTS, "tiny_cnn", "ResNet18_Weights.IMAGENET1K_V1")
    cfg = tiny_config(tmp_path, "unimodal", "model.pretrained=torchvision")
    reference = build_model(tiny_config(tmp_path, "unimodal"), Heads(text=False, labels=True), 2).backbone
    path = tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    path.parent.mkdir(parents=True)
    torch.save({**reference.state_dict(), "fc.weight": torch.zeros(1000, 64)}, path)   # a classifier is fine
    model = build_model(cfg, Heads(text=False, labels=True), 2)
    for k, v in reference.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[k], v)


def test_torchvision_weights_offline_and_unknown_backbone(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def no_network(*args, **kwargs):
        raise OSError("network unreachable")
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    with pytest.raises(CxrError, match="resnet50-11ad3fa6.pth.*network unreachable"):
        weights.resolve_pretrained("resnet50", "torchvision")
    with pytest.raises(CxrError, match="no torchvision weights known for backbone 'vit_small"):
        weights.resolve_pretrained("vit_small_patch16_224", "torchvision")
    assert weights.resolve_pretrained("resnet50", "none") == "none"


# --- schedule --------------------------------------------------------------------------------------------
def _lr_after(epochs_run: int, tmp_path, *overrides: str, steps_per_epoch: int = 10) -> float:
    cfg = tiny_config(tmp_path, "unimodal", "optim.lr=1e-4", "optim.warmup_epochs=1", *overrides)
    model = torch.nn.Linear(2, 2)
    stepper = Stepper(model, model, None, None, cfg, torch.device("cpu"), steps_per_epoch, tmp_path / "last.pt")
    for _ in range(epochs_run * steps_per_epoch):
        stepper.optimizer.step()
        stepper.scheduler.step()
    return stepper.optimizer.param_groups[0]["lr"]


def test_cosine_with_a_100_epoch_horizon_keeps_the_rate_high_at_epoch_30(tmp_path):
    # after 30 epochs of 10 steps with 1 warm-up epoch: 29 of 99 cosine epochs done
    expected = 1e-4 * 0.5 * (1 + math.cos(math.pi * 29 / 99))          # 0.8029e-4 by hand
    assert _lr_after(30, tmp_path, "train.epochs=30", "optim.horizon_epochs=100") == pytest.approx(expected)
    assert expected == pytest.approx(0.8029e-4, abs=1e-8)
    assert _lr_after(30, tmp_path, "train.epochs=30") == pytest.approx(0.0, abs=1e-12)   # default: the run's


# --- labels ------------------------------------------------------------------------------------------------
def test_uncertain_negative_turns_minus_one_into_a_counted_zero(tmp_path):
    cfg = load_config(SHIPPED_CONFIGS / "unimodal_mimic.yaml")
    objective = build_objective(cfg)
    labels = torch.tensor([[1.0, -1.0, 0.0]])
    out = {"label_emb": torch.nn.functional.normalize(torch.tensor([[1.0, 0.0]]), dim=1),
           "prototypes": torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), "label_scale": torch.tensor(2.0)}
    loss = objective(out, {"labels": labels, "annotated": torch.ones(1, 3, dtype=torch.bool)})["loss"]
    # logits 2, 0, -2 against targets 1, 0 (the uncertain one), 0
    by_hand = (math.log1p(math.exp(-2)) + math.log(2) + math.log1p(math.exp(-2))) / 3
    assert float(loss) == pytest.approx(by_hand, rel=1e-6)
    cfg.data.uncertain = "masked"
    masked = build_objective(cfg)(out, {"labels": labels, "annotated": torch.ones(1, 3, dtype=torch.bool)})["loss"]
    assert float(masked) == pytest.approx(math.log1p(math.exp(-2)), rel=1e-6)


@pytest.fixture(scope="module")
def label_only_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("lo")
    frame = image_folder(root, 6)
    frame["report"] = None
    frame["cardiomegaly"] = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]
    frame["pleural effusion"] = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    frame.to_parquet(root / "m.parquet")
    prepare_cache(root / "m.parquet", root / "cache", PrepareConfig(size=16, val_fraction=0.0), onto=fixture_ontology())
    return root / "cache"


def test_label_only_items_get_a_radiology_image_caption(label_only_cache):
    ds = CacheDataset(label_only_cache, label_names=["cardiomegaly", "pleural effusion"], label_text="sampled")
    assert ds.text(1) == ("A radiology image of cardiomegaly", False)
    assert ds.text(2) == ("A radiology image of no finding", False)
    drawn = set()
    for epoch in range(12):                       # one of the two positives, redrawn per epoch
        ds.set_epoch(epoch)
        drawn.add(ds.text(0)[0])
    assert drawn == {"A radiology image of cardiomegaly", "A radiology image of pleural effusion"}
    listed = CacheDataset(label_only_cache, label_names=["cardiomegaly", "pleural effusion"])
    assert listed.text(0)[0] == "cardiomegaly, pleural effusion"       # cxr's default
    with pytest.raises(Exception, match="label_text"):
        CacheDataset(label_only_cache, label_text="poem")


# --- text pooling -------------------------------------------------------------------------------------------
def _bert(layers: int, pooling: str) -> TextEncoder:
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tiny_vocab()), hidden_size=16, num_hidden_layers=layers,
                        num_attention_heads=2, intermediate_size=32, max_position_embeddings=64)
    return TextEncoder(BertModel(config, add_pooling_layer=False).eval(), tiny_tokenizer(), 32, pooling)


def test_text_pooling_averages_layers_1_2_and_last():
    enc = _bert(4, "mean_1_2_last")
    tokens = enc.tokenize(["small left pleural effusion", "no pneumothorax"])
    with torch.no_grad():
        got = enc(**tokens)
        states = enc.model(**tokens, output_hidden_states=True).hidden_states    # embeddings, layer 1..4
    mask = tokens["attention_mask"]
    for b in range(2):
        n = int(mask[b].sum())
        by_hand = torch.stack([states[1][b, :n], states[2][b, :n], states[4][b, :n]]).mean(0).mean(0)
        assert torch.allclose(got[b], by_hand, atol=1e-5)
        last_only = states[4][b, :n].mean(0)
        assert not torch.allclose(got[b], last_only, atol=1e-3)
    with torch.no_grad():                        # padding to a longer batch does not change an embedding
        alone = enc(**enc.tokenize(["no pneumothorax"]))
    assert torch.allclose(alone[0], got[1], atol=1e-5)


def test_export_keeps_the_text_pooling(tmp_path):
    cfg = tiny_config(tmp_path, "dlilp", "model.text_pooling=mean_1_2_last")
    model = build_model(cfg, Heads(text=True, labels=True), 2).eval()
    out = export_trained(model, cfg, tmp_path / "export", label_names=["a", "b"], data=None, extra={})
    enc = load_export(out)
    assert enc.config["text"]["pooling"] == "mean_1_2_last"
    texts = ["left pleural effusion", "cardiomegaly"]
    with torch.no_grad():
        tokens = model.text.tokenize(texts)
        want = model.encode_text(tokens["input_ids"], tokens["attention_mask"])
    assert torch.allclose(enc.encode_text(texts), want, atol=1e-5)


# --- shipped configs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", shipped_configs())
def test_every_shipped_config_parses(name):
    cfg = load_config(config_path(name))
    assert cfg.name == name


def test_paper_configs_follow_the_reference():
    for name in [n for n in shipped_configs() if not n.startswith("demo")]:
        cfg = load_config(config_path(name))
        assert (cfg.data.uncertain, cfg.data.label_text, cfg.data.image_mode) == ("negative", "sampled", "pad_topleft")
        assert (cfg.model.pretrained, cfg.model.normalize, cfg.model.text_pooling) == \
            ("torchvision", "none", "mean_1_2_last")
        assert (cfg.optim.horizon_epochs, cfg.train.epochs, cfg.train.precision) == (100, 30, "fp16")
        assert cfg.data.vocabulary == ("dlilp" if "padchest" in name else
                                       {"fine85": "dlilp", "fine_all": "padchest"}.get(name.split("mimic_")[-1],
                                                                                       "chexpert"))


def test_label_space_configs_differ_only_in_label_space():
    from cxr.pretrain.config import diff, to_dict
    for objective in ("unimodal", "dlilp"):
        rows = {space: to_dict(load_config(config_path(f"{objective}_mimic_{space}")))
                for space in ("chexpert14", "fine85", "fine_all")}
        for space in ("fine85", "fine_all"):
            assert diff(rows["chexpert14"], rows[space]) == ["data.cache", "data.vocabulary", "name"]
