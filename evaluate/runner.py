"""``run_evaluation(config)``: every task x method for one encoder, returning rows and provenance.

All validation that can fail on user input (task names, split files, prompts, images, K against the
train pools, weights) runs before the first image is encoded, so a bad run stops in seconds.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from cxr.core.errors import CxrError, InputError
from cxr.core.progress import Progress, null_progress
from cxr.core.provenance import file_sha256, git_sha

from cxr.evaluate.class_embeddings import ROUTES
from cxr.evaluate.classnames import match_label, partition
from cxr.evaluate.config import PROTOCOLS, EvalConfig
from cxr.evaluate.encoders import EncoderHandle, EncoderOptions, load_encoder, resolve_vocabulary
from cxr.evaluate.features import KINDS, FeatureCache, FeatureKey, LoaderOptions, cached_extract, images_signature
from cxr.evaluate.fewshot import check_shots
from cxr.evaluate.images import ImageDataset, resolve_images
from cxr.evaluate.leakage import check_pretraining_patients
from cxr.evaluate.methods import METHODS, MethodContext, TaskData
from cxr.evaluate.prompts import load_prompts
from cxr.evaluate.splitfile import PARTS, edited_since_written, read_split
from cxr.evaluate.tasks import TASKS


@dataclass
class TaskRef:
    name: str
    split_path: Path


@dataclass
class PreparedTask:
    ref: TaskRef
    data: TaskData
    images: dict[str, list[Path]]            # part -> resolved image files in split order
    location: str                            # split file + image root: the cache's "same split" identity


@dataclass
class EvalResult:
    rows: list[dict]
    warnings: list[str]
    provenance: dict
    config: EvalConfig
    encoder_name: str = ""
    tasks: dict = field(default_factory=dict)


def resolve_task_refs(cfg: EvalConfig) -> list[TaskRef]:
    refs: list[TaskRef] = []
    for entry in cfg.tasks:
        refs.append(_task_ref(entry, cfg))
    names = [r.name for r in refs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"task(s) {dupes} given twice (user CSV tasks are named by their file name)")
    stray = sorted(set(cfg.splits) - set(names))
    if stray:
        raise InputError(f"--split given for task(s) {stray} that are not in --tasks {names}")
    return refs


def user_task_path(entry: str) -> Path | None:
    """The split file of a user task entry (``csv:PATH`` or ``PATH.csv``), None for a registered name."""
    if entry.startswith("csv:") or entry.lower().endswith(".csv"):
        return Path(entry[4:] if entry.startswith("csv:") else entry)
    return None


def task_name(entry: str) -> str:
    """User tasks are named by their file name (``my_task.csv`` -> ``my_task``)."""
    path = user_task_path(entry)
    return path.stem if path is not None else entry


def _task_ref(entry: str, cfg: EvalConfig) -> TaskRef:
    path = user_task_path(entry)
    if path is not None:
        return TaskRef(path.stem, path)
    TASKS.get(entry)  # unknown task names fail here, listing the known ones
    hint = f"build one with `cxr eval splits --task {entry} --metadata ... -o {entry}.csv`"
    if entry in cfg.splits:
        path = Path(cfg.splits[entry])
    elif cfg.splits_dir:
        path = Path(cfg.splits_dir) / f"{entry}.csv"
    else:
        raise InputError(f"no split file for task {entry!r}: pass --splits-dir DIR (with {entry}.csv) or "
                         f"--split {entry}=FILE; {hint}")
    if not path.is_file():
        raise InputError(f"split file of task {entry!r} not found: {path}; {hint}")
    return TaskRef(entry, path)


def _prepare(ref: TaskRef, cfg: EvalConfig, warnings: list[str]) -> PreparedTask:
    split = read_split(ref.split_path)
    if edited_since_written(split):
        warnings.append(f"{ref.name}: {ref.split_path} was edited after `cxr eval splits` wrote it")
    if split.meta.get("protocol") == "non-standard":
        warnings.append(f"{ref.name}: non-standard protocol ({split.meta.get('train_per_class')} train / "
                        f"{split.meta.get('test_per_class')} test per class)")
    prompts = load_prompts(ref.name, split.classes, cfg.prompts.get(ref.name))
    if "linear-probe" in cfg.methods:
        check_shots(cfg.shots, split.labels("train"), split.classes, ref.name)
    roots = [Path(cfg.images)] if cfg.images else \
        [Path(p) for p in [split.meta.get("images_root")] if p] + [ref.split_path.resolve().parent]
    images = {part: resolve_images(split.part(part)["path"].tolist(), roots, f"{ref.name} ({part})")
              for part in ("train", "test")}
    location = f"{ref.split_path.resolve()}|{roots[0].resolve()}"
    data = TaskData(ref.name, split, partition(split.classes, None), prompts)  # set once the encoder is known
    return PreparedTask(ref, data, images, location)


def _device(name: str) -> str:
    if name != "auto":
        return name
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _zero_shot_allowed(cfg: EvalConfig, encoder: EncoderHandle, warnings: list[str]) -> list[str]:
    methods = list(cfg.methods)
    if "zero-shot" in methods and not encoder.can_zero_shot:
        if methods == ["zero-shot"]:
            raise CxrError(f"{encoder.name} has neither a text encoder nor a label head: zero-shot is "
                           f"impossible; use --method linear-probe")
        methods.remove("zero-shot")
        warnings.append(f"zero-shot skipped: {encoder.name} has neither a text encoder nor a label head")
    return methods


def _describe_for(encoder: EncoderHandle, tasks: list[PreparedTask], methods: list[str], describe, onto,
                  route: str):
    if describe is not None or "zero-shot" not in methods or not encoder.has_label_head:
        return describe, onto
    labels = list(encoder.model.label_names)
    has_text = bool(getattr(encoder.model, "has_text", False))
    choose = ROUTES.get(route)
    if all(choose(match_label(c, labels) is not None, True, has_text) != "compose"
           for t in tasks for c in t.data.classes):
        return None, None  # no class is composed from head labels: no labeler needed
    from cxr.evaluate.describe import LabelerDescribe

    describe = LabelerDescribe()
    return describe, describe.onto


def run_evaluation(cfg: EvalConfig, progress: Progress = null_progress, describe=None, onto=None,
                   encoder: EncoderHandle | None = None) -> EvalResult:
    for m in cfg.methods:
        METHODS.get(m)
    ROUTES.get(cfg.zero_shot.route)
    warnings: list[str] = []
    refs = resolve_task_refs(cfg)
    tasks = [_prepare(r, cfg, warnings) for r in refs]
    device = _device(cfg.device)
    if encoder is None:
        encoder = load_encoder(cfg.checkpoint, EncoderOptions(cfg.weights, cfg.image_size, cfg.init_seed, device))
    if cfg.vocabulary:
        encoder.vocabulary = resolve_vocabulary(cfg.vocabulary)
    for t in tasks:
        t.data.partition = partition(t.data.classes, encoder.vocabulary)
    for t in tasks:   # patients the encoder was pre-trained on: refused before any encoding
        dataset = TASKS.get(t.data.split.meta["task"]).dataset if t.data.split.meta.get("task") in TASKS else None
        warnings += check_pretraining_patients(t.data.split, t.ref.name, dataset, encoder.info, cfg.allow_overlap)
    methods = _zero_shot_allowed(cfg, encoder, warnings)
    describe, onto = _describe_for(encoder, tasks, methods, describe, onto, cfg.zero_shot.route)
    cache = FeatureCache(cfg.cache_dir, cfg.refresh_features)
    for t in tasks:   # a stale cache must stop the run before the first task spends minutes encoding
        for kind in KINDS:
            for part in PARTS:
                cache.check(_key(t, encoder, kind, part))
    loader = LoaderOptions(cfg.batch_size, cfg.workers, device)
    rows, details = [], {t.ref.name: _task_summary(t) for t in tasks}
    for task in tasks:
        arrays = _arrays_for(task, encoder, cache, loader, progress)
        for method in methods:
            ctx = MethodContext(task.data, encoder, arrays, cfg, describe, onto, progress)
            out = METHODS.get(method)(ctx)
            rows.extend(out.rows)
            warnings.extend(out.warnings)
            details[task.ref.name].update(out.details)
    provenance = _provenance(cfg, encoder, details, warnings, methods)
    return EvalResult(rows, warnings, provenance, cfg, encoder.name, details)


def _key(task: PreparedTask, encoder: EncoderHandle, kind: str, part: str) -> FeatureKey:
    return FeatureKey(encoder.identity, task.ref.name, task.location, task.data.split.sha256, kind, part,
                      images_signature(task.images[part]))


class TextHeadImages:
    """A two-head encoder (DLILP) seen through its image-text head: ``encode_image`` returns the embedding
    that pairs with ``encode_text`` instead of the label head's default one."""

    def __init__(self, model):
        self.model, self.preprocessing = model, model.preprocessing

    def encode_image(self, x):
        return self.model.encode_image(x, head="text")


