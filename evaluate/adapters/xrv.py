"""``xrv:FILE``, ``xrv:ARCH:FILE`` or ``xrv:ARCH`` (+ ``--weights FILE``): TorchXRayVision classifiers.

ARCH is one of TorchXRayVision's weight names (``densenet121-res224-all``, ``-nih``, ``-chex``, ...,
``resnet50-res512-all``) or a bare ``densenet121`` / ``resnet50``; with a FILE alone it is read off the
state dict. The weights never download here: FILE is a local state dict, loaded with ``weights_only=True``;
with ``xrv:NAME`` and no ``--weights``, the file TorchXRayVision already cached (~/.torchxrayvision) is
used if present. Its DenseNet release files pickle the whole model, which ``weights_only`` refuses: convert
a file you trust once, ``torch.save(torch.load(F, weights_only=False).state_dict(), OUT)``.
``features`` are the pooled backbone features (DenseNet-121: 1024-d, ResNet-50: 2048-d); the 18-way
classifier is not used (linear probe only).
Preprocessing as TorchXRayVision: 1 channel, pixels scaled to [-1024, 1024], 224 px (512 for the ResNet),
aspect kept by padding (TorchXRayVision centre-crops instead).
"""
from __future__ import annotations

from pathlib import Path

from cxr.core.errors import CxrError, InputError

from cxr.evaluate.adapters.base import (ENCODERS, EncoderHandle, EncoderOptions, FeatureEncoder, handle,
                                        load_checked, missing_extra, sized, strip_common_prefix, weights_sha)

#: (x - 255·0.5) / (255/2048) maps 0..255 onto TorchXRayVision's [-1024, 1024]
XRV_MEAN, XRV_STD = (0.5,), (1.0 / 2048.0,)
XRV_CACHE = Path("~/.torchxrayvision/models_data")


def _family(arch: str) -> str:
    for family in ("densenet121", "resnet50", "resnet101"):
        if arch.startswith(family):
            return family
    raise InputError(f"xrv: unknown architecture {arch!r} (densenet121-res224-*, resnet50-res512-all, "
                     f"densenet121, resnet50)")


def _infer_family(state: dict, path) -> str:
    if "features.conv0.weight" in state:
        return "densenet121"
    if "conv1.weight" in state:
        return "resnet101" if "layer3.22.conv1.weight" in state else "resnet50"
    raise InputError(f"{path}: neither a TorchXRayVision DenseNet (features.conv0) nor ResNet (conv1) state dict")


def _split_spec(rest: str, options: EncoderOptions) -> tuple[str | None, Path]:
    arch, _, file = (None, "", rest) if Path(rest).expanduser().is_file() else rest.partition(":")
    if file and options.weights:
        raise InputError("xrv: give the weights file once, in the spec or as --weights")
    if arch is None:
        return None, Path(file).expanduser()
    file = file or options.weights or _cached_file(arch)
    if not Path(file).expanduser().is_file():
        raise InputError(f"xrv: weights file not found: {file}")
    return arch, Path(file).expanduser()


def _xrv():
    try:
        import torchxrayvision
    except ImportError as exc:
        raise missing_extra("torchxrayvision", "xrv") from exc
    return torchxrayvision


def _cached_file(arch: str) -> str:
    url = _xrv().models.model_urls.get(arch, {}).get("weights_url")
    cached = XRV_CACHE.expanduser() / Path(url).name if url else None
    if cached is None or not cached.is_file():
        raise InputError(f"xrv:{arch} needs a local weights file: --weights FILE or xrv:{arch}:FILE "
                         f"(nothing is downloaded)")
    return str(cached)


def _read(path: Path) -> dict:
    from cxr.pretrain.export import read_state_dict as read_tensors

    try:
        state = read_tensors(path)
    except CxrError as exc:
        if "Unpickl" in str(exc) or "weights_only" in str(exc).lower():
            raise InputError(f"{path} pickles a whole model, which is not loaded here (weights_only=True); "
                             f"convert a file you trust once: python -c \"import torch; torch.save(torch.load("
                             f"'{path}', weights_only=False).state_dict(), 'xrv-state.pt')\"") from None
        raise
    state.pop("op_threshs", None)  # a buffer of xrv.models.ResNet, not a weight; also blocks prefix stripping
    return strip_common_prefix(state)


def _densenet(state: dict, path: Path):
    xrv = _xrv()
    classes = state["classifier.weight"].shape[0] if "classifier.weight" in state else 18
    model = xrv.models.DenseNet(weights=None, num_classes=classes, in_channels=1)
    load_checked(model, state, path, "xrv densenet121")
    return model, model.features2


def _resnet(family: str, state: dict, path: Path):
    import torch
    import torchvision

    model = torchvision.models.get_model(family, weights=None)
    model.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)  # as xrv: 1 channel
    model.fc = torch.nn.Identity()
    load_checked(model, state, path, f"xrv {family}", ignore=lambda k: k.startswith("fc."))
    return model, model


@ENCODERS.register("xrv")
def load_xrv(rest: str, options: EncoderOptions) -> EncoderHandle:
    from cxr.pretrain.export import Preprocessing

    arch, path = _split_spec(rest, options)
    state = _read(path)
    family = _family(arch) if arch else _infer_family(state, path)
    model, forward = _densenet(state, path) if family == "densenet121" else _resnet(family, state, path)
    size = 512 if "res512" in (arch or "") or (arch is None and family != "densenet121") else 224
    pre = sized(Preprocessing(size, XRV_MEAN, XRV_STD, mode="pad", channels=1), options)
    parts = {"source": "xrv", "architecture": family, "weights_sha256": weights_sha(path), "image_size": pre.image_size}
    return handle(FeatureEncoder(model, pre, forward), f"xrv:{arch or family} ({path.name})", parts, options,
                  path=str(path.resolve()))
