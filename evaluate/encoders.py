"""Image encoders behind one protocol, so cxr exports and timm baselines sit in the same table.

``load_encoder("timm:resnet50")`` (random init, seeded), ``load_encoder("timm:resnet50", weights=FILE)``
(ImageNet or any local weights, loaded with ``weights_only=True``) or ``load_encoder(RUN_OR_EXPORT_DIR)``.
Sources are a registry keyed by the ``scheme:`` prefix; a bare path is a cxr export (or a run folder
holding ``export/``). Each handle carries an identity hash that keys the feature cache.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from cxr.core.errors import CxrError, InputError
from cxr.core.provenance import file_sha256
from cxr.core.registry import Registry

from cxr.evaluate.errors import WeightsMismatchError
from cxr.evaluate.images import encoder_input

if TYPE_CHECKING:
    from cxr.pretrain.export import Preprocessing

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: keys an export's config.json may use for the label vocabulary seen in pre-training
VOCABULARY_KEYS = ("label_names", "label_vocabulary", "vocabulary_labels", "train_label_names")


class ImageEncoder(Protocol):
    """The Export contract (docs/contracts.md); any object with these attributes can be evaluated."""
    preprocessing: Preprocessing  # how an image file becomes this encoder's input
    label_names: list[str] | None
    prototypes: Any              # FloatTensor[C, D] | None, L2-normalised
    has_text: bool
    logit_scale: float

    def features(self, x): ...
    def encode_image(self, x): ...
    def encode_text(self, texts: list[str]): ...


@dataclass
class EncoderOptions:
    weights: str | None = None
    image_size: int | None = None
    init_seed: int = 0
    device: str = "cpu"


@dataclass
class EncoderHandle:
    model: Any                   # satisfies ImageEncoder
    name: str                    # shown in tables
    identity: str                # sha256 of what determines the features
    vocabulary: list[str] | None = None  # labels seen in pre-training (base classes)
    info: dict = field(default_factory=dict)

    @property
    def has_label_head(self) -> bool:
        return getattr(self.model, "prototypes", None) is not None and bool(getattr(self.model, "label_names", None))

    @property
    def can_zero_shot(self) -> bool:
        return self.has_label_head or bool(getattr(self.model, "has_text", False))


ENCODERS: Registry = Registry("encoder source")


def load_encoder(spec: str, options: EncoderOptions | None = None) -> EncoderHandle:
    options = options or EncoderOptions()
    scheme, _, rest = spec.partition(":")
    if rest and scheme in ENCODERS:
        return ENCODERS.get(scheme)(rest, options)
    return ENCODERS.get("export")(spec, options)


def _identity(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


# --- timm backbones ------------------------------------------------------------------------------
class TimmEncoder:
    """A timm backbone as an image-only encoder: pooled features, no projection, no label head."""

    label_names = None
    prototypes = None
    has_text = False
    logit_scale = 1.0

    def __init__(self, model, preprocessing: Preprocessing):
        self.model, self.preprocessing = model, preprocessing

    def to(self, device):
        self.model.to(device)
        return self

    def eval(self):
        self.model.eval()
        return self

    def features(self, x):
        return self.model(x)

    def encode_image(self, x):
        import torch.nn.functional as F

        return F.normalize(self.features(x), dim=-1)

    def encode_text(self, texts):
        raise CxrError("a timm backbone has no text encoder")


@ENCODERS.register("timm")
def _load_timm(name: str, options: EncoderOptions) -> EncoderHandle:
    import timm
    import torch

    from cxr.pretrain.export import Preprocessing

    if not timm.is_model(name):
        raise InputError(f"unknown timm model {name!r} (see timm.list_models())")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.init_seed)  # a random-init baseline must be the same network every run
        model = timm.create_model(name, pretrained=False, num_classes=0)
    weights_sha = None
    if options.weights:
        load_weights(model, options.weights, f"timm:{name}")
        weights_sha = file_sha256(options.weights)
    cfg = model.pretrained_cfg or {}
    size = options.image_size or 224
    encoder = TimmEncoder(model, Preprocessing(size, tuple(cfg.get("mean", IMAGENET_MEAN)),
                                               tuple(cfg.get("std", IMAGENET_STD))))
    parts = {"source": "timm", "model": name, "weights_sha256": weights_sha,
             "init_seed": None if weights_sha else options.init_seed, "image_size": size}
    label = f"timm:{name}" + (f" ({Path(options.weights).name})" if options.weights else " (random init)")
    return EncoderHandle(encoder.to(options.device).eval(), label, _identity(parts), None, parts)


def read_state_dict(path: str | Path) -> dict:
    """Tensors of a weights file or cxr export, read as pre-training reads them (``weights_only=True``,
    unwrapped from training checkpoints), with a prefix common to every key removed."""
    from cxr.pretrain.export import read_state_dict as read_tensors

    return _strip_common_prefix(read_tensors(path))


def _strip_common_prefix(state: dict) -> dict:
    for prefix in ("module.", "model.", "backbone.", "encoder."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_weights(model, path: str | Path, arch: str) -> None:
    """Load strictly (except the classifier the backbone dropped); name the keys that do not fit."""
    state = read_state_dict(path)
    own = model.state_dict()
    head = (model.pretrained_cfg or {}).get("classifier") or ""
    heads = (head,) if isinstance(head, str) else tuple(head)
    state = {k: v for k, v in state.items() if k in own or not any(h and k.startswith(h + ".") for h in heads)}
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} (file {tuple(state[k].shape)} vs model {tuple(own[k].shape)})"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        raise WeightsMismatchError(_mismatch_message(path, arch, missing, unexpected, wrong))
    model.load_state_dict(state, strict=False)


def _mismatch_message(path, arch, missing, unexpected, wrong) -> str:
    parts = [f"weights {path} do not fit {arch} (another architecture?):"]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
        if keys:
            parts.append(f"  {len(keys)} {what} key(s): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
    return "\n".join(parts)


# --- cxr exports ---------------------------------------------------------------------------------
def find_export_dir(path: str | Path) -> Path:
    path = Path(path)
    for candidate in (path, path / "export"):
        if (candidate / "model.safetensors").is_file() and (candidate / "config.json").is_file():
            return candidate
    raise InputError(f"{path} is neither a cxr export (model.safetensors + config.json), a run folder "
                     f"with export/, nor a 'timm:NAME' backbone")


def export_vocabulary(model, config: dict) -> list[str] | None:
    """Labels seen in pre-training: the head's names, else a list in the export config (None when the
    export records none: then base vs novel classes need ``--vocabulary``)."""
    names = getattr(model, "label_names", None)
    if names:
        return list(names)
    for section in (config, *[v for v in config.values() if isinstance(v, dict)]):
        for key in VOCABULARY_KEYS:
            value = section.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return list(value)
    return None


def resolve_vocabulary(spec: str) -> list[str]:
    """``--vocabulary``: an ontology vocabulary name (padchest, dlilp, chexpert, ...) or a text file."""
    path = Path(spec)
    if path.is_file():
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    from cxr.labeler.ontology import load_ontology

    return load_ontology().vocabulary(spec)


@ENCODERS.register("export")
def _load_export(path: str, options: EncoderOptions) -> EncoderHandle:
    from cxr.pretrain.export import load_export

    export_dir = find_export_dir(path)
    if options.weights:
        raise InputError("--weights applies to timm:NAME backbones; an export carries its own weights")
    model = load_export(export_dir)
    if options.image_size:
        model.preprocessing = replace(model.preprocessing, image_size=options.image_size)
    if hasattr(model, "to"):
        model = model.to(options.device)
    if hasattr(model, "eval"):
        model.eval()
    config = json.loads((export_dir / "config.json").read_text(encoding="utf-8"))
    parts = {"source": "export", "model_sha256": file_sha256(export_dir / "model.safetensors"),
             "config_sha256": file_sha256(export_dir / "config.json"),
             "image_size": int(model.preprocessing.image_size)}
    name = export_dir.parent.name if export_dir.name == "export" else export_dir.name
    info = {**parts, "path": str(export_dir.resolve())}
    return EncoderHandle(model, name, _identity(parts), export_vocabulary(model, config), info)


# --- the flat API ----------------------------------------------------------------------------------
def load_with_preprocess(path: str, device: str = "cpu") -> tuple[Any, Callable]:
    """``cxr.load_encoder``: the encoder at ``path`` (an export, a run folder, or a spec such as
    ``timm:NAME``) and a function turning an image file, PIL image or 2-D uint8 array into its input
    [1, C, S, S] on ``device``, prepared as the encoder's own export says (size, pad or resize, mean/std)."""
    model = load_encoder(path, EncoderOptions(device=device)).model
    return model, partial(encoder_input, preprocessing=model.preprocessing, device=device)
