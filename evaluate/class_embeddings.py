"""Zero-shot class embeddings: text-prompt ensembles or label-head prototypes (composed for novel classes).

- Text head: mean of the L2-normalised embeddings of every prompt of a class, re-normalised.
- Label head (unimodal, DLILP): a class the head names uses its prototype. A novel class's description
  is run through the labeler; the prototypes of the head labels it names are averaged and re-normalised
  (COVID "ground-glass opacity or consolidation" -> lung opacity + consolidation). Ancestors the labeler
  propagated are dropped when a descendant is also named, so a broad parent does not outweigh the
  specific finding. If nothing maps, the class is not predictable (its images count as wrong) and a
  warning says so.

Which head scores which class is a *route* (``ROUTES``, chosen by the evaluation protocol). Each row
records its head: label-head rows pair with the label-head image embedding, text rows with the
image-text head's (DLILP has both, in two different spaces with their own logit scales), so a task's
logits are assembled column by column from the two (``zero_shot_logits``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from cxr.core.registry import Registry

from cxr.evaluate.classnames import labels_to_head, match_label
from cxr.evaluate.prompts import TaskPrompts

#: description text -> positive ontology labels (the labeler, or a stand-in in tests)
Describe = Callable[[str], list[str]]

#: a route: (class named by the label head, model has a label head, model has text) -> how the class's
#: embedding is made: "prototype", "compose" (head labels named by its description), "text" or "none"
ROUTES: Registry[Callable[[bool, bool, bool], str]] = Registry("zero-shot route")
#: embedding kind -> the head whose image embedding it pairs with
HEAD_OF = {"prototype": "label", "compose": "label", "text": "text", "none": ""}


@ROUTES.register("label-head")
def _label_head(in_head: bool, has_head: bool, has_text: bool) -> str:
    """cxr's default: everything through the label head when there is one, else the text head."""
    if has_head:
        return "prototype" if in_head else "compose"
    return "text" if has_text else "none"


@ROUTES.register("split-heads")
def _split_heads(in_head: bool, has_head: bool, has_text: bool) -> str:
    """The paper's: head classes by prototype, the others by text (not scorable without a text tower)."""
    if has_head and in_head:
        return "prototype"
    return "text" if has_text else "none"


@ROUTES.register("text-head")
def _text_head(in_head: bool, has_head: bool, has_text: bool) -> str:
    """Every class through the image-text head (a two-head encoder seen as a CLIP model)."""
    return "text" if has_text else "none"


@dataclass
class ClassEmbeddings:
    matrix: np.ndarray                     # [n_classes, D]; rows of unpredictable classes are 0
    predictable: np.ndarray                # bool [n_classes]
    sources: list[str]                     # how each row was made, recorded in config.yaml
    warnings: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)   # per row: "label", "text" or "" (unpredictable)

    def head_columns(self, head: str) -> np.ndarray:
        return np.array([h == head for h in self.heads], dtype=bool)


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
                           describe: Describe | None = None, onto=None,
                           route: str = "label-head") -> ClassEmbeddings:
    has_head = getattr(model, "prototypes", None) is not None and bool(getattr(model, "label_names", None))
    has_text = bool(getattr(model, "has_text", False))
    choose = ROUTES.get(route)
    names = list(model.label_names) if has_head else []
    protos = _prototypes(model) if has_head else None
    rows, sources, warnings, heads = [], [], [], []
    for c in classes:
        kind = choose(match_label(c, names) is not None, has_head, has_text)
        row, source, warning = _ROW_MAKERS[kind](model, protos, c, prompts, describe, onto)
        if warning:
            warnings.append(warning)
        rows.append(row)
        sources.append(source)
        heads.append(HEAD_OF[kind] if row is not None else "")
    dim = next((r.shape[-1] for r in rows if r is not None), 1)
    predictable = np.array([r is not None for r in rows])
    return ClassEmbeddings(_stack(rows, dim), predictable, sources, warnings, heads)


def _prototype_row(model, protos, c: str, prompts, describe, onto):
    names = list(model.label_names)
    hit = match_label(c, names)
    return protos[hit], f"prototype: {names[hit]}", None


def _text_row(model, protos, c: str, prompts: TaskPrompts, describe, onto):
    return text_embedding(model, prompts[c].texts(prompts.templates)), "text", None


def _none_row(model, protos, c: str, prompts, describe, onto):
    return None, "none", None


def _stack(rows: list, dim: int) -> np.ndarray:
    return np.stack([r if r is not None else np.zeros(dim, np.float32) for r in rows]).astype(np.float32)


def _composed_row(model, protos, c: str, prompts: TaskPrompts, describe, onto):
    names = list(model.label_names)
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


_ROW_MAKERS = {"prototype": _prototype_row, "compose": _composed_row, "text": _text_row, "none": _none_row}


def head_logit_scale(model, head: str) -> float:
    """A head's temperature: the export records one per head (``text_logit_scale``, ...); other encoders
    have only ``logit_scale``, the default head's."""
    config = getattr(model, "config", None)
    recorded = config.get(f"{head}_logit_scale") if isinstance(config, dict) else None
    return float(recorded or getattr(model, "logit_scale", 1.0))


def zero_shot_logits(image_emb: dict[str, np.ndarray], ce: ClassEmbeddings,
                     scales: dict[str, float]) -> np.ndarray:
    """Scaled cosine similarities [N, C]: each class against the image embedding of its own head;
    -inf for an unpredictable class. ``image_emb`` and ``scales`` are keyed by head."""
    n = len(next(iter(image_emb.values())))
    logits = np.full((n, len(ce.heads)), -np.inf)
    for head, emb in image_emb.items():
        cols = ce.head_columns(head)
        if cols.any():
            logits[:, cols] = _unit(emb) @ ce.matrix[cols].T * float(scales[head])
    return logits


def softmax_over(logits: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
    """Softmax over the given columns (all by default): a classification problem among those classes."""
    z = logits if columns is None else logits[:, list(columns)]
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def zero_shot_scores(image_emb: np.ndarray, ce: ClassEmbeddings, logit_scale: float = 1.0) -> np.ndarray:
    """Softmax over cosine similarities; an unpredictable class gets probability 0."""
    sims = _unit(image_emb) @ ce.matrix.T * float(logit_scale)
    sims[:, ~ce.predictable] = -np.inf
    sims -= sims.max(axis=1, keepdims=True)
    e = np.exp(sims)
    return e / e.sum(axis=1, keepdims=True)
