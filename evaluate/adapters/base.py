"""What every adapter shares: the encoder protocol, the handle it returns, and weight-file plumbing.

An adapter turns a spec (``scheme:REST`` plus ``EncoderOptions``) into an ``EncoderHandle``: a model with
the Export contract's attributes (docs/contracts.md), the ``Preprocessing`` its images need, a table name
and an identity hash. The identity keys the feature cache, so it names the adapter and hashes the content
of every file the features depend on (never just their paths).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from cxr.core.errors import CxrError, InputError
from cxr.core.provenance import file_sha256
from cxr.core.registry import Registry

from cxr.evaluate.errors import WeightsMismatchError

if TYPE_CHECKING:
    from cxr.pretrain.export import Preprocessing

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: the pip extra holding the optional libraries of foreign adapters
EXTRA = "adapters"


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


#: scheme -> loader(rest_of_spec, options) -> EncoderHandle
ENCODERS: Registry = Registry("encoder source")


def identity(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def handle(model, name: str, parts: dict, options: EncoderOptions, vocabulary=None, **info) -> EncoderHandle:
    """Move to the device, switch to eval mode, and key the cache on ``parts`` (adapter, file hashes, size)."""
    model = model.to(options.device) if hasattr(model, "to") else model
    if hasattr(model, "eval"):
        model.eval()
    return EncoderHandle(model, name, identity(parts), vocabulary, {**parts, **info})


def missing_extra(package: str, adapter: str) -> InputError:
    return InputError(f"the {adapter} adapter needs the optional package {package!r}: "
                      f"pip install 'cxr[{EXTRA}]' (or pip install {package})")


def no_weights_option(adapter: str, options: EncoderOptions) -> None:
    if options.weights:
        raise InputError(f"--weights does not apply to {adapter}: the spec names its files")


def existing_file(path: str | Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{what} not found: {path}")
    return path


def sized(preprocessing: Preprocessing, options: EncoderOptions) -> Preprocessing:
    """``--image-size`` overrides the adapter's own input size (and nothing else)."""
    from dataclasses import replace

    return replace(preprocessing, image_size=options.image_size) if options.image_size else preprocessing


# --- image-only encoders -------------------------------------------------------------------------
class ModuleEncoder:
    """An encoder around one torch module ``self.model``: moves and switches mode with it, and remembers
    the device (tokenised text must follow the model)."""

    model: Any
    device: Any = "cpu"

    def to(self, device):
        self.model.to(device)
        self.device = device
        return self

    def eval(self):
        self.model.eval()
        return self


class FeatureEncoder(ModuleEncoder):
    """A backbone as an image-only encoder: ``features`` are its pooled output, ``encode_image`` the same
    L2-normalised (no projection, no label head, no text): linear probe only."""

    label_names = None
    prototypes = None
    has_text = False
    logit_scale = 1.0

    def __init__(self, model, preprocessing: Preprocessing, forward: Callable | None = None):
        self.model, self.preprocessing = model, preprocessing
        self._forward = forward or model

    def features(self, x):
        return self._forward(x)

    def encode_image(self, x):
        import torch.nn.functional as F

        return F.normalize(self.features(x), dim=-1)

    def encode_text(self, texts):
        raise CxrError("this encoder has no text encoder (linear probe only)")


def seeded(seed: int, build: Callable[[], Any]):
    """``build()`` under ``seed`` without touching the caller's random state: a random-init baseline must
    be the same network every run."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def backbone_handle(model, scheme: str, name: str, options: EncoderOptions, mean, std) -> EncoderHandle:
    """An ImageNet-style backbone (timm, torchvision) as a probe-only encoder: 3 channels, padded square,
    224 px unless ``--image-size``; keyed on its weights file, else on its init seed."""
    from cxr.pretrain.export import Preprocessing

    sha = weights_sha(options.weights)
    size = options.image_size or 224
    parts = {"source": scheme, "model": name, "weights_sha256": sha,
             "init_seed": None if sha else options.init_seed, "init": "standard", "image_size": size}
    label = f"{scheme}:{name}" + (f" ({Path(options.weights).name})" if options.weights else " (random init)")
    return handle(FeatureEncoder(model, Preprocessing(size, tuple(mean), tuple(std))), label, parts, options)


# --- weight files --------------------------------------------------------------------------------
def read_state_dict(path: str | Path) -> dict:
    """Tensors of a weights file or cxr export, read as pre-training reads them (``weights_only=True``,
    unwrapped from training checkpoints), with a prefix common to every key removed."""
    from cxr.pretrain.export import read_state_dict as read_tensors

    return strip_common_prefix(read_tensors(path))


def strip_common_prefix(state: dict) -> dict:
    for prefix in ("module.", "model.", "backbone.", "encoder."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    return state


def load_checked(model, state: dict, path: str | Path, arch: str, ignore: Callable[[str], bool] = lambda k: False) -> None:
    """Load ``state`` into ``model`` with every key accounted for (``ignore``: keys the adapter drops on
    purpose, such as a classifier); otherwise name the keys that do not fit."""
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own or not ignore(k)}
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} (file {tuple(state[k].shape)} vs model {tuple(own[k].shape)})"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        raise WeightsMismatchError(mismatch_message(path, arch, missing, unexpected, wrong))
    model.load_state_dict(state, strict=False)


def mismatch_message(path, arch, missing, unexpected, wrong) -> str:
    parts = [f"weights {path} do not fit {arch} (another architecture?):"]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", wrong)):
        if keys:
            parts.append(f"  {len(keys)} {what} key(s): {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
    return "\n".join(parts)


def weights_sha(path: str | Path | None) -> str | None:
    return file_sha256(path) if path else None


def folder_sha(folder: Path, names: list[str]) -> str:
    """One hash over the named files of a folder (name and content), for adapters that load folders."""
    digest = hashlib.sha256()
    for name in sorted(names):
        if (folder / name).is_file():
            digest.update(name.encode("utf-8") + b"\0" + file_sha256(folder / name).encode("ascii"))
    return digest.hexdigest()
