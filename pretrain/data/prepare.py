"""``cxr prepare``: decode every manifest image once into a memory-mapped uint8 cache.

Work is cut into chunks of rows. A worker decodes its chunk straight into the pre-allocated
``images.u8.partial`` and the parent then writes the chunk's done-marker (with per-row status), so an
interrupted run resumes at the first unfinished chunk. The index, ``images.u8`` and finally
``meta.json`` appear only when every chunk is done and the failure share is acceptable.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxr.core.atomic import atomic_path, atomic_write_text
from cxr.core.errors import InputError
from cxr.core.progress import Progress, null_progress
from cxr.core.provenance import git_sha, text_sha256
from cxr.datasets.images import MODES, DecodeError, is_dicom, pydicom_available, square_image
from cxr.pretrain.data import layout
from cxr.pretrain.data.manifest import ManifestOptions, read_manifest
from cxr.pretrain.data.split import assign_split, check_split, exclude_patients, split_counts
from cxr.pretrain.data.text import split_sentences

PARTIAL = layout.IMAGES + ".partial"
STATE = "state.json"
#: Stop early when this many leading images are all missing: the image root is surely wrong.
EARLY_CHECK_ROWS = 64


@dataclass(frozen=True)
class PrepareConfig:
    image_root: str | None = None        # relative manifest paths resolve here (default: manifest's folder)
    size: int = 224
    mode: str = "pad"                    # pad (keep aspect, centre on black) | pad_topleft | resize (stretch)
    workers: int = 1                     # decode processes; 0 or 1 decode in this process
    chunk_size: int = 256                # rows per resumable unit of work
    max_fail_fraction: float = 0.01      # more missing/unreadable images than this is an error
    val_fraction: float = 0.05           # patients held out for validation (ignored with a split column)
    split_seed: int = 0
    exclude_patients: str | None = None  # file of patient ids used by evaluation splits
    overwrite: bool = False
    manifest: ManifestOptions = field(default_factory=ManifestOptions)

    def check(self) -> None:
        if self.size < 8:
            raise InputError(f"--size must be at least 8, got {self.size}")
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not 0.0 <= self.max_fail_fraction < 1.0:
            raise InputError(f"--max-fail-fraction must be in [0, 1), got {self.max_fail_fraction}")
        if self.chunk_size < 1 or self.workers < 0:
            raise InputError("chunk size must be >= 1 and workers >= 0")


@dataclass
class PrepareResult:
    cache_dir: Path
    meta: dict
    warnings: list[str]
    resumed_rows: int = 0          # rows found already done from an interrupted run
    up_to_date: bool = False       # the cache already existed for this manifest and settings


def prepare_cache(manifest_path: str | Path, cache_dir: str | Path, config: PrepareConfig = PrepareConfig(),
            progress: Progress = null_progress, onto=None) -> PrepareResult:
    """Build (or resume, or confirm) the cache of ``manifest_path`` in ``cache_dir``."""
    config.check()
    manifest_path, cache_dir = Path(manifest_path), Path(cache_dir)
    plan = _plan(manifest_path, config, onto)
    if not config.overwrite and _up_to_date(cache_dir, plan):
        return PrepareResult(cache_dir, layout.read_meta(cache_dir), plan.warnings, up_to_date=True)
    _claim(cache_dir, plan, config)
    statuses, resumed = _decode_all(cache_dir, plan, config, progress)
    meta = _finish(cache_dir, plan, config, statuses)
    return PrepareResult(cache_dir, meta, plan.warnings, resumed_rows=resumed)


# ------------------------------------------------------------------------------------------------
# Planning: manifest -> ordered rows with resolved paths and split; a fingerprint of all of it.
# ------------------------------------------------------------------------------------------------
@dataclass
class _Plan:
    frame: pd.DataFrame
    files: list[str]              # resolved image paths, one per row
    label_columns: list[str]
    vocabulary: str | None
    manifest: dict
    split: dict
    exclusion: dict | None
    warnings: list[str]
    fingerprint: str


def _plan(manifest_path: Path, config: PrepareConfig, onto) -> _Plan:
    manifest = read_manifest(manifest_path, config.manifest, onto)
    frame, warnings = manifest.frame, list(manifest.warnings)
    exclusion = None
    if config.exclude_patients:
        frame, excl = exclude_patients(frame, config.exclude_patients)
        exclusion = {"path": str(excl.path), "sha256": excl.sha256, "patients": excl.patients,
                     "rows_removed": excl.rows_removed}
    if frame.empty:
        raise InputError(f"{manifest_path}: no rows left to cache (after removing excluded patients)")
    from_manifest = "split" in frame.columns
    if from_manifest:
        check_split(frame, str(manifest_path))
    else:
        frame["split"] = assign_split(frame, config.val_fraction, config.split_seed)
    frame = _with_sentences(frame)
    root = (Path(config.image_root) if config.image_root else manifest_path.parent).resolve()
    files = [p if os.path.isabs(p) else str(root / p) for p in frame["path"]]
    _check_dicom_support(files)
    split = {"from_manifest": from_manifest, "val_fraction": None if from_manifest else config.val_fraction,
             "seed": None if from_manifest else config.split_seed, **split_counts(frame["split"], frame)}
    about = {"path": str(manifest_path.resolve()), "sha256": manifest.sha256, "rows": len(manifest.frame)}
    return _Plan(frame.reset_index(drop=True), files, manifest.label_columns, manifest.vocabulary, about,
                 split, exclusion, warnings, _fingerprint(manifest.sha256, files, config, split, exclusion))


def _fingerprint(manifest_sha: str, files: list[str], config: PrepareConfig, split: dict,
                 exclusion: dict | None) -> str:
    """Everything that decides the cache's bytes: equal fingerprints = the same cache."""
    return text_sha256(json.dumps({
        "manifest": manifest_sha, "files": text_sha256("\n".join(files)), "size": config.size,
        "mode": config.mode, "chunk": config.chunk_size, "split": split, "exclusion": exclusion,
        "options": asdict(config.manifest)}, sort_keys=True))


