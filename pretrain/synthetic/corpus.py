"""Phantom corpora: patients with follow-up studies, images with known findings, reports, manifest."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from cxr.core.atomic import atomic_path
from cxr.core.errors import InputError
from cxr.core.progress import Progress, null_progress
from cxr.pretrain.synthetic.anatomy import Anatomy, Canvas, draw_anatomy, new_canvas, sample_anatomy
from cxr.pretrain.synthetic.findings import DEFAULT_FINDINGS, FINDINGS, Finding
from cxr.pretrain.synthetic.reports import WORDING, write_report

SOURCE = "synthetic"


@dataclass(frozen=True)
class SynthConfig:
    size: int = 96
    seed: int = 0
    findings: tuple[str, ...] = DEFAULT_FINDINGS
    studies_per_patient: tuple[int, int] = (1, 4)
    hedge_rate: float = 0.15       # share of present findings the report only hedges
    ap_fraction: float = 0.3
    noise: float = 0.02
    # The toy task (``pretrain.synthetic.toy``) makes findings easy to see; the defaults are realistic.
    standard_patient: bool = False   # every study shows the same default chest, without positioning jitter
    contrast: float = 1.0            # scales the density change each finding draws
    prevalence: float | None = None  # every finding in this share of studies (None: each finding's own)

    def check(self) -> None:
        unknown = [f for f in self.findings if f not in FINDINGS]
        if unknown:
            raise InputError(f"unknown phantom finding(s) {unknown}; known: {', '.join(FINDINGS)}")
        if self.size < 32:
            raise InputError(f"phantom size must be at least 32 px, got {self.size}")

    def prevalence_of(self, finding: str) -> float:
        return FINDINGS.get(finding).prevalence if self.prevalence is None else self.prevalence


@dataclass
class SyntheticCorpus:
    images: np.ndarray            # [N, S, S] uint8
    manifest: pd.DataFrame        # path, patient_id, study_id, source, view, report, finding columns (0/1)


def render(size: int, anatomy: Anatomy, present: dict[str, dict], rng: np.random.Generator,
           noise: float = 0.02, contrast: float = 1.0) -> np.ndarray:
    """One phantom image (uint8) of ``anatomy`` showing the ``present`` findings."""
    for name, params in present.items():
        anatomy = FINDINGS.get(name).adjust(anatomy, params)
    canvas = draw_anatomy(new_canvas(size, anatomy), rng)
    for name, params in present.items():
        _draw(FINDINGS.get(name), canvas, params, rng, contrast)
    return _expose(canvas.density, anatomy.view, rng, noise)


def _draw(finding: Finding, canvas: Canvas, params: dict, rng: np.random.Generator, contrast: float) -> None:
    if contrast == 1.0:   # the realistic phantoms: no copy, the exact arithmetic of the finding itself
        finding.draw(canvas, params, rng)
        return
    before = canvas.density.copy()
    finding.draw(canvas, params, rng)
    canvas.density = before + contrast * (canvas.density - before)


def _expose(density: np.ndarray, view: str, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Detector response: window, gamma, scatter (AP portables look flatter), quantum noise."""
    lo, hi = rng.uniform(0.0, 0.05), rng.uniform(0.85, 1.0)
    img = np.clip((density - lo) / (hi - lo), 0, 1) ** rng.uniform(0.8, 1.25)
    if view == "AP":
        img = 0.85 * img + 0.07
    img = img + noise * rng.standard_normal(img.shape, dtype=np.float32)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def generate(n: int, config: SynthConfig = SynthConfig(), progress: Progress = null_progress) -> SyntheticCorpus:
    """``n`` phantom studies (one frontal image each), deterministic for ``config.seed``."""
    config.check()
    if n < 1:
        raise InputError(f"number of images must be positive, got {n}")
    images = np.empty((n, config.size, config.size), dtype=np.uint8)
    rows: list[dict] = []
    for k, (patient, visit, traits) in enumerate(_schedule(n, config)):
        rng = np.random.default_rng([config.seed, 1, k])
        images[k], row = _study(k, patient, visit, traits, config, rng)
        rows.append(row)
        if (k + 1) % 256 == 0 or k + 1 == n:
            progress(k + 1, n, "synth")
    return SyntheticCorpus(images, pd.DataFrame(rows))


