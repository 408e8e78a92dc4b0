"""cxr exports (``cxr pretrain export`` folders, or run folders holding ``export/``): the default source.

Preprocessing, label head, text tower and vocabulary all come from the export's ``config.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

from cxr.core.errors import InputError
from cxr.core.provenance import file_sha256

from cxr.evaluate.adapters.base import ENCODERS, EncoderHandle, EncoderOptions, handle, sized

#: keys an export's config.json may use for the label vocabulary seen in pre-training
VOCABULARY_KEYS = ("label_names", "label_vocabulary", "vocabulary_labels", "train_label_names")


def find_export_dir(path: str | Path) -> Path:
    path = Path(path)
    for candidate in (path, path / "export"):
        if (candidate / "model.safetensors").is_file() and (candidate / "config.json").is_file():
            return candidate
    raise InputError(f"{path} is neither a cxr export (model.safetensors + config.json), a run folder "
                     f"with export/, nor a known SCHEME:... spec ({', '.join(sorted(ENCODERS.names()))})")


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
def load_export_encoder(path: str, options: EncoderOptions) -> EncoderHandle:
    from cxr.pretrain.export import load_export

    export_dir = find_export_dir(path)
    if options.weights:
        raise InputError("--weights applies to timm:, torchvision:, xrv: and open_clip: specs; an export "
                         "carries its own weights")
    model = load_export(export_dir)
    model.preprocessing = sized(model.preprocessing, options)
    config = json.loads((export_dir / "config.json").read_text(encoding="utf-8"))
    parts = {"source": "export", "model_sha256": file_sha256(export_dir / "model.safetensors"),
             "config_sha256": file_sha256(export_dir / "config.json"),
             "image_size": int(model.preprocessing.image_size)}
    name = export_dir.parent.name if export_dir.name == "export" else export_dir.name
    return handle(model, name, parts, options, export_vocabulary(model, config), path=str(export_dir.resolve()))