def _with_sentences(frame: pd.DataFrame) -> pd.DataFrame:
    """Sentences are what the trainer samples; split reports that come without them."""
    if "report" not in frame.columns:
        return frame
    from_report = [split_sentences(r) for r in frame["report"]]
    if "sentences" in frame.columns:
        from_report = [given if len(given) else split for given, split in zip(frame["sentences"], from_report)]
    return frame.assign(sentences=from_report)


def _check_dicom_support(files: list[str]) -> None:
    dicom = next((f for f in files if is_dicom(f)), None)
    if dicom and not pydicom_available():
        raise InputError(f"the manifest lists DICOM files (e.g. {dicom}); reading them needs pydicom, "
                         f"which is not installed (pip install pydicom), or convert them to PNG")


# ------------------------------------------------------------------------------------------------
# The cache folder: complete / unfinished (same or other plan) / fresh.
# ------------------------------------------------------------------------------------------------
def _up_to_date(cache_dir: Path, plan: _Plan) -> bool:
    if not layout.is_complete(cache_dir):
        return False
    meta = layout.read_meta(cache_dir)
    return meta.get("fingerprint") == plan.fingerprint


def _claim(cache_dir: Path, plan: _Plan, config: PrepareConfig) -> None:
    """Make ``cache_dir`` ours for this plan: resume it, start it, or refuse to clobber it."""
    if cache_dir.exists() and not cache_dir.is_dir():
        raise InputError(f"cache path exists and is not a folder: {cache_dir}")
    work = cache_dir / layout.WORK
    state = work / STATE
    other = layout.is_complete(cache_dir) or (state.is_file() and
                                                json.loads(state.read_text())["fingerprint"] != plan.fingerprint)
    if other and not config.overwrite:
        what = "a cache" if layout.is_complete(cache_dir) else "an unfinished prepare"
        raise InputError(f"{cache_dir} holds {what} of a different manifest or settings; choose another "
                         f"folder or pass --overwrite")
    if other or (config.overwrite and cache_dir.exists()):
        _remove_cache_files(cache_dir)
    work.mkdir(parents=True, exist_ok=True)
    if not state.is_file():
        atomic_write_text(state, json.dumps({"fingerprint": plan.fingerprint, "rows": len(plan.files)}))
    partial = cache_dir / PARTIAL
    expected = len(plan.files) * config.size * config.size
    if not partial.is_file() or partial.stat().st_size != expected:
        with open(partial, "wb") as fh:
            fh.truncate(expected)   # sparse: no time spent writing zeros
        for marker in work.glob("chunk-*.json"):
            marker.unlink()