def _text_head_key(task: PreparedTask, encoder: EncoderHandle, part: str) -> FeatureKey:
    # Its own encoder identity, so the cache keeps the two heads' embeddings apart (same kind, "embed").
    identity = hashlib.sha256(f"{encoder.identity}|image-text head".encode("utf-8")).hexdigest()
    return replace(_key(task, encoder, "embed", part), encoder_id=identity)


def _arrays_for(task: PreparedTask, encoder: EncoderHandle, cache: FeatureCache, loader: LoaderOptions,
                progress: Progress):
    """(kind, part) -> encoder outputs: "features", "embed" (default head) or "embed-text" (the
    image-text head of a two-head encoder)."""
    memo: dict = {}

    def arrays(kind: str, part: str):
        if (kind, part) not in memo:
            if kind == "embed-text":
                key, model = _text_head_key(task, encoder, part), TextHeadImages(encoder.model)
            else:
                key, model = _key(task, encoder, kind, part), encoder.model
            paths = task.images[part]
            make = lambda: ImageDataset(paths, model.preprocessing)  # noqa: E731
            memo[(kind, part)] = cached_extract(cache, key, model, make, len(paths), loader, progress)
        return memo[(kind, part)]
    return arrays


def _task_summary(task: PreparedTask) -> dict:
    split, part = task.data.split, task.data.partition
    return {
        "split_file": str(task.ref.split_path), "split_hash": split.sha256,
        "protocol": split.meta.get("protocol", "user"), "classes": split.classes,
        "train_counts": split.class_counts("train"), "test_counts": split.class_counts("test"),
        "base_classes": [split.classes[i] for i in part.base] if part.known else None,
        "novel_classes": [split.classes[i] for i in part.novel] if part.known else None,
        "prompts": task.data.prompts.source,
        "prompts_sha256": file_sha256(task.data.prompts.source) if Path(task.data.prompts.source).is_file() else None,
    }


def _provenance(cfg: EvalConfig, encoder: EncoderHandle, details: dict, warnings: list[str],
                methods: list[str]) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def _version(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    return {
        "git_sha": git_sha(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "encoder": {"name": encoder.name, "identity": encoder.identity, **encoder.info,
                    "vocabulary_size": len(encoder.vocabulary) if encoder.vocabulary else None},
        "protocol": {"name": cfg.protocol, "summary": PROTOCOLS.get(cfg.protocol).summary},
        "methods_run": methods,
        "split_hashes": {name: d["split_hash"] for name, d in details.items()},
        "tasks": details,
        "warnings": warnings,
        "versions": {pkg: _version(pkg) for pkg in ("torch", "timm", "numpy", "scipy")},
    }
