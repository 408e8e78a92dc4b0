"""Typed pre-training configuration: dataclasses with defaults, YAML files, and ``--set key=value`` overrides.

A YAML file may start from another with ``_base: other.yaml`` (path relative to the file, else a shipped
config of that name, so a user's config can say ``_base: _paper.yaml``); its keys are merged recursively.
Unknown keys and badly typed values are errors that name the key and the file.
The resolved config is written to every run folder; such a ``config.yaml`` is itself a valid config
(its ``provenance`` block is ignored on load).

Defaults follow the paper's code (jusiro/DLILP): ResNet-50 from ImageNet, 224 px, 512-d projections,
AdamW lr 1e-4 / wd 1e-5, 1 warmup epoch, 30 epochs, batch 128, patience 6, learned temperatures
initialised at 0.07 and clamped at 100, lambda = 0.1 for DLILP's text term.
"""
from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxr.core.errors import CxrError
from cxr.core.yamlio import read_yaml_mapping

#: The shipped configs (``cxr pretrain --config NAME`` resolves NAME here).
SHIPPED_CONFIGS = Path(__file__).resolve().parent / "configs"


class ConfigError(CxrError):
    """A config file or override is invalid; the message names the key."""


@dataclass
class DataConfig:
    cache: str = ""                 # folder written by `cxr prepare`
    vocabulary: str = "dlilp"       # label space, from the ontology (padchest, chexpert, dlilp, ...)
    uncertain: str = "masked"       # how -1 enters the label loss: masked | negative | positive
    missing: str = "negative"       # how NaN (not mentioned) of an annotated label enters: masked | negative
    label_text: str = "list"        # text of a label-only image: list (its positives) | sampled (the paper's
                                    # "A radiology image of <one positive>", redrawn each epoch)
    image_mode: str = ""            # the cache must be squared so (pad | pad_topleft | resize); "" = any
    val_fraction: float = 0.05      # used only when the cache has no split column
    exclude_patients: str = ""      # file with one patient_id per line to leave out (e.g. test patients)
    image_size: int = 224
    workers: int = 8
    prefetch: int = 4
    toy: int = 0                    # > 0: N in-memory synthetic items instead of a cache (tests, demo, bench)


@dataclass
class AugmentConfig:
    enabled: bool = True
    p: float = 0.25                 # probability of the affine and of the intensity jitter, each
    rotate: float = 5.0             # degrees
    scale: tuple[float, float] = (0.9, 1.0)
    brightness: float = 0.2
    contrast: float = 0.2
    hflip: float = 0.5              # the paper flips; set 0 to keep laterality


@dataclass
class ModelConfig:
    backbone: str = "resnet50"      # a registered backbone or any timm model name
    pretrained: str = "imagenet"    # none | imagenet (timm) | torchvision (torchvision's IMAGENET1K_V2) | path
                                    # to a state dict / cxr export folder
    init: str = "standard"          # random init: standard | zero-residual (residual blocks start as identity)
    embed_dim: int = 512
    projection: str = "linear"      # linear | mlp
    text: str = "emilyalsentzer/Bio_ClinicalBERT"  # a registered text encoder, a hub name or a local folder
    text_pretrained: bool = True    # False: same architecture, random weights (needs only its config)
    text_max_length: int = 77
    text_pooling: str = "mean"      # mean (last layer) | mean_1_2_last (the paper's: layers 1, 2 and last)
    normalize: str = "backbone"     # input mean/std: backbone (its weights' statistics) | none ([0, 1] inputs)
    channels_last: bool = True
    compile: bool = False
    sync_bn: bool = False           # SyncBatchNorm across processes (small per-GPU batches)


@dataclass
class ObjectiveConfig:
    name: str = "dlilp"             # unimodal | clip | unicl | dlilp (see pretrain.objectives)
    clip_weight: float = 0.1        # DLILP's lambda on the image-text term
    temperature: float = 0.07       # initial temperature of the image-text logits
    learn_temperature: bool = True
    label_temperature: float = 0.07  # initial temperature of the label-head (prototype) logits
    learn_label_temperature: bool = True
    max_logit_scale: float = 100.0  # 1 / min temperature, as in CLIP
    unicl_positives: str = "overlap"  # overlap | same_set (which image-text pairs are positives)