def _remove_cache_files(cache_dir: Path) -> None:
    """Remove only what ``cxr prepare`` writes: never a user's other files in that folder."""
    for name in (layout.META, layout.INDEX, layout.IMAGES, PARTIAL, layout.FAILURES):
        (cache_dir / name).unlink(missing_ok=True)
    shutil.rmtree(cache_dir / layout.WORK, ignore_errors=True)


# ------------------------------------------------------------------------------------------------
# Decoding, chunk by chunk, in worker processes.
# ------------------------------------------------------------------------------------------------
def _marker(cache_dir: Path, chunk: int) -> Path:
    return cache_dir / layout.WORK / f"chunk-{chunk:07d}.json"


def _decode_chunk(task: tuple) -> tuple[int, list[list[str]]]:
    """Worker: decode rows [start, start+len(files)) into the shared partial file."""
    chunk, start, files, partial, n_rows, size, mode = task
    images = np.memmap(partial, dtype=np.uint8, mode="r+", shape=(n_rows, size, size))
    statuses = []
    for j, path in enumerate(files):
        try:
            images[start + j] = square_image(path, size, mode)
            statuses.append([layout.STATUS_OK, ""])
        except DecodeError as exc:
            images[start + j] = 0
            statuses.append([exc.status, str(exc)])
    images.flush()
    del images
    return chunk, statuses


