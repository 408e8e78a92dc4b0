"""``cxr eval splits``: official files -> balanced, patient-disjoint split file with provenance."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from cxr.core.provenance import file_sha256, git_sha

from cxr.evaluate.images import resolve_images
from cxr.evaluate.leakage import check_overlap, exclude_patients, read_patient_ids
from cxr.evaluate.sampling import Quota, balanced_patient_split
from cxr.evaluate.tasks import get_task


@dataclass
class SplitRequest:
    task: str
    metadata: list[str] = field(default_factory=list)
    images: str | None = None
    seed: int = 0
    train_per_class: int | None = None
    test_per_class: int | None = None
    exclude_patients: list[str] = field(default_factory=list)
    pretrain_manifest: str | None = None
    allow_overlap: bool = False


@dataclass
class BuiltSplit:
    frame: object               # pandas DataFrame: path, label, split, patient_id
    meta: dict
    overlap: list[str]
    notes: list[str]             # rows the leakage checks could not compare (unregistered source names)


def build_split(req: SplitRequest) -> BuiltSplit:
    task = get_task(req.task)
    quota = Quota(req.train_per_class or task.quota.train_per_class,
                  req.test_per_class or task.quota.test_per_class)
    images = Path(req.images) if req.images else None
    search = [Path(p) for p in req.metadata] or ([images] if images else [])
    files = task.locate(search)
    cands = task.candidates(files, images)
    excluded: set[str] = set()
    notes: list[str] = []
    for f in req.exclude_patients:
        excluded |= read_patient_ids(f, task.dataset, notes)
    cands = exclude_patients(cands, excluded)
    frame = balanced_patient_split(cands, list(task.classes), quota, req.seed, task.name)
    if images is not None:
        # Write the paths as found, relative to --images, so the split works for SIIM-style nested folders.
        found = resolve_images(frame["path"].tolist(), [images], what=f"task {task.name!r}")
        frame["path"] = [_relative(p, images) for p in found]
    overlap = []
    if req.pretrain_manifest:
        pretrain_ids = read_patient_ids(req.pretrain_manifest, task.dataset, notes)
        overlap = check_overlap(frame, pretrain_ids, req.pretrain_manifest, req.allow_overlap)
    meta = _meta(task, req, quota, files, len(excluded), overlap)
    if notes:
        meta["leakage_notes"] = notes
    return BuiltSplit(frame, meta, overlap, notes)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _meta(task, req: SplitRequest, quota: Quota, files: dict, n_excluded: int, overlap: list) -> dict:
    standard = quota == task.quota
    return {
        "task": task.name,
        "classes": list(task.classes),
        "seed": req.seed,
        "protocol": "standard" if standard else "non-standard",
        "train_per_class": quota.train_per_class,
        "test_per_class": quota.test_per_class,
        "protocol_counts": asdict(task.quota),
        "source_files": {role: {"path": str(p), "sha256": file_sha256(p) if p.is_file() else None}
                         for role, p in files.items()},
        "images_root": str(Path(req.images).resolve()) if req.images else None,
        "excluded_patients": n_excluded,
        "pretrain_manifest": req.pretrain_manifest,
        "pretrain_overlap": len(overlap),
        "git_sha": git_sha(),
    }
