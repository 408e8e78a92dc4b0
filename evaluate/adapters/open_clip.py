"""``open_clip:ARCH:FILE`` (or ``open_clip:ARCH`` + ``--weights FILE``): an OpenCLIP model from local weights.

ARCH is an OpenCLIP architecture name (``ViT-B-32``, ``RN50``, ...) or the path of a model-config JSON
(``embed_dim``, ``vision_cfg``, ``text_cfg``), registered under its file stem. FILE is the checkpoint,
loaded by ``open_clip.create_model(ARCH, pretrained=FILE)`` with ``weights_only=True``; pretrained tags
(``laion2b_...``) would download and are refused. Both towers load: zero-shot with text prompts, at the
model's learnt ``logit_scale``. ``features`` is the image embedding before normalisation (OpenCLIP exposes
no pre-projection output for every tower type). Preprocessing: the model's own size and mean/std, 3
channels, resized to a square (OpenCLIP resizes the short side and centre-crops).
"""
from __future__ import annotations


from cxr.core.errors import InputError

from cxr.evaluate.adapters.base import (ENCODERS, EncoderHandle, EncoderOptions, ModuleEncoder, existing_file,
                                        handle, missing_extra, sized, weights_sha)


class OpenClipEncoder(ModuleEncoder):
    label_names = None
    prototypes = None
    has_text = True

    def __init__(self, model, tokenizer, preprocessing):
        self.model, self.tokenizer, self.preprocessing, self.device = model, tokenizer, preprocessing, "cpu"

    @property
    def logit_scale(self) -> float:
        return float(self.model.logit_scale.detach().exp())

    def features(self, x):
        return self.model.encode_image(x)

    def encode_image(self, x):
        return self.model.encode_image(x, normalize=True)

    def encode_text(self, texts):
        return self.model.encode_text(self.tokenizer(list(texts)).to(self.device), normalize=True)


def _architecture(arch: str, open_clip) -> str:
    """A config JSON is registered under its stem (OpenCLIP's own mechanism for custom models)."""
    if arch.endswith(".json"):
        config = existing_file(arch, "open_clip model config")
        open_clip.add_model_config(str(config))
        return config.stem
    if arch not in open_clip.list_models():
        raise InputError(f"open_clip: unknown architecture {arch!r} (see open_clip.list_models(), or pass a "
                         f"model-config .json)")
    return arch


def _preprocessing(model, open_clip, options):
    from cxr.pretrain.export import Preprocessing

    cfg = open_clip.get_model_preprocess_cfg(model)
    size = cfg.get("size", 224)
    size = size if isinstance(size, int) else max(size)
    return sized(Preprocessing(int(size), tuple(cfg["mean"]), tuple(cfg["std"]), mode="resize"), options)


@ENCODERS.register("open_clip")
def load_open_clip(rest: str, options: EncoderOptions) -> EncoderHandle:
    try:
        import open_clip
    except ImportError as exc:
        raise missing_extra("open_clip_torch", "open_clip") from exc
    arch, _, file = rest.partition(":")  # architecture names have no colon; paths may
    if file and options.weights:
        raise InputError("open_clip: give the checkpoint once, as open_clip:ARCH:FILE or --weights FILE")
    file = file or options.weights
    if not file:
        raise InputError(f"open_clip:{rest} needs a local checkpoint: open_clip:ARCH:FILE or --weights FILE")
    path = existing_file(file, "open_clip checkpoint")
    name = _architecture(arch, open_clip)
    try:
        model = open_clip.create_model(name, pretrained=str(path), pretrained_text=False, weights_only=True)
    except RuntimeError as exc:  # state-dict mismatch: another architecture's checkpoint
        raise InputError(f"{path} does not fit open_clip {name}: {str(exc).splitlines()[0]}") from None
    encoder = OpenClipEncoder(model, open_clip.get_tokenizer(name), _preprocessing(model, open_clip, options))
    parts = {"source": "open_clip", "architecture": name, "weights_sha256": weights_sha(path),
             "config_sha256": weights_sha(arch) if arch.endswith(".json") else None,
             "image_size": encoder.preprocessing.image_size}
    return handle(encoder, f"open_clip:{name} ({path.name})", parts, options, path=str(path.resolve()))
