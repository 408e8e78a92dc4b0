"""Zero-shot class embeddings: text-prompt ensembles or label-head prototypes (composed for novel classes).

- Text encoder: mean of the L2-normalised embeddings of every prompt of a class, re-normalised.
- Label head (unimodal, DLILP): a base class uses its prototype. A novel class's description is run
  through the labeler; the prototypes of the head labels it names are averaged and re-normalised
  (COVID "ground-glass opacity or consolidation" -> lung opacity + consolidation). Ancestors the labeler
  propagated are dropped when a descendant is also named, so a broad parent does not outweigh the
  specific finding. If nothing maps, the class is not predictable (its images count as wrong) and a
  warning says so. There is no fallback to the text head of a model that has both heads (DLILP): the
  default image embedding pairs with the prototypes, and text embeddings live in another space.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from cxr.evaluate.classnames import labels_to_head, match_label
from cxr.evaluate.prompts import TaskPrompts

#: description text -> positive ontology labels (the labeler, or a stand-in in tests)
Describe = Callable[[str], list[str]]


@dataclass
class ClassEmbeddings:
    matrix: np.ndarray                     # [n_classes, D]; rows of unpredictable classes are 0
    predictable: np.ndarray                # bool [n_classes]
    sources: list[str]                     # how each row was made, recorded in config.yaml
    warnings: list[str] = field(default_factory=list)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def text_embedding(model, texts: Sequence[str]) -> np.ndarray:
    import torch

    with torch.inference_mode():
        emb = model.encode_text(list(texts))
    emb = emb.float().cpu().numpy() if hasattr(emb, "cpu") else np.asarray(emb, np.float32)
    return _unit(_unit(emb).mean(axis=0))


def _prototypes(model) -> np.ndarray:
    protos = model.prototypes
    protos = protos.detach().float().cpu().numpy() if hasattr(protos, "detach") else np.asarray(protos)
    return _unit(protos)


def _drop_ancestors(labels: list[str], onto) -> list[str]:
    if onto is None:
        return labels
    named = set(labels)
    covered = set()
    for lab in labels:
        if lab in onto:
            covered.update(a for a in onto.ancestors(lab) if a in named)
    return [lab for lab in labels if lab not in covered]


def build_class_embeddings(model, classes: Sequence[str], prompts: TaskPrompts,
                           describe: Describe | None = None, onto=None) -> ClassEmbeddings:
    has_head = getattr(model, "prototypes", None) is not None and bool(getattr(model, "label_names", None))
    has_text = bool(getattr(model, "has_text", False))
    rows, sources, warnings = [], [], []
    protos = _prototypes(model) if has_head else None
    for c in classes:
        row, source = None, "none"
        if has_head:
            row, source, warning = _head_row(model, protos, c, prompts, describe, onto)
            if warning:
                warnings.append(warning)
        elif has_text:
            row, source = text_embedding(model, prompts[c].texts(prompts.templates)), "text"
        rows.append(row)
        sources.append(source)
    dim = next((r.shape[-1] for r in rows if r is not None), 1)
    predictable = np.array([r is not None for r in rows])
    return ClassEmbeddings(_stack(rows, dim), predictable, sources, warnings)


def _stack(rows: list, dim: int) -> np.ndarray:
    return np.stack([r if r is not None else np.zeros(dim, np.float32) for r in rows]).astype(np.float32)


def _head_row(model, protos, c: str, prompts: TaskPrompts, describe, onto):
    names = list(model.label_names)
    hit = match_label(c, names)
    if hit is not None:
        return protos[hit], f"prototype: {names[hit]}", None
    if describe is None:
        return None, "none", (f"class {c!r} is novel and no labeler is available to compose its prototype: "
                              f"not predictable, its images count as wrong")
    description = prompts[c].description
    labels = _drop_ancestors(list(describe(description)), onto)
    idx = labels_to_head(labels, names, onto)
    if not idx:
        return None, "none", (f"class {c!r} is not predictable (its images count as wrong): the labeler "
                              f"found no head label in its description {description!r} "
                              f"(labels: {labels or 'none'})")
    return _unit(protos[idx].mean(axis=0)), "composed: " + " + ".join(names[i] for i in idx), None


def zero_shot_scores(image_emb: np.ndarray, ce: ClassEmbeddings, logit_scale: float = 1.0) -> np.ndarray:
    """Softmax over cosine similarities; an unpredictable class gets probability 0."""
    sims = _unit(image_emb) @ ce.matrix.T * float(logit_scale)
    sims[:, ~ce.predictable] = -np.inf
    sims -= sims.max(axis=1, keepdims=True)
    e = np.exp(sims)
    return e / e.sum(axis=1, keepdims=True)