@dataclass
class OptimConfig:
    lr: float = 1e-4
    weight_decay: float = 1e-5
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_epochs: float = 1.0
    horizon_epochs: float = 0.0     # cosine length in epochs; 0 = the run's (train.epochs)
    min_lr_ratio: float = 0.0       # cosine floor as a fraction of lr
    grad_clip: float = 1.0          # 0 disables
    accum_steps: int = 1            # note: contrastive terms then see one micro-batch (x processes) at a time


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 128           # GLOBAL samples per optimizer step (all processes, all accumulation steps)
    precision: str = "auto"         # auto (bf16 on CUDA, fp32 on CPU) | bf16 | fp16 | fp32
    device: str = "auto"            # auto | cpu | cuda
    log_every: int = 50             # optimizer steps between metric rows
    ckpt_every: int = 1000          # optimizer steps between checkpoint-last writes (and every epoch end)
    patience: int = 6               # epochs without val-loss improvement before stopping; 0 = never stop early


@dataclass
class Config:
    name: str = "run"
    output: str = "runs"            # the run folder is OUTPUT/NAME
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.output) / self.name


CHOICES = {
    "data.uncertain": ("masked", "negative", "positive"),
    "data.missing": ("masked", "negative"),
    "data.image_mode": ("", "pad", "pad_topleft", "resize"),
    "model.projection": ("linear", "mlp"),
    "model.init": ("standard", "zero-residual"),
    "objective.unicl_positives": ("overlap", "same_set"),
    "train.precision": ("auto", "bf16", "fp16", "fp32"),
    "train.device": ("auto", "cpu", "cuda"),
}

#: Keys a resumed run may change: they do not alter what the finished model would be, except
#: ``train.epochs`` (extends or shortens the run; the cosine schedule is recomputed for the new length)
#: and ``data.cache`` (a moved cache; its content hashes must still match).
RESUMABLE_KEYS = frozenset({
    "output", "train.epochs", "train.patience", "train.log_every", "train.ckpt_every", "train.device",
    "data.cache", "data.workers", "data.prefetch", "model.compile",
})

#: Keys of a run's config.yaml that are records, not settings.
RECORD_KEYS = ("provenance",)


# ------------------------------------------------------------------------------------------------
def to_dict(cfg: Config) -> dict[str, Any]:
    """Plain nested dict (tuples as lists) for YAML and comparisons."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v
    return plain(dataclasses.asdict(cfg))


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Dotted keys whose values differ between two config dicts."""
    fa, fb = flatten(a), flatten(b)
    return sorted(k for k in set(fa) | set(fb) if fa.get(k) != fb.get(k))


def from_dict(raw: dict[str, Any], where: str = "config") -> Config:
    cfg = Config()
    _apply(cfg, raw, "", where)
    validate(cfg)
    return cfg


def shipped_configs() -> list[str]:
    """Names of the shipped configs (``_``-prefixed files are bases, not configs of their own)."""
    return sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml") if not p.stem.startswith("_"))


def config_path(config: str) -> Path:
    """A YAML path, or the name of a shipped config (with or without ``.yaml``)."""
    path = Path(config)
    if path.exists():
        return path
    shipped = SHIPPED_CONFIGS / f"{config.removesuffix('.yaml')}.yaml"
    if shipped.exists():
        return shipped
    raise ConfigError(f"config not found: {config} (neither a file nor a shipped config: "
                      f"{', '.join(shipped_configs())})")


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Defaults <- YAML file (with ``_base`` chain) <- ``key=value`` overrides."""
    raw = _read_with_base(Path(path), seen=()) if path else {}
    cfg = Config()
    _apply(cfg, raw, "", str(path or "defaults"))
    for item in overrides or []:
        set_value(cfg, item)
    validate(cfg)
    return cfg


def set_value(cfg: Config, item: str) -> None:
    """Apply one ``dotted.key=value`` override; the value is parsed as YAML (``1e-4``, ``true``, ``[1, 2]``)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not key=value (e.g. optim.lr=1e-4)")
    key, text = item.split("=", 1)
    if _field_type(cfg, key.strip()) is str:
        value: Any = text   # verbatim: a path like 'yes' or 'a: b' must not be read as YAML
    else:
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError:
            value = text
    nested: dict[str, Any] = {}
    node = nested
    parts = key.strip().split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    _apply(cfg, nested, "", f"override {item!r}")


