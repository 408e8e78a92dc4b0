"""Generic manifest reader: any dataset already described by a cxr manifest file."""
from __future__ import annotations

from pathlib import Path

from cxr.pretrain.data.manifest import DEFAULT_SOURCE, ManifestOptions, read_manifest
from cxr.pretrain.data.sources.base import SourceFrame, register_source


@register_source("manifest")
def read_generic(root: Path, *, onto, vocabulary: str = "padchest", image_root: str | None = None,
                 patient_column: str | None = None, source: str | None = None) -> SourceFrame:
    """A user's own dataset (or the output of ``cxr synth``) as a manifest CSV/Parquet.

    No citation or download page: the file itself is the dataset description. ``root`` is the
    manifest file; columns as in ``pretrain.data.manifest`` (path, patient_id, optional study_id,
    view, report/sentences, label columns named in ``vocabulary``). Relative paths are resolved
    against ``image_root`` (default: the manifest's folder). ``source`` names rows whose manifest has
    no ``source`` column (default: the file name without suffix). NaN = not mentioned.
    """
    options = ManifestOptions(patient_column=patient_column, vocabulary=vocabulary,
                              vocabulary_option=f"the source option vocabulary=NAME (manifest:{root.name},vocabulary=chexpert)")
    manifest = read_manifest(root, options, onto)
    frame = manifest.frame
    base = Path(image_root) if image_root else root.parent
    frame["path"] = [p if Path(p).is_absolute() else str(base / p) for p in frame["path"]]
    name = source or root.name.split(".")[0]
    if source or (frame["source"] == DEFAULT_SOURCE).all():
        frame["source"] = name
    return SourceFrame(name, frame, manifest.label_columns, vocabulary, manifest.warnings)
