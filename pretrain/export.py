"""The trained encoder as files that ``evaluate`` loads by path (docs/contracts.md, "Export").

Layout of an export folder::

    model.safetensors   every weight of the model (backbone.*, projections, text.*, prototypes, scales)
    config.json         architecture, preprocessing, heads, label names, text encoder, logit scales,
                        the pre-training data it came from (manifest hash, patient-id digest), provenance
    text/               text-encoder config + tokenizer files (only when the model has a text encoder)
    patients.json       the pre-training patients as salted tokens per source (``PatientTokens``), so
                        evaluation can refuse a task sharing patients with them; absent for toy data

Loading needs no network, no training code path and no run folder: ``load_export(path)``. This module is
the only one of ``cxr.pretrain`` that ``cxr.evaluate`` imports, so it also hands on what evaluation
shares with pre-training: ``Preprocessing`` (how images become input) and ``read_state_dict``.

Heads: a model with a label head (unimodal, DLILP) embeds images for its prototypes by default;
``encode_image(x, head="text")`` gives the embedding that pairs with ``encode_text`` (CLIP, UniCL,
DLILP's text head). ``logit_scale`` is the scale of the default head; both are in config.json.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from cxr.core.errors import CxrError
from cxr.core.yamlio import read_yaml_mapping
from cxr.datasets.patients import PatientTokens, patient_digest
from cxr.pretrain.config import Config
from cxr.pretrain.models.backbones import build_backbone
from cxr.pretrain.models.model import CxrModel, Heads
from cxr.pretrain.models.preprocess import Normalize, Preprocessing
from cxr.pretrain.models.text import build_text_encoder
from cxr.pretrain.models.weights import read_state_dict

__all__ = ["ExportedEncoder", "Preprocessing", "export_model", "export_run", "export_trained", "load_export",
           "preprocessing_of", "read_export_config", "read_export_patients", "read_state_dict"]

#: version 2 added "preprocess", "vocabulary", the text encoder's name and "pretraining"; version 1
#: exports (image_size, mean, std at top level) still load, as "pad" with 3 channels.
FORMAT, VERSION = "cxr-export", 2
WEIGHTS, CONFIG, TEXT, PATIENTS = "model.safetensors", "config.json", "text", "patients.json"
#: in a run folder: the export, and the text encoder's config + tokenizer (so an export works offline)
RUN_EXPORT, RUN_TEXT = "export", "text-encoder"
#: what an export says about its pre-training data (a later leakage check compares patient digests)
PRETRAINING_KEYS = ("manifest_sha256", "patients_sha256")


def export_model(model: CxrModel, out_dir: str | Path, *, backbone: str, preprocessing: Preprocessing,
                 label_names: Sequence[str] | None, vocabulary: str | None = None,
                 text_encoder: str | None = None, pretraining: dict[str, Any] | None = None,
                 extra: dict[str, Any] | None = None, patients: PatientTokens | None = None) -> Path:
    """Write ``model`` to ``out_dir`` (replacing an older export only once the new one is complete)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    config = {**_describe(model, backbone, preprocessing, label_names, text_encoder),
              "vocabulary": vocabulary,
              "pretraining": {k: (pretraining or {}).get(k) for k in PRETRAINING_KEYS}, **(extra or {})}
    try:
        _write(model, tmp, config)
        if patients is not None:
            (tmp / PATIENTS).write_text(patients.to_json(), encoding="utf-8")
        _replace_dir(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def export_trained(model: CxrModel, cfg: Config, out_dir: str | Path, *, label_names: Sequence[str],
                   data: dict[str, Any] | None, extra: dict[str, Any]) -> Path:
    """Export a model built from ``cfg``; ``data`` is the run's data record (how the cache was prepared,
    the manifest hash and patient digest), None for a model that saw no data."""
    data = data or {}
    preprocessing = Preprocessing(cfg.data.image_size, model.mean, model.std, mode=data.get("image_mode", "pad"))
    return export_model(model, out_dir, backbone=cfg.model.backbone, preprocessing=preprocessing,
                        label_names=label_names, vocabulary=data.get("vocabulary"),
                        text_encoder=cfg.model.text if model.heads.text else None, pretraining=data, extra=extra,
                        patients=_cache_patients(data))


def _cache_patients(data: dict[str, Any]) -> PatientTokens | None:
    """Tokens of every patient of the cache the run read (train and val rows: both shaped the encoder),
    when that cache is still there and holds the patients the run recorded (its digest)."""
    import pyarrow.parquet as pq

    from cxr.pretrain.data.layout import INDEX

    if not data.get("cache") or not data.get("patients_sha256"):
        return None   # toy data or no data: no patients
    index = Path(data["cache"]) / INDEX
    table = pq.read_table(index, columns=["source", "patient_id"]).to_pydict() if index.is_file() else None
    if table is None or patient_digest(table["patient_id"]) != data["patients_sha256"]:
        logging.getLogger("pretrain").warning(
            "%s is gone or holds other patients than the run trained on: the export gets no %s, so evaluation "
            "cannot check its tasks against the pre-training patients", data["cache"], PATIENTS)
        return None
    return PatientTokens.from_ids(table["source"], table["patient_id"])


def read_export_patients(path: str | Path) -> PatientTokens | None:
    """The pre-training patients an export records (None when it records none)."""
    file = Path(path) / PATIENTS
    return PatientTokens.read(file) if file.is_file() else None


def _describe(model: CxrModel, backbone: str, preprocessing: Preprocessing, label_names,
              text_encoder: str | None) -> dict[str, Any]:
    text_scale = model.logit_scale().item() if model.heads.text else None
    label_scale = model.label_head.scale().item() if model.heads.labels else None
    return {
        "format": FORMAT, "version": VERSION,
        "backbone": backbone, "num_features": int(model.backbone.num_features),
        "preprocess": preprocessing.to_config(),
        "embed_dim": int(_embed_dim(model)), "projection": _projection_kind(model),
        "heads": {"text": model.heads.text, "labels": model.heads.labels},
        "label_names": list(label_names) if model.heads.labels else None,
        # Labels of the pre-training data, recorded for text-only (CLIP) models too: evaluation needs them
        # to tell base classes (seen in pre-training) from novel ones.
        "label_vocabulary": list(label_names) if label_names is not None else None,
        "text": {"encoder": text_encoder, "folder": TEXT, "tokenizer": type(model.text.tokenizer).__name__,
                 "max_length": model.text.max_length, "pooling": model.text.pooling} if model.heads.text else None,
        "logit_scale": label_scale if model.heads.labels else text_scale,
        "text_logit_scale": text_scale, "label_logit_scale": label_scale,
    }


def _write(model: CxrModel, folder: Path, config: dict[str, Any]) -> None:
    from safetensors.torch import save_file
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS), metadata={"format": FORMAT})
    if model.heads.text:
        model.text.save_config(folder / TEXT)
    (folder / CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")


def _replace_dir(new: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _embed_dim(model: CxrModel) -> int:
    proj = model.label_proj if model.heads.labels else model.image_proj
    return proj.net.out_features if isinstance(proj.net, nn.Linear) else proj.net[-1].out_features


def _projection_kind(model: CxrModel) -> str:
    proj = model.label_proj if model.heads.labels else model.image_proj
    return "linear" if isinstance(proj.net, nn.Linear) else "mlp"


def export_run(run_dir: str | Path, out_dir: str | Path | None = None, checkpoint: str = "best") -> Path:
    """Export a run folder's ``checkpoint-best.pt`` (or ``last``; best falls back to last when the run
    had no validation) to ``out_dir`` (default ``RUN/export``). Works offline: the text encoder's
    architecture and tokenizer come from the run folder, not the hub."""
    from cxr.pretrain.engine.checkpoint import BEST, LAST, load_checkpoint
    from cxr.pretrain.engine.run import CONFIG_NAME, config_for_resume
    from cxr.pretrain.models.build import build_model
    from cxr.pretrain.objectives import OBJECTIVES

    run_dir = Path(run_dir)
    if checkpoint not in ("best", "last"):
        raise CxrError(f"checkpoint must be 'best' or 'last', got {checkpoint!r}")
    path = run_dir / (BEST if checkpoint == "best" and (run_dir / BEST).exists() else LAST)
    ckpt = load_checkpoint(path)
    cfg = config_for_resume(run_dir)
    heads = OBJECTIVES.get(cfg.objective.name).heads
    offline = replace(cfg.model, pretrained="none", text_pretrained=False,
                      text=str(run_dir / RUN_TEXT) if heads.text else cfg.model.text)
    model = build_model(replace(cfg, model=offline), heads, len(ckpt["label_names"]))
    model.load_state_dict(ckpt["model"])
    data = (read_yaml_mapping(run_dir / CONFIG_NAME).get("provenance") or {}).get("data")
    extra = {"objective": cfg.objective.name, "source": {
        "run": str(run_dir.resolve()), "checkpoint": path.name, "step": ckpt["step"]}}
    return export_trained(model, cfg, Path(out_dir) if out_dir else run_dir / RUN_EXPORT,
                          label_names=ckpt["label_names"], data=data, extra=extra)


# ------------------------------------------------------------------------------------------------
def read_export_config(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    cfg_path = path / CONFIG
    if not cfg_path.is_file() or not (path / WEIGHTS).is_file():
        raise CxrError(f"{path}: not a cxr export (needs {WEIGHTS} and {CONFIG})")
    config = json.loads(cfg_path.read_text(encoding="utf-8"))
    if config.get("format") != FORMAT:
        raise CxrError(f"{cfg_path}: format {config.get('format')!r} is not {FORMAT!r}")
    try:
        preprocessing_of(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise CxrError(f"{cfg_path}: unusable image preprocessing ({type(exc).__name__}: {exc})") from None
    return config


def preprocessing_of(config: dict[str, Any]) -> Preprocessing:
    # a version-1 export keeps image_size, mean and std at top level and was always padded
    return Preprocessing.from_config(config.get("preprocess") or config)


def untrained_backbone(name: str, image_size: int | None = None) -> nn.Module:
    """Backbone ``name`` exactly as pre-training starts it with no weights (``model.pretrained: none``,
    ``model.init: standard``): the untrained baseline evaluation sets beside pre-trained encoders."""
    return build_backbone(name, "none", image_size, "standard")


def build_from_config(config: dict[str, Any], text_dir: Path | None) -> CxrModel:
    """An untrained model of the exported architecture (no downloads: backbone 'none', text from files)."""
    heads = Heads(**config["heads"])
    text = None
    if heads.text:
        # exports before text pooling was a choice used the last layer's mean
        text = build_text_encoder(str(text_dir), pretrained=False, max_length=config["text"]["max_length"],
                                  pooling=config["text"].get("pooling", "mean"))
    labels = config.get("label_names") or []
    # fixed-size backbones (ViT, Swin) are built for the exported size, as in training
    backbone = untrained_backbone(config["backbone"], preprocessing_of(config).image_size)
    return CxrModel(backbone, heads, num_labels=len(labels),
                    embed_dim=config["embed_dim"], projection=config["projection"], text=text)


class ExportedEncoder(nn.Module):
    """What ``evaluate`` uses: image (and text) embeddings, backbone features, prototypes, preprocessing."""

    def __init__(self, model: CxrModel, config: dict[str, Any]):
        super().__init__()
        self.model = model.eval()
        self.config = config
        self.preprocessing = preprocessing_of(config)
        self.normalize = Normalize(self.preprocessing.mean, self.preprocessing.std)
        self.label_names: list[str] | None = config.get("label_names")
        self.has_text: bool = bool(config["heads"]["text"])
        self.logit_scale: float = float(config["logit_scale"])
        # a buffer, so that .to(device) moves it with the weights
        self.register_buffer("prototypes", model.label_head.normalized_prototypes().detach().clone()
                             if model.heads.labels else None, persistent=False)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def image_size(self) -> int:
        return self.preprocessing.image_size

    @property
    def mean(self) -> tuple[float, ...]:
        return self.preprocessing.mean

    @property
    def std(self) -> tuple[float, ...]:
        return self.preprocessing.std

    @torch.no_grad()
    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [B, 1, H, W] (cache format) -> normalised float [B, C, H, W] for ``encode_image``."""
        return self.normalize(images.to(self.device))

    @torch.no_grad()
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(x.to(self.device))

    @torch.no_grad()
    def encode_image(self, x: torch.Tensor, head: str | None = None) -> torch.Tensor:
        if (head == "text" and not self.has_text) or (head == "label" and self.prototypes is None):
            raise CxrError(f"this encoder has no {head} head (heads: {self.config['heads']})")
        return self.model.encode_image(x.to(self.device), head)

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        if not self.has_text:
            raise CxrError("this encoder was trained without text (has_text is False)")
        tokens = {k: v.to(self.device) for k, v in self.model.text.tokenize(texts).items()}
        return self.model.encode_text(tokens["input_ids"], tokens["attention_mask"])


def load_export(path: str | Path, device: str | torch.device = "cpu") -> ExportedEncoder:
    """Load an export folder (written by ``export_model`` / ``cxr pretrain export``)."""
    from safetensors.torch import load_file
    path = Path(path)
    config = read_export_config(path)
    model = build_from_config(config, path / TEXT)
    missing, unexpected = model.load_state_dict(load_file(str(path / WEIGHTS)), strict=False)
    if missing or unexpected:
        raise CxrError(f"{path / WEIGHTS}: weights do not match config.json "
                       f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    return ExportedEncoder(model, config).to(device)