def _schedule(n: int, config: SynthConfig):
    """(patient index, visit number, patient traits) per study: builds and chronic findings persist."""
    rng = np.random.default_rng([config.seed, 0])
    k, patient = 0, 0
    while k < n:
        visits = int(rng.integers(config.studies_per_patient[0], config.studies_per_patient[1] + 1))
        prng = np.random.default_rng([config.seed, 2, patient])
        traits = {"anatomy": Anatomy() if config.standard_patient else sample_anatomy(prng),
                  "chronic": {f: FINDINGS.get(f).sample(prng) for f in config.findings
                              if FINDINGS.get(f).persistent and prng.random() < config.prevalence_of(f)}}
        for visit in range(min(visits, n - k)):
            yield patient, visit, traits
            k += 1
        patient += 1


def _study(k: int, patient: int, visit: int, traits: dict, config: SynthConfig,
           rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    view = "AP" if rng.random() < config.ap_fraction else "PA"
    jitter = Anatomy() if config.standard_patient else sample_anatomy(rng, view)
    base: Anatomy = traits["anatomy"]
    anatomy = replace(base, shift=jitter.shift, rotation=jitter.rotation, view=view,
                      heart_halfwidth=base.heart_halfwidth * (1.08 if view == "AP" else 1.0))
    present = {f: p for f, p in traits["chronic"].items()}
    for name in config.findings:
        if not FINDINGS.get(name).persistent and rng.random() < config.prevalence_of(name):
            present[name] = FINDINGS.get(name).sample(rng)
    present = {f: present[f] for f in config.findings if f in present}   # stable order in the report
    # Devices are never hedged: a wire is either seen or not.
    hedged = {f for f in present if WORDING.get(f).hedged is not None and rng.random() < config.hedge_rate}
    absent = [f for f in config.findings if f not in present]
    image = render(config.size, anatomy, present, rng, config.noise, config.contrast)
    study = f"s{k:07d}"
    row = {"path": f"images/p{patient:06d}_{study}.png", "patient_id": f"p{patient:06d}", "study_id": study,
           "source": SOURCE, "view": view, "report": write_report(present, absent, hedged, view, rng),
           **{f: float(f in present) for f in config.findings},
           "meta_visit": visit, "meta_hedged": "|".join(sorted(hedged))}
    return image, row


def generate_corpus(n: int, size: int = 96, seed: int = 0, findings: tuple[str, ...] = DEFAULT_FINDINGS,
                    out_dir: str | Path | None = None, progress: Progress = null_progress) -> pd.DataFrame:
    """The phantom manifest (label columns = ground truth 0/1); with ``out_dir``, also writes
    images/*.png, manifest.csv (input of ``cxr prepare``) and reports.csv (study_id, report; input of
    ``cxr label``). Files appear atomically, manifest.csv last."""
    corpus = generate(n, SynthConfig(size=size, seed=seed, findings=tuple(findings)), progress)
    if out_dir is not None:
        write_corpus(corpus, Path(out_dir), progress)
    return corpus.manifest


def write_corpus(corpus: SyntheticCorpus, out_dir: Path, progress: Progress = null_progress) -> None:
    from PIL import Image

    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    n = len(corpus.manifest)
    for k, (rel, image) in enumerate(zip(corpus.manifest["path"], corpus.images)):
        with atomic_path(out_dir / rel) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        if (k + 1) % 256 == 0 or k + 1 == n:
            progress(k + 1, n, "write PNG")
    with atomic_path(out_dir / "reports.csv") as tmp:
        corpus.manifest[["study_id", "report"]].to_csv(tmp, index=False)
    with atomic_path(out_dir / "manifest.csv") as tmp:
        corpus.manifest.to_csv(tmp, index=False)