def _field_type(cfg: Config, dotted: str) -> Any:
    """The declared type of a dotted key (None when the key does not exist; _apply reports that)."""
    obj: Any = cfg
    parts = dotted.split(".")
    for p in parts[:-1]:
        obj = getattr(obj, p, None)
        if not dataclasses.is_dataclass(obj):
            return None
    return typing.get_type_hints(type(obj)).get(parts[-1])


def validate(cfg: Config) -> None:
    flat = flatten(to_dict(cfg))
    for key, allowed in CHOICES.items():
        if flat[key] not in allowed:
            raise ConfigError(f"{key} = {flat[key]!r}: must be one of {', '.join(allowed)}")
    positive = ("data.image_size", "train.epochs", "train.batch_size", "optim.accum_steps",
                "train.log_every", "train.ckpt_every", "model.embed_dim", "model.text_max_length")
    for key in positive:
        if flat[key] <= 0:
            raise ConfigError(f"{key} = {flat[key]!r}: must be > 0")
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise ConfigError(f"data.val_fraction = {cfg.data.val_fraction}: must be in [0, 1)")
    if cfg.optim.horizon_epochs < 0:
        raise ConfigError(f"optim.horizon_epochs = {cfg.optim.horizon_epochs}: must be >= 0 (0 = train.epochs)")
    if cfg.optim.lr <= 0:
        raise ConfigError(f"optim.lr = {cfg.optim.lr}: must be > 0")
    if not cfg.name or "/" in cfg.name:
        raise ConfigError(f"name = {cfg.name!r}: must be a non-empty folder name without '/'")


def dump_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


# ------------------------------------------------------------------------------------------------
def _read_with_base(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: _base cycle ({' -> '.join(map(str, seen + (path,)))})")
    raw = read_yaml_mapping(path, ConfigError, what="config file")
    for key in RECORD_KEYS:
        raw.pop(key, None)
    base = raw.pop("_base", None)
    if base is None:
        return raw
    return _merge(_read_with_base(_base_path(path, str(base)), seen + (path,)), raw)


def _base_path(path: Path, base: str) -> Path:
    """``_base`` relative to the including file, else a shipped config of that name."""
    candidates = [path.parent / base]
    if not Path(base).is_absolute():
        candidates.append(SHIPPED_CONFIGS / base)
        if not base.endswith(".yaml"):
            candidates.append(SHIPPED_CONFIGS / f"{base}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{path}: _base {base!r} not found; looked for {', '.join(map(str, candidates))}")


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _apply(obj: Any, raw: dict[str, Any], prefix: str, where: str) -> None:
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in raw.items():
        dotted = f"{prefix}{key}"
        if key in RECORD_KEYS and not prefix:
            continue
        if key not in names:
            raise ConfigError(f"{where}: unknown key {dotted!r}; known: {', '.join(sorted(prefix + n for n in names))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {dotted!r} must be a mapping")
            _apply(current, value, dotted + ".", where)
        else:
            setattr(obj, key, _coerce(value, hints[key], dotted, where))


def _coerce(value: Any, typ: Any, key: str, where: str) -> Any:
    origin = typing.get_origin(typ)
    if origin is tuple:
        args = typing.get_args(typ)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"{where}: {key!r} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(v, a, key, where) for v, a in zip(value, args))
    if typ is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key!r} must be true or false, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key!r} must be an integer, got {value!r}")
        return value
    if typ is float:
        if isinstance(value, str):
            value = _float_or_none(value)  # PyYAML reads 1e-4 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key!r} must be a number, got {value!r}")
        return float(value)
    if typ is str:
        if value is None:
            return ""
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: {key!r} must be a string, got {value!r}")
        return str(value)
    raise ConfigError(f"{where}: {key!r} has unsupported type {typ}")  # pragma: no cover - programming error


def _float_or_none(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
