"""``hf-clip:FOLDER``: a Hugging Face CLIP saved with ``save_pretrained`` (config.json + weights, local).

``config.json`` of a ``CLIPModel`` (model_type ``clip``) gives both towers: zero-shot with text prompts at
the learnt ``logit_scale`` (needs the tokenizer files in the folder); a ``CLIPVisionModel``
(``clip_vision_model``) gives image features only (linear probe). ``features`` is the vision tower's
pooled output (before projection); ``encode_image`` the projected, L2-normalised embedding.
Preprocessing: ``preprocessor_config.json``'s size and mean/std when present, else the config's
``image_size`` and OpenAI CLIP's mean/std; 3 channels, resized to a square (HF resizes the short side and
centre-crops).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

from cxr.core.errors import CxrError, InputError

from cxr.evaluate.adapters.base import (ENCODERS, EncoderHandle, EncoderOptions, ModuleEncoder, folder_sha, handle,
                                        no_weights_option, sized)

#: OpenAI CLIP's normalisation, the default of CLIPImageProcessor
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
MODEL_TYPES = ("clip", "clip_vision_model")


class HfClipEncoder(ModuleEncoder):
    label_names = None
    prototypes = None

    def __init__(self, model, tokenizer, preprocessing):
        self.model, self.tokenizer, self.preprocessing, self.device = model, tokenizer, preprocessing, "cpu"
        # CLIPModel wraps its vision transformer; CLIPVisionModel is (transformers 5) or wraps (4.x) one
        self.vision = getattr(model, "vision_model", model)
        self.projection = getattr(model, "visual_projection", None)

    @property
    def has_text(self) -> bool:
        return self.tokenizer is not None and hasattr(self.model, "text_model")

    @property
    def logit_scale(self) -> float:
        scale = getattr(self.model, "logit_scale", None)
        return float(scale.detach().exp()) if scale is not None else 1.0

    def features(self, x):
        return self.vision(pixel_values=x).pooler_output

    def encode_image(self, x):
        import torch.nn.functional as F

        pooled = self.features(x)
        return F.normalize(self.projection(pooled) if self.projection is not None else pooled, dim=-1)

    def encode_text(self, texts):
        import torch.nn.functional as F

        if not self.has_text:
            raise CxrError("this CLIP folder has no text tower or no tokenizer")
        max_length = self.model.config.text_config.max_position_embeddings
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length,
                                return_tensors="pt").to(self.device)
        pooled = self.model.text_model(input_ids=tokens["input_ids"],
                                       attention_mask=tokens["attention_mask"]).pooler_output
        return F.normalize(self.model.text_projection(pooled), dim=-1)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg})") from None


def _preprocessing(folder: Path, config, options):
    from cxr.pretrain.export import Preprocessing

    vision = getattr(config, "vision_config", config)
    size, mean, std = vision.image_size, CLIP_MEAN, CLIP_STD
    processor = folder / "preprocessor_config.json"
    if processor.is_file():
        cfg = _read_json(processor)
        crop = cfg.get("crop_size") or cfg.get("size") or size
        size = crop if isinstance(crop, int) else crop.get("height", crop.get("shortest_edge", size))
        mean, std = cfg.get("image_mean", mean), cfg.get("image_std", std)
    return sized(Preprocessing(int(size), tuple(mean), tuple(std), mode="resize"), options)


def _tokenizer(folder: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError, TypeError) as exc:
        warnings.warn(f"hf-clip {folder.name}: no usable tokenizer in the folder ({exc.__class__.__name__}): "
                      f"no text zero-shot", stacklevel=3)
        return None


@ENCODERS.register("hf-clip")
def load_hf_clip(rest: str, options: EncoderOptions) -> EncoderHandle:
    from transformers import CLIPModel, CLIPVisionModel

    no_weights_option("hf-clip:FOLDER", options)
    folder = Path(rest).expanduser()
    if not (folder / "config.json").is_file():
        raise InputError(f"hf-clip: {folder} is not a folder with config.json (save_pretrained output)")
    model_type = _read_json(folder / "config.json").get("model_type")
    if model_type not in MODEL_TYPES:
        raise InputError(f"hf-clip: {folder}/config.json has model_type {model_type!r}, expected one of {MODEL_TYPES}")
    cls = CLIPModel if model_type == "clip" else CLIPVisionModel
    try:
        model = cls.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise InputError(f"hf-clip: cannot load {folder}: {exc}") from None
    tokenizer = _tokenizer(folder) if model_type == "clip" else None
    encoder = HfClipEncoder(model, tokenizer, _preprocessing(folder, model.config, options))
    files = [p.name for p in folder.iterdir() if p.is_file()]
    parts = {"source": "hf-clip", "model_type": model_type, "folder_sha256": folder_sha(folder, files),
             "image_size": encoder.preprocessing.image_size}
    return handle(encoder, f"hf-clip:{folder.name}", parts, options, path=str(folder.resolve()))
