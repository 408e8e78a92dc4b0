"""The held-out test task: single-finding phantoms of new patients, written as a user CSV task.

Each image shows exactly one finding (a multi-class task, like CheXpert5x200), is drawn for a patient
the pre-training corpus never had (fresh anatomy, ids 't...' instead of 'p...'), and goes to the
train pool or the test part by patient. The classes are base findings (pre-training labels) plus the
novel one; the zero-shot prompt of the novel class is only its one-sentence ontology description.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from cxr.core.atomic import atomic_path, atomic_write_text
from cxr.core.progress import Progress, null_progress

TASK = "phantom_test"
FOLDER = "task"
#: Share of AP (portable) views, as in the pre-training phantoms (pretrain.synthetic.SynthConfig).
AP_FRACTION = 0.3


@dataclass(frozen=True)
class TaskFiles:
    name: str
    split: Path          # user CSV task: path, label, split, patient_id
    prompts: Path        # zero-shot prompts for it
    vocabulary: Path     # the pre-training label space, one label per line (decides base vs novel)
    classes: tuple[str, ...]
    base: tuple[str, ...]
    novel: tuple[str, ...]


def make_task(out: Path, base: tuple[str, ...], novel: tuple[str, ...], size: int, train_per_class: int,
              test_per_class: int, seed: int, descriptions: dict[str, str], pretraining_labels: list[str],
              progress: Progress = null_progress) -> TaskFiles:
    from PIL import Image

    from cxr.evaluate.splitfile import write_split

    folder = out / FOLDER
    (folder / "images").mkdir(parents=True, exist_ok=True)
    classes = (*base, *novel)
    per_class = train_per_class + test_per_class
    rows = []
    for c, finding in enumerate(classes):
        for j in range(per_class):
            image = render_one(finding, size, np.random.default_rng([seed, 7, c, j]))
            patient = f"t{c:02d}{j:05d}"
            rel = f"images/{patient}.png"
            with atomic_path(folder / rel) as tmp:
                Image.fromarray(image).save(tmp, format="PNG")
            rows.append((rel, finding, "train" if j < train_per_class else "test", patient))
            progress(c * per_class + j + 1, len(classes) * per_class, "test task")
    frame = pd.DataFrame(rows, columns=["path", "label", "split", "patient_id"])
    split = folder / f"{TASK}.csv"
    write_split(frame, split, {"task": TASK, "protocol": "demo", "classes": list(classes),
                               "train_per_class": train_per_class, "test_per_class": test_per_class,
                               "seed": seed, "size": size, "base": list(base), "novel": list(novel)})
    prompts = folder / f"{TASK}.prompts.yaml"
    atomic_write_text(prompts, prompt_yaml(base, novel, descriptions))
    vocabulary = folder / "pretraining_labels.txt"
    atomic_write_text(vocabulary, "# labels the demo's encoders were pre-trained on (cxr eval --vocabulary)\n"
                      + "".join(f"{label}\n" for label in pretraining_labels))
    return TaskFiles(TASK, split, prompts, vocabulary, classes, tuple(base), tuple(novel))


def render_one(finding: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One phantom of a new patient showing only ``finding``."""
    from cxr.pretrain.synthetic import FINDINGS, render
    from cxr.pretrain.synthetic.anatomy import sample_anatomy

    anatomy = sample_anatomy(rng, "AP" if rng.random() < AP_FRACTION else "PA")
    return render(size, anatomy, {finding: FINDINGS.get(finding).sample(rng)}, rng)


def prompt_yaml(base: tuple[str, ...], novel: tuple[str, ...], descriptions: dict[str, str]) -> str:
    """Base classes: their name and description; novel classes: the description alone.

    The template is the bare phrase because the demo's text encoder is trained from scratch on report
    sentences only: wrappers like "a chest x-ray showing" are words it has never seen.
    """
    classes = {c: {"names": [c], "description": descriptions[c]} for c in base}
    classes.update({c: {"names": [descriptions[c]], "description": descriptions[c]} for c in novel})
    doc = {"task": TASK, "templates": ["{}"], "classes": classes}
    header = ("# Zero-shot prompts of the demo's test task (written by `cxr demo`). Novel classes are\n"
              "# known only by their one-sentence ontology description.\n")
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