def _decode_all(cache_dir: Path, plan: _Plan, config: PrepareConfig,
                progress: Progress) -> tuple[list[list[str]], int]:
    n, step = len(plan.files), config.chunk_size
    chunks = range((n + step - 1) // step)
    statuses: dict[int, list[list[str]]] = {}
    for c in chunks:
        marker = _marker(cache_dir, c)
        if marker.is_file():
            statuses[c] = json.loads(marker.read_text())["statuses"]
    resumed = sum(len(s) for s in statuses.values())
    todo = [(c, c * step, plan.files[c * step:(c + 1) * step], str(cache_dir / PARTIAL), n, config.size,
             config.mode) for c in chunks if c not in statuses]
    done, checked = resumed, resumed >= min(EARLY_CHECK_ROWS, n)
    progress(done, n, "prepare")
    for chunk, chunk_statuses in _run(todo, config.workers):
        atomic_write_text(_marker(cache_dir, chunk), json.dumps({"statuses": chunk_statuses}))
        statuses[chunk] = chunk_statuses
        done += len(chunk_statuses)
        progress(done, n, "prepare")
        if not checked and done >= min(EARLY_CHECK_ROWS, n):
            _early_check(statuses, plan)
            checked = True
    ordered = [s for c in chunks for s in statuses[c]]
    return ordered, resumed


def _run(todo: list[tuple], workers: int):
    if workers <= 1 or len(todo) <= 1:
        yield from map(_decode_chunk, todo)
        return
    # fork where the OS has it: workers start instantly and need no importable __main__ (notebooks,
    # `python - < script`); they only run numpy/PIL, so a parent's thread pools are never touched.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(min(workers, len(todo))) as pool:
        yield from pool.imap_unordered(_decode_chunk, todo)


def _early_check(statuses: dict[int, list[list[str]]], plan: _Plan) -> None:
    flat = [s for c in sorted(statuses) for s in statuses[c]]
    if all(status == "missing" for status, _ in flat):
        raise InputError(f"none of the first {len(flat)} images exists, e.g. {plan.files[0]}; "
                         f"check --image-root (relative paths resolve against it)")


# ------------------------------------------------------------------------------------------------
# Finishing: failure report, threshold, index, images, meta (last).
# ------------------------------------------------------------------------------------------------
def _finish(cache_dir: Path, plan: _Plan, config: PrepareConfig, statuses: list[list[str]]) -> dict:
    frame = plan.frame.copy()
    frame.insert(0, "row", np.arange(len(frame), dtype=np.int64))
    frame["status"] = [s for s, _ in statuses]
    failed = frame["status"] != layout.STATUS_OK
    failures = pd.DataFrame({"row": frame.loc[failed, "row"], "path": np.asarray(plan.files, dtype=object)[failed.to_numpy()],
                             "status": frame.loc[failed, "status"],
                             "error": [e for (s, e) in statuses if s != layout.STATUS_OK]})
    with atomic_path(cache_dir / layout.FAILURES) as tmp:
        failures.to_csv(tmp, index=False)
    share = failed.mean()
    if share > config.max_fail_fraction:
        raise InputError(f"{int(failed.sum())} of {len(frame)} images ({share:.1%}) are missing or unreadable, "
                         f"more than --max-fail-fraction {config.max_fail_fraction:.1%}; see "
                         f"{cache_dir / layout.FAILURES}. Fix them or raise the threshold and rerun (decoded "
                         f"images are kept)")
    with atomic_path(cache_dir / layout.INDEX) as tmp:
        pq.write_table(_index_table(frame, plan), tmp)
    os.replace(cache_dir / PARTIAL, cache_dir / layout.IMAGES)
    meta = _meta(plan, config, frame, int(failed.sum()))
    atomic_write_text(cache_dir / layout.META, json.dumps(meta, indent=2))
    shutil.rmtree(cache_dir / layout.WORK, ignore_errors=True)
    return meta


def _index_table(frame: pd.DataFrame, plan: _Plan) -> pa.Table:
    # all label columns converted in one block: one assignment per label fragments the frame
    labels = frame[plan.label_columns].astype(np.float32)
    out = pd.concat([frame.drop(columns=plan.label_columns), labels], axis=1)[list(frame.columns)]
    if "not_annotated" not in out.columns:
        out["not_annotated"] = ""
    out["not_annotated"] = out["not_annotated"].fillna("")
    if "sentences" not in out.columns:
        out["sentences"] = [[] for _ in range(len(out))]
    table = pa.Table.from_pandas(out, preserve_index=False)
    # Fixed text types, so an all-empty column is not stored as list<null>.
    sentences = table.column("sentences").cast(pa.list_(pa.large_string()))
    return table.set_column(table.schema.get_field_index("sentences"), "sentences", sentences)


def _meta(plan: _Plan, config: PrepareConfig, frame: pd.DataFrame, failed: int) -> dict:
    # Counts of what training will read: a row whose image failed is in the index but never served.
    served = frame[frame["status"] == layout.STATUS_OK]
    split = {**plan.split, **split_counts(served["split"], served)}
    return {
        "format": layout.FORMAT, "version": layout.VERSION,
        "images": {"file": layout.IMAGES, "dtype": "uint8", "shape": [len(frame), config.size, config.size],
                   "mode": config.mode},
        "rows": len(frame), "ok": len(frame) - failed, "failed": failed,
        "label_names": plan.label_columns, "vocabulary": plan.vocabulary,
        "sources": {str(k): int(v) for k, v in frame["source"].value_counts(sort=False).items()},
        "with_text": int(sum(len(s) > 0 for s in frame["sentences"])) if "sentences" in frame.columns else 0,
        "manifest": plan.manifest,
        "image_root": str(Path(config.image_root).resolve() if config.image_root else Path(plan.manifest["path"]).parent),
        "split": split, "exclude_patients": plan.exclusion,
        "fingerprint": plan.fingerprint, "git_sha": git_sha(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "warnings": plan.warnings,
    }
