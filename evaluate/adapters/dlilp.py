"""``dlilp:CHECKPOINT.pth[:TEXT]``: checkpoints saved by the DLILP reference code (github.com/jusiro/DLILP).

The reference saves ``VLMModel.state_dict()`` flat with ``torch.save``:

| keys | what |
|---|---|
| ``vision_model.model.*`` | torchvision ResNet-50 (``fc`` replaced by Identity: 2048-d) or ConvNeXt-Tiny (768-d) |
| ``vision_model.projection_head_vision.projection.weight`` | image projection [P, F] (no bias), then L2 norm |
| ``vision_model.projection_head2.projection.weight`` | DLILP only: the label head's own image projection |
| ``class_prototypes`` | unimodal and DLILP: [85, P], one row per category of the reference's list |
| ``logit_scale``, ``logit_scale_head2`` | log temperatures, clamped to [0, ln 100] when used |
| ``text_model.model.*``, ``text_model.projection_head_text.projection.weight`` | CLIP/UniCL/DLILP: BERT + [P, 768] |

Which objective produced the file follows from the keys: ``projection_head2`` -> DLILP (label head =
head 2; text pairs with head 1), ``class_prototypes`` alone -> unimodal, neither -> CLIP/UniCL (text only).
``features`` is the backbone output before projection (the paper's probe input: raw 2048-d features).
The text tower's architecture and tokenizer are not in the file: TEXT names them (a hub name, by default
Bio_ClinicalBERT as in the reference, or a local folder). When it cannot be loaded (offline, no cache) the
encoder keeps its label head and image features and says so in a warning.
Preprocessing as the reference: 224 px, aspect kept with zero padding on the right and bottom
(``pad_topleft``), 3 replicated channels, pixels in [0, 1] without mean/std.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

from cxr.core.errors import CxrError, InputError
from cxr.core.provenance import file_sha256

from cxr.evaluate.adapters.base import (ENCODERS, EncoderHandle, EncoderOptions, folder_sha, handle, load_checked,
                                        no_weights_option, sized)

DEFAULT_TEXT = "emilyalsentzer/Bio_ClinicalBERT"
TEXT_MAX_LENGTH = 77
MAX_LOG_SCALE = 4.6052  # ln 100: the reference clamps both temperatures here
#: the order of the rows of ``class_prototypes`` (the reference's category list)
CATEGORIES = """
adenopathy; air trapping; alveolar pattern; aortic atheromatosis; aortic elongation; apical pleural
thickening; atelectasis; bronchiectasis; bronchovascular markings; bullas; calcified adenopathy; calcified
densities; calcified granuloma; calcified pleural thickening; callus rib fracture; cardiomegaly; cavitation;
chronic changes; consolidation; copd signs; costophrenic angle blunting; descendent aortic elongation;
diaphragmatic eventration; edema; emphysema; enlarged cardiomediastinum; fibrotic band; flattened diaphragm;
fracture; goiter; granuloma; gynecomastia; heart insufficiency; heart valve; hemidiaphragm elevation; hiatal
hernia; hilar congestion; hilar enlargement; hyperinflated lung; hypoexpansion; increased density;
infiltrates; interstitial pattern; kyphosis; laminar atelectasis; lobar atelectasis; lung lesion; lung
opacities; lung opacity; mammary prosthesis; mastectomy; metal; minor fissure thickening; nipple shadow; no
finding; nodule; osteopenia; osteosynthesis material; pacemaker; pleural effusion; pleural other; pleural
thickening; pneumonia; pneumothorax; pseudonodule; pulmonary edema; pulmonary fibrosis; pulmonary mass;
reticular interstitial pattern; rib fracture; sclerotic bone lesion; scoliosis; sternotomy; suboptimal study;
superior mediastinal enlargement; support devices; supra aortic elongation; suture material; tracheal shift;
tuberculosis; tuberculosis sequelae; volume loss; vascular hilar enlargement; vertebral anterior compression;
vertebral degenerative changes
""".replace("\n", " ").strip().split("; ")
#: vision backbones of the reference: a key that identifies each, and its torchvision name
_BACKBONES = {"vision_model.model.layer4.0.conv1.weight": "resnet50",
              "vision_model.model.features.7.0.block.0.weight": "convnext_tiny"}


def _split_spec(rest: str) -> tuple[Path, str]:
    """``PATH`` or ``PATH:TEXT``; the longest prefix that is a file is the checkpoint."""
    for cut in [len(rest)] + [i for i in range(len(rest) - 1, 0, -1) if rest[i] == ":"]:
        if Path(rest[:cut]).expanduser().is_file():
            return Path(rest[:cut]).expanduser(), rest[cut + 1:] or DEFAULT_TEXT
    raise InputError(f"dlilp: checkpoint not found: {rest.split(':')[0]} (spec dlilp:PATH.pth[:TEXT])")


def read_checkpoint(path: Path) -> dict:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - an unreadable file is a user input problem
        raise InputError(f"{path}: cannot be read as a DLILP checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or not any(k.startswith("vision_model.model.") for k in state):
        raise InputError(f"{path}: not a DLILP-format checkpoint (no vision_model.model.* keys)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _section(state: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def _build_backbone(state: dict, path: Path):
    import torch
    import torchvision

    name = next((n for key, n in _BACKBONES.items() if key in state), None)
    if name is None:
        raise InputError(f"{path}: vision_model.model.* is neither a ResNet-50 nor a ConvNeXt-Tiny "
                         f"(the backbones the DLILP reference code builds)")
    model = torchvision.models.get_model(name, weights=None)
    if name == "resnet50":
        model.fc = torch.nn.Identity()
    else:
        model.classifier = torch.nn.Flatten()  # as the reference: pooled features, no final LayerNorm
    load_checked(model, _section(state, "vision_model.model."), path, f"dlilp {name}")
    return model


def _linear(weight, bias=None):
    import torch

    layer = torch.nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


def _projection(state: dict, name: str):
    prefix = f"vision_model.{name}.projection."
    return _linear(state[prefix + "weight"], state.get(prefix + "bias")) if prefix + "weight" in state else None


class DlilpTextTower:
    """BERT + projection as the reference's TextModel: hidden states of layers 1, 2 and the last, averaged
    over layers and over all token positions (padding included, as the reference does), projected, L2-normed."""

    def __init__(self, bert, tokenizer, projection):
        self.bert, self.tokenizer, self.projection = bert, tokenizer, projection

    def __call__(self, texts: list[str], device):
        import torch

        tokens = self.tokenizer(list(texts), truncation=True, padding=True, max_length=TEXT_MAX_LENGTH,
                                return_tensors="pt").to(device)
        out = self.bert(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"],
                        output_hidden_states=True)
        hidden = torch.stack([out.hidden_states[1], out.hidden_states[2], out.hidden_states[-1]])
        return self.projection(hidden.mean(2).mean(0))


def load_text_tower(state: dict, text: str, path: Path) -> DlilpTextTower:
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    config = AutoConfig.from_pretrained(text)
    bert = AutoModel.from_config(config)
    weights = _section(state, "text_model.model.")
    weights.pop("embeddings.position_ids", None)  # dropped by newer transformers (the reference does the same)
    load_checked(bert, weights, path, f"dlilp text encoder {text}")
    tokenizer = AutoTokenizer.from_pretrained(text)
    prefix = "text_model.projection_head_text.projection."
    return DlilpTextTower(bert, tokenizer, _linear(state[prefix + "weight"], state.get(prefix + "bias")))


class DlilpEncoder:
    """The Export contract over a DLILP-format checkpoint; ``encode_image`` defaults to the label head."""

    def __init__(self, backbone, preprocessing, heads: dict, scales: dict, prototypes=None, text=None):
        self.backbone, self.preprocessing = backbone, preprocessing
        self.heads, self.scales = heads, scales    # {"label"|"text"|"image": projection}, {same: log temperature}
        self._prototypes, self.text, self.device = prototypes, text, "cpu"
        self.label_names = list(CATEGORIES) if prototypes is not None else None

    @property
    def has_text(self) -> bool:
        return self.text is not None

    @property
    def default_head(self) -> str:
        return next(h for h in ("label", "text", "image") if h in self.heads)

    @property
    def prototypes(self):
        import torch.nn.functional as F

        return None if self._prototypes is None else F.normalize(self._prototypes, dim=-1)

    def head_scale(self, head: str) -> float:
        return math.exp(min(max(self.scales[head], 0.0), MAX_LOG_SCALE))

    @property
    def logit_scale(self) -> float:
        return self.head_scale(self.default_head)

    @property
    def config(self) -> dict:
        """Each head's temperature under the keys a cxr export's config.json uses (the harness reads them)."""
        return {f"{head}_logit_scale": self.head_scale(head) for head in self.heads}

    def _modules(self):
        yield self.backbone
        yield from self.heads.values()
        if self.text is not None:
            yield from (self.text.bert, self.text.projection)

    def to(self, device):
        for module in self._modules():
            module.to(device)
        if self._prototypes is not None:
            self._prototypes = self._prototypes.to(device)
        self.device = device
        return self

    def eval(self):
        for module in self._modules():
            module.eval()
        return self

    def features(self, x):
        return self.backbone(x)

    def encode_image(self, x, head: str | None = None):
        import torch.nn.functional as F

        head = head or self.default_head
        if head not in self.heads:
            raise CxrError(f"this DLILP checkpoint has no {head!r} head (has: {', '.join(self.heads)})")
        return F.normalize(self.heads[head](self.features(x)), dim=-1)

    def encode_text(self, texts):
        import torch.nn.functional as F

        if self.text is None:
            raise CxrError("this DLILP checkpoint was loaded without its text encoder")
        return F.normalize(self.text(texts, self.device), dim=-1)


def _heads(state: dict, path: Path) -> tuple[dict, dict]:
    """Label and text heads with their log temperatures, by which keys the objective saved."""
    first, second = _projection(state, "projection_head_vision"), _projection(state, "projection_head2")
    if first is None:
        raise InputError(f"{path}: no vision_model.projection_head_vision (saved with projection=False?)")
    scale = float(state.get("logit_scale", 0.0))
    has_text = any(k.startswith("text_model.") for k in state)
    heads, scales = {}, {}
    if "class_prototypes" in state:
        label_proj, label_scale = (second, state.get("logit_scale_head2", scale)) if second else (first, scale)
        heads["label"], scales["label"] = label_proj, float(label_scale)
    if has_text:
        heads["text"], scales["text"] = first, scale
    return heads, scales


def _objective(state: dict) -> str:
    if "vision_model.projection_head2.projection.weight" in state:
        return "dlilp"
    return "unimodal" if "class_prototypes" in state else "clip/unicl"


@ENCODERS.register("dlilp")
def load_dlilp(rest: str, options: EncoderOptions) -> EncoderHandle:
    from cxr.pretrain.export import Preprocessing

    no_weights_option("dlilp:PATH", options)
    path, text_source = _split_spec(rest)
    state = read_checkpoint(path)
    heads, scales = _heads(state, path)
    prototypes = state.get("class_prototypes")
    if prototypes is not None and prototypes.shape[0] != len(CATEGORIES):
        raise InputError(f"{path}: class_prototypes has {prototypes.shape[0]} rows, the reference's category "
                         f"list has {len(CATEGORIES)}")
    text, text_note = None, None
    if "text" in heads:
        try:
            text = load_text_tower(state, text_source, path)
        except (OSError, ValueError) as exc:  # offline without a cached hub model, or a wrong folder
            text_note = f"text encoder not loaded from {text_source!r} ({exc.__class__.__name__}): no text zero-shot"
            warnings.warn(f"dlilp {path.name}: {text_note}", stacklevel=2)
            del heads["text"]
    if not heads:  # a CLIP checkpoint without its text tower: the image embedding is still usable
        heads["image"], scales["image"] = _projection(state, "projection_head_vision"), 0.0
    pre = sized(Preprocessing(224, (0.0,) * 3, (1.0,) * 3, mode="pad_topleft", channels=3), options)
    encoder = DlilpEncoder(_build_backbone(state, path), pre, heads, scales, prototypes, text)
    # image features and embeddings depend on the checkpoint alone: the text source is recorded, not keyed
    parts = {"source": "dlilp", "weights_sha256": file_sha256(path), "image_size": pre.image_size}
    info = {"path": str(path.resolve()), "objective": _objective(state),
            "text": _text_identity(text_source) if text is not None else text_note}
    return handle(encoder, f"dlilp:{path.stem}", parts, options, encoder.label_names, **info)


def _text_identity(source: str) -> str:
    folder = Path(source).expanduser()
    if folder.is_dir():
        return "folder:" + folder_sha(folder, [p.name for p in folder.iterdir() if p.is_file()])
    return "hub:" + source
