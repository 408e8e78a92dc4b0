"""The one API for label names: load, validate and query the YAML ontology.

Layout of an ontology folder (see docs/ontology.md)::

    labels/*.yaml        kind: finding|diagnosis|top  +  labels: [{name, cui, parents, synonyms, exclusions,
                         description, es: {synonyms, exclusions}}]   (English in the plain keys, each other
                         language in a key of its own)
    cues.yaml            negation / uncertainty / pseudo-negation / terminators / resolution / history cue patterns
    cues_es.yaml         the same cue lists for Spanish reports
    projections/*.yaml   name, description, labels: {target label: [ontology labels]}

Every other part of cxr asks this module for vocabularies and projections; nobody keeps a second list.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from cxr.core.errors import OntologyError
from cxr.labeler.patterns import PatternError, analyse_pattern

KINDS = ("top", "finding", "diagnosis")
#: The report languages: English in a label's plain ``synonyms``/``exclusions`` and ``cues.yaml``; every
#: other language in a key of its own per label (``es: {synonyms: [...], exclusions: [...]}``) and
#: ``cues_<lang>.yaml``. ``Ontology.in_language`` gives the labeler a language's view.
ENGLISH = "en"
LANGUAGES = (ENGLISH, "es")
LABEL_KEYS = {"name", "cui", "parents", "synonyms", "exclusions", "description", "note", "__line__", "__keylines__",
              *LANGUAGES[1:]}
#: Keys the YAML loader adds to every mapping (line numbers); never user keys.
_META_KEYS = frozenset({"__line__", "__keylines__"})
CUE_KEYS = ("negation_preceding", "negation_following", "uncertainty_preceding",
            "uncertainty_following", "pseudo_negation", "terminators", "resolution", "history",
            "negation_within", "benign_following", "uncertainty_strict_preceding",
            "uncertainty_strict_following", "uncertainty_strict_within")
#: cue lists a cues.yaml may leave out (empty then)
OPTIONAL_CUE_KEYS = frozenset({"negation_within", "benign_following", "uncertainty_strict_preceding",
                               "uncertainty_strict_following", "uncertainty_strict_within"})

#: Label values everywhere in cxr. NaN (missing) = not mentioned.
POSITIVE, NEGATIVE, UNCERTAIN = 1, 0, -1
#: The vocabulary of the ontology's own labels: the identity projection.
OWN_VOCABULARY = "padchest"
#: Precedence, the one rule for merging label values: positive > uncertain > negative (> not mentioned).
_RANK = {POSITIVE: 3, UNCERTAIN: 2, NEGATIVE: 1}


def strongest(old: int | None, new: int) -> int:
    """The value that wins when a label gets ``new`` and already had ``old`` (None = not yet mentioned).

    Every merge of label values goes through here (mentions of one report, propagation to ancestors,
    projections), so the precedence cannot drift between them. Ties keep ``old``.
    """
    return new if old is None or _RANK[new] > _RANK[old] else old


#: ``strongest`` as a table, ``WINNER[old][new]``, for the labeler's per-mention loops: lookups instead
#: of a call there keep labeling as fast as when each loop spelled the rule out itself. Those loops skip
#: the lookup for a first value (old None), which always wins.
WINNER = {old: {new: strongest(old, new) for new in _RANK} for old in (None, *_RANK)}


def combine(values: Iterable[Any]) -> float:
    """Combine label values by precedence (``strongest``); NaN / None = not mentioned, other values ignored."""
    best = None
    for v in map(_as_value, values):
        if v is not None:
            best = strongest(best, v)
    return math.nan if best is None else best


def _as_value(v: Any) -> int | None:
    """A cell as 1 / 0 / -1; None when not mentioned (None, NaN) or not a label value."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    v = int(v)
    return v if v in _RANK else None


def combine_columns(values):
    """Row-wise ``combine`` of an N×k float array of label values (NaN = not mentioned) -> N, float32."""
    import numpy as np

    ranks = np.zeros(values.shape, dtype=np.int8)
    for value, rank in _RANK.items():
        ranks[values == value] = rank
    by_rank = np.array([np.nan, *sorted(_RANK, key=_RANK.__getitem__)], dtype=np.float32)
    return by_rank[ranks.max(axis=1)] if values.shape[1] else np.full(len(values), np.nan, np.float32)


@dataclass(frozen=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Label:
    name: str
    kind: str
    cui: str | None = None
    parents: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    description: str | None = None
    where: Location = Location("?", 0)
    #: language -> (synonyms, exclusions) for every language but English (the plain fields)
    translations: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict, hash=False,
                                                                                 compare=False)

    def synonyms_in(self, language: str) -> tuple[str, ...]:
        return self.synonyms if language == ENGLISH else self.translations.get(language, ((), ()))[0]

    def exclusions_in(self, language: str) -> tuple[str, ...]:
        return self.exclusions if language == ENGLISH else self.translations.get(language, ((), ()))[1]


#: Accented letters -> their base letter, one character each, so folded text keeps every offset. PadChest's
#: stemmed reports are written without accents ("torax", "pequen"); folding report and patterns alike
#: lets one pattern match "tórax", "torax" and "TÓRAX".
_FOLD = str.maketrans("áàâäãéèêëíìîïóòôöõúùûüñçÁÀÂÄÃÉÈÊËÍÌÎÏÓÒÔÖÕÚÙÛÜÑÇ",
                      "aaaaaeeeeiiiiooooouuuuncAAAAAEEEEIIIIOOOOOUUUUNC")


def fold_accents(text: str) -> str:
    """``text`` with accents removed ("derrame pleural bilateral, pequeño" -> "... pequeno"); same length."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Projection:
    """A map from ontology labels onto a vocabulary (CheXpert-14, the paper's 85 categories, ...).

    The ontology's own vocabulary is one too, the identity (``Ontology.projection(OWN_VOCABULARY)``), so
    every consumer handles all vocabularies with the same code.
    """
    name: str
    description: str
    targets: dict[str, tuple[str, ...]]   # target label -> ontology labels feeding it
    where: Location = Location("?", 0)
    #: targets written ``{direct: [...]}``: fed by the values the report states for the sources itself
    #: (mention-based, before ancestor propagation), not by the propagated values
    direct: frozenset[str] = frozenset()
    lines: dict[str, int] = field(default_factory=dict)   # target -> line in the YAML file
    #: the targets are the ontology labels themselves, so the ontology's parent links hold between them
    identity: bool = False
    #: target -> sources (also listed in ``targets``) that feed it at most as uncertain: a positive or
    #: uncertain source gives -1, a negative one 0 (``{sources: [...], uncertain: [...]}`` in the YAML;
    #: CheXpert's "vascular congestion" -> Edema -1)
    capped: dict[str, frozenset[str]] = field(default_factory=dict)
    #: targets that are only ever 1 or not mentioned: a negative value is left out (CheXpert's No Finding)
    omit_negative: frozenset[str] = frozenset()
    #: how the vocabulary codes alternatives ("atelectasis versus pneumonia") and the strict hedges
    #: ("probable pneumonia", cues.yaml uncertainty_strict_*): 'lenient' = present (PadChest, the Open-i
    #: gold) or 'strict' = uncertain (CheXpert); the labeler built with ``conventions=<name>`` follows
    #: it (``hedging:`` at the top of the projection's YAML)
    hedging: str = "lenient"

    @property
    def vocabulary(self) -> list[str]:
        return list(self.targets)

    @functools.cached_property
    def feeds(self) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
        """label -> indices of the targets it feeds: (propagated targets, direct targets)."""
        tables: tuple[dict[str, list[int]], dict[str, list[int]]] = ({}, {})
        for i, (target, sources) in enumerate(self.targets.items()):
            table = tables[target in self.direct]
            capped = self.capped.get(target, ())
            for src in sources:
                if src not in capped:
                    table.setdefault(src, []).append(i)
        propagated, direct = ({k: tuple(v) for k, v in t.items()} for t in tables)
        return propagated, direct

    @functools.cached_property
    def capped_feeds(self) -> dict[str, tuple[int, ...]]:
        """label -> indices of the targets it feeds at most as uncertain (read from the propagated values)."""
        table: dict[str, list[int]] = {}
        for i, target in enumerate(self.targets):
            for src in self.capped.get(target, ()):
                table.setdefault(src, []).append(i)
        return {k: tuple(v) for k, v in table.items()}

    @functools.cached_property
    def omitted(self) -> tuple[int, ...]:
        """Indices of the ``omit_negative`` targets."""
        return tuple(i for i, t in enumerate(self.targets) if t in self.omit_negative)

    def cells(self, values: Mapping[str, int], direct: Mapping[str, int] | None = None) -> list[int | None]:
        """One value per target, the ``strongest`` of the labels feeding it; None when none is mentioned.

        ``values`` hold 1 / 0 / -1 only. Direct targets read ``direct`` (the report's stated values), or
        ``values`` without it. Walks the few mentioned labels, not every target: rows are sparse.
        """
        cells: list[int | None] = [None] * len(self.targets)
        propagated, direct_feeds = self.feeds
        for feeds, vals in ((propagated, values), (direct_feeds, values if direct is None else direct)):
            if not feeds:
                continue
            for label, value in vals.items():
                for i in feeds.get(label, ()):
                    old = cells[i]
                    cells[i] = value if old is None else WINNER[old][value]
        capped = self.capped_feeds
        if capped:
            for label, value in values.items():
                for i in capped.get(label, ()):
                    v = UNCERTAIN if value != NEGATIVE else NEGATIVE
                    old = cells[i]
                    cells[i] = v if old is None else WINNER[old][v]
        for i in self.omitted:
            if cells[i] == NEGATIVE:
                cells[i] = None
        return cells


@dataclass
class Ontology:
    root: Path
    labels: dict[str, Label]
    cues: dict[str, tuple[str, ...]]
    projections: dict[str, Projection]   # the YAML ones, onto other vocabularies
    _children: dict[str, list[str]] = field(default_factory=dict, repr=False)
    #: language -> its cue lists (``cues`` is the English ones); a language without a cue file is absent
    language_cues: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, repr=False)
    #: the language whose synonyms, exclusions and cues ``labels``/``cues`` hold (see ``in_language``)
    language: str = ENGLISH
    #: the ontology a language view was made from (None for a loaded ontology)
    base: "Ontology | None" = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._children = {n: [] for n in self.labels}
        for lab in self.labels.values():
            for p in lab.parents:
                if p in self._children:
                    self._children[p].append(lab.name)

    # --- languages ----------------------------------------------------------------------------
    @property
    def languages(self) -> list[str]:
        """Languages this ontology can label: English and each language with a ``cues_<lang>.yaml``."""
        return [ENGLISH, *(lang for lang in LANGUAGES[1:] if lang in self.language_cues)]

    def in_language(self, language: str) -> "Ontology":
        """The same labels, tree and projections with ``language``'s synonyms, exclusions and cues in the
        plain fields (accents folded for languages other than English): what the labeler compiles."""
        if language == self.language:
            return self
        if self.base is not None:
            return self.base.in_language(language)
        if language not in self.languages:
            raise OntologyError([f"language {language!r} not available in {self.root}; available: "
                                 f"{', '.join(self.languages)}"])
        return self._views[language]

    @functools.cached_property
    def _views(self) -> dict[str, "Ontology"]:
        return {lang: _language_view(self, lang) for lang in self.languages if lang != self.language}

    # --- vocabularies -------------------------------------------------------------------------
    @functools.cached_property
    def _identity(self) -> Projection:
        # built from the labels, not from a file, so it always lists exactly the labels
        return Projection(OWN_VOCABULARY, "every ontology label, as itself", {n: (n,) for n in self.labels},
                          Location(str(self.root / "labels"), 0), identity=True)

    def projection(self, name: str) -> Projection:
        """A vocabulary as a projection of the ontology labels (the own vocabulary: the identity)."""
        if name == OWN_VOCABULARY:
            return self._identity
        try:
            return self.projections[name]
        except KeyError:
            raise OntologyError([f"unknown vocabulary {name!r}; known: {', '.join(self.vocabularies)}"]) from None

    def vocabulary(self, name: str = OWN_VOCABULARY) -> list[str]:
        """Label names of a vocabulary: 'padchest' (every ontology label) or a projection's name."""
        return self.projection(name).vocabulary

    @property
    def vocabularies(self) -> list[str]:
        return [OWN_VOCABULARY, *self.projections]

    # --- graph --------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Label:
        try:
            return self.labels[name]
        except KeyError:
            raise OntologyError([f"unknown label {name!r}"]) from None

    def __contains__(self, name: object) -> bool:
        return name in self.labels

    def parents(self, name: str) -> list[str]:
        return list(self[name].parents)

    def children(self, name: str) -> list[str]:
        self[name]
        return list(self._children[name])

    def ancestors(self, name: str) -> list[str]:
        return _ancestors(self, name)

    def descendants(self, name: str) -> list[str]:
        seen: dict[str, None] = {}
        stack = list(self.children(name))
        while stack:
            n = stack.pop()
            if n not in seen:
                seen[n] = None
                stack.extend(self._children[n])
        return list(seen)

    def description(self, name: str) -> str:
        lab = self[name]
        return lab.description or lab.name

    # --- projections --------------------------------------------------------------------------
    def project(self, values: Mapping[str, Any], target: str,
                direct: Mapping[str, Any] | None = None) -> dict[str, float]:
        """Project ontology label values onto ``target`` by precedence (see ``strongest``).

        ``values`` are the report's (ancestor-propagated) label values; ``direct`` the values the report
        states itself, before propagation (``ReportResult.direct_values()``). Direct targets of the
        projection (``{direct: [...]}`` in its YAML) read ``direct``; without it they read ``values``.
        """
        proj = self.projection(target)
        cells = proj.cells(_mentioned(values), None if direct is None else _mentioned(direct))
        return {t: math.nan if c is None else c for t, c in zip(proj.targets, cells)}

    def project_frame(self, frame, target: str):
        """Column-wise ``project`` for a pandas DataFrame of ontology label columns (NaN = not mentioned).

        A labels table holds propagated values only, so direct (mention-based) targets are projected from
        the propagated values here, as ``project`` does without ``direct``; to honour them, project each
        report's ``ReportResult`` (``cxr label --vocabulary NAME`` does).
        """
        import numpy as np
        import pandas as pd

        out = {}
        proj = self.projection(target)
        for t, srcs in proj.targets.items():
            capped = proj.capped.get(t, frozenset())
            cols = [c for c in srcs if c in frame.columns]
            block = frame[cols].to_numpy(dtype=np.float32)
            if capped & set(cols):
                block = block.copy()
            for j, c in enumerate(cols):
                if c in capped:
                    block[:, j] = np.where(np.isin(block[:, j], (POSITIVE, UNCERTAIN)), UNCERTAIN, block[:, j])
            col = combine_columns(block).astype(np.float64)
            if t in proj.omit_negative:
                col[col == NEGATIVE] = np.nan
            out[t] = col
        return pd.DataFrame(out, index=frame.index)


def _language_view(onto: Ontology, language: str) -> Ontology:
    fold = (lambda pats: tuple(fold_accents(p) for p in pats)) if language != ENGLISH else tuple
    labels = {n: dataclasses.replace(lab, synonyms=fold(lab.synonyms_in(language)),
                                     exclusions=fold(lab.exclusions_in(language)))
              for n, lab in onto.labels.items()}
    cues = onto.cues if language == ENGLISH else {k: fold(v) for k, v in onto.language_cues[language].items()}
    return Ontology(onto.root, labels, cues, onto.projections, language_cues=onto.language_cues, language=language,
                    base=onto)


def _mentioned(values: Mapping[str, Any]) -> dict[str, int]:
    """The mentioned values as ints (see ``_as_value``): what ``Projection.cells`` takes."""
    out = {}
    for label, v in values.items():
        v = int(v) if v in _RANK else _as_value(v)   # the usual plain 1 / 0 / -1 without a call
        if v is not None:
            out[label] = v
    return out


def _ancestors(onto: Ontology, name: str) -> list[str]:
    seen: dict[str, None] = {}
    stack = list(onto[name].parents)
    while stack:
        n = stack.pop()
        if n not in seen and n in onto.labels:
            seen[n] = None
            stack.extend(onto.labels[n].parents)
    return list(seen)


# ------------------------------------------------------------------------------------------------
# Loading with line numbers, so every error can name file and line.
# ------------------------------------------------------------------------------------------------
# libyaml's parser when available: loading ~200 labels with the pure-Python one costs a third of a second.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeBase):  # type: ignore[misc, valid-type]
    """A safe loader that records the line of each mapping under the key ``__line__``."""

    def construct_mapping(self, node, deep=False):  # noqa: D401
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__keylines__"] = {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k.value, str)}
        return mapping


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problems.append(f"{path}{line}: YAML syntax error: {getattr(exc, 'problem', exc)}")
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})")
    return None


def default_ontology_dir() -> Path:
    """``$CXR_ONTOLOGY`` when set, else the shipped ``ontology/`` package folder."""
    env = os.environ.get("CXR_ONTOLOGY")
    if env:
        return Path(env)
    from cxr.ontology import ONTOLOGY_DIR

    return ONTOLOGY_DIR


def _as_str_list(value: Any, what: str, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: '{what}' must be a list of strings")
        return ()
    return tuple(value)


def _parse_label(raw: Any, kind: str, path: Path, problems: list[str]) -> Label | None:
    if not isinstance(raw, dict):
        problems.append(f"{path}: each entry under 'labels' must be a mapping, got {raw!r}")
        return None
    line = raw.get("__line__", 0)
    name = raw.get("name")
    where = f"{path}:{line}: label {name!r}"
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}:{line}: label without a 'name'")
        return None
    unknown = set(raw) - LABEL_KEYS
    if unknown:
        problems.append(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(LABEL_KEYS - _META_KEYS)}")
    cui = raw.get("cui")
    if cui is not None and (not isinstance(cui, str) or not cui.startswith("C") or not cui[1:].isdigit()):
        problems.append(f"{where}: cui {cui!r} is not a UMLS CUI like C0018800")
    if "synonyms" not in raw:
        problems.append(f"{where}: 'synonyms' is required (use [] with a comment when reports cannot express it)")
    desc = raw.get("description")
    if desc is not None and not isinstance(desc, str):
        problems.append(f"{where}: 'description' must be a string")
    return Label(
        name=name, kind=kind, cui=cui,
        parents=_as_str_list(raw.get("parents"), "parents", where, problems),
        synonyms=_as_str_list(raw.get("synonyms"), "synonyms", where, problems),
        exclusions=_as_str_list(raw.get("exclusions"), "exclusions", where, problems),
        description=desc, where=Location(str(path), line),
        translations=_parse_translations(raw, path, problems),
    )


def _parse_translations(raw: dict, path: Path, problems: list[str]) -> dict:
    """``es: {synonyms: [...], exclusions: [...]}`` (each language's own key) -> {language: (syn, excl)}."""
    out = {}
    for lang in LANGUAGES[1:]:
        block = raw.get(lang)
        if block is None:
            continue
        line = raw.get("__keylines__", {}).get(lang, raw.get("__line__", 0))
        here = f"{path}:{line}: label {raw.get('name')!r} ({lang})"
        if not isinstance(block, dict):
            problems.append(f"{here}: '{lang}' must be a mapping with 'synonyms' and optionally 'exclusions'")
            continue
        unknown = set(block) - {"synonyms", "exclusions"} - _META_KEYS
        if unknown:
            problems.append(f"{here}: unknown key(s) {sorted(unknown)}; allowed: ['exclusions', 'synonyms']")
        out[lang] = (_as_str_list(block.get("synonyms"), f"{lang}.synonyms", here, problems),
                     _as_str_list(block.get("exclusions"), f"{lang}.exclusions", here, problems))
    return out


def _load_labels(root: Path, problems: list[str]) -> dict[str, Label]:
    labels: dict[str, Label] = {}
    files = sorted((root / "labels").glob("*.yaml"))
    if not files:
        problems.append(f"{root}: no label files found under {root / 'labels'}/*.yaml")
    for path in files:
        doc = _read_yaml(path, problems)
        if doc is None:
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("labels"), list):
            problems.append(f"{path}: expected a mapping with 'kind' and a 'labels' list")
            continue
        kind = doc.get("kind", "finding")
        if kind not in KINDS:
            problems.append(f"{path}:{doc.get('__line__', 1)}: kind {kind!r} is not one of {KINDS}")
        for raw in doc["labels"]:
            lab = _parse_label(raw, kind, path, problems)
            if lab is None:
                continue
            if lab.name in labels:
                problems.append(f"{lab.where}: duplicate label {lab.name!r} (first defined at {labels[lab.name].where})")
                continue
            labels[lab.name] = lab
    return labels


def cue_file(root: Path, language: str = ENGLISH) -> Path:
    """``cues.yaml`` for English, ``cues_<lang>.yaml`` for another language."""
    return root / ("cues.yaml" if language == ENGLISH else f"cues_{language}.yaml")


def _load_language_cues(root: Path, problems: list[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The cue lists of each language other than English whose cue file exists."""
    return {lang: _load_cues(root, problems, lang) for lang in LANGUAGES[1:] if cue_file(root, lang).exists()}


def _load_cues(root: Path, problems: list[str], language: str = ENGLISH) -> dict[str, tuple[str, ...]]:
    path = cue_file(root, language)
    if not path.exists():
        problems.append(f"{path}: missing cue file")
        return {k: () for k in CUE_KEYS}
    doc = _read_yaml(path, problems) or {}
    cues = {}
    for key in CUE_KEYS:
        if key not in doc and key not in OPTIONAL_CUE_KEYS:
            problems.append(f"{path}: missing cue list '{key}'")
        cues[key] = _as_str_list(doc.get(key), key, f"{path}", problems)
    unknown = set(doc) - set(CUE_KEYS) - _META_KEYS
    if unknown:
        problems.append(f"{path}: unknown cue list(s) {sorted(unknown)}; allowed: {list(CUE_KEYS)}")
    return cues


def _load_projections(root: Path, problems: list[str]) -> dict[str, Projection]:
    out: dict[str, Projection] = {}
    for path in sorted((root / "projections").glob("*.yaml")):
        doc = _read_yaml(path, problems)
        if not isinstance(doc, dict) or not isinstance(doc.get("labels"), dict):
            if doc is not None:
                problems.append(f"{path}: expected 'name', 'description' and a 'labels' mapping")
            continue
        name = doc.get("name") or path.stem
        targets: dict[str, tuple[str, ...]] = {}
        direct: set[str] = set()
        capped: dict[str, frozenset[str]] = {}
        omit: set[str] = set()
        lines: dict[str, int] = {}
        key_lines = doc["labels"].get("__keylines__", {})
        for target, srcs in doc["labels"].items():
            if target in _META_KEYS:
                continue
            line = key_lines.get(target, doc["labels"].get("__line__", 1))
            lines[str(target)] = line
            where = f"{path}:{line}: projection {name!r} target {target!r}"
            if isinstance(srcs, dict):
                # {direct: [labels]} (mention-based) or {sources: [labels]}, each optionally with
                # uncertain: [labels] (fed at most as uncertain) and omit_negative: true
                keys = set(srcs) - _META_KEYS
                main = keys & {"direct", "sources"}
                if len(main) != 1 or keys - {"direct", "sources", "uncertain", "omit_negative"}:
                    problems.append(f"{where}: a target mapping takes one of 'direct' or 'sources', and "
                                    f"optionally 'uncertain' and 'omit_negative' (got {sorted(map(str, keys))}); "
                                    f"write a plain list for the usual case")
                    continue
                key = main.pop()
                if key == "direct":
                    direct.add(str(target))
                extra = _as_str_list(srcs.get("uncertain") or [], f"labels.{target}.uncertain", where, problems)
                if extra:
                    capped[str(target)] = frozenset(extra)
                if srcs.get("omit_negative"):
                    omit.add(str(target))
                mapping = srcs
                srcs = srcs[key]
                if not srcs:
                    problems.append(f"{where}: {key!r} needs at least one label")
                srcs = [*(srcs or []), *(s for s in mapping.get("uncertain") or [] if s not in (srcs or []))]
            targets[str(target)] = _as_str_list(srcs, f"labels.{target}", where, problems)
        hedging = str(doc.get("hedging", "lenient"))
        if hedging not in ("lenient", "strict"):
            problems.append(f"{path}: 'hedging' is 'lenient' or 'strict' (got {hedging!r})")
        out[name] = Projection(name, str(doc.get("description", "")), targets,
                               Location(str(path), doc.get("__line__", 1)), frozenset(direct), lines,
                               capped=capped, omit_negative=frozenset(omit), hedging=hedging)
    return out


def validate(onto: Ontology) -> list[str]:
    """Semantic checks: unknown parents, cycles, synonyms claimed by unrelated labels, bad patterns."""
    problems: list[str] = []
    for lab in onto.labels.values():
        for p in lab.parents:
            if p not in onto.labels:
                problems.append(f"{lab.where}: label {lab.name!r} has unknown parent {p!r}")
    problems += _find_cycles(onto)
    for lang in onto.languages:
        problems += _validate_patterns(onto.in_language(lang))
    for lab in onto.labels.values():
        missing = [lang for lang in lab.translations if lang not in onto.languages]
        if missing:
            problems.append(f"{lab.where}: label {lab.name!r} has {missing[0]!r} synonyms but the ontology has "
                            f"no {cue_file(onto.root, missing[0]).name}")
    if OWN_VOCABULARY in onto.projections:
        own = onto.projections[OWN_VOCABULARY]
        problems.append(f"{own.where}: projection name {OWN_VOCABULARY!r} is reserved for the ontology's own "
                        f"labels (that vocabulary is built from labels/*.yaml); rename it")
    for proj in onto.projections.values():
        for target, srcs in proj.targets.items():
            for s in srcs:
                if s not in onto.labels:
                    line = proj.lines.get(target, proj.where.line)
                    problems.append(f"{proj.where.file}:{line}: projection {proj.name!r} target {target!r}: "
                                    f"unknown label {s!r}")
    return problems


def _validate_patterns(view: Ontology) -> list[str]:
    """Pattern syntax and shared synonyms of one language's view; messages name the language."""
    problems: list[str] = []
    tag = "" if view.language == ENGLISH else f" ({view.language})"
    for lab in view.labels.values():
        for pat in (*lab.synonyms, *lab.exclusions):
            try:
                analyse_pattern(pat)
            except PatternError as exc:
                problems.append(f"{lab.where}: label {lab.name!r}{tag}: {exc}")
    problems += [p + tag for p in _shared_synonyms(view)]
    cues = cue_file(view.root, view.language)
    for key, pats in view.cues.items():
        for pat in pats:
            try:
                analyse_pattern(pat)
            except PatternError as exc:
                problems.append(f"{cues}: cue list '{key}': {exc}")
    return problems


def _find_cycles(onto: Ontology) -> list[str]:
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    problems: list[str] = []

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for p in onto.labels[name].parents:
            if p not in onto.labels:
                continue
            if state.get(p) == 1:
                cycle = path[path.index(p):] + [p] if p in path else [name, p]
                problems.append(f"{onto.labels[name].where}: parent cycle: {' -> '.join(cycle)}")
            elif p not in state:
                visit(p, path + [p])
        state[name] = 2

    for n in onto.labels:
        if n not in state:
            visit(n, [n])
    return problems


def _shared_synonyms(onto: Ontology) -> list[str]:
    """A synonym may be shared only along one ancestry line (e.g. a child restating its parent)."""
    owner: dict[str, str] = {}
    problems = []
    for lab in onto.labels.values():
        for syn in lab.synonyms:
            key = " ".join(syn.lower().split())
            other = owner.setdefault(key, lab.name)
            if other == lab.name:
                continue
            if other in onto.ancestors(lab.name) or lab.name in onto.ancestors(other):
                continue
            problems.append(f"{lab.where}: synonym {syn!r} of {lab.name!r} is also claimed by unrelated "
                            f"label {other!r} ({onto.labels[other].where})")
    return problems


def load_ontology(root: str | os.PathLike | None = None, check: bool = True) -> Ontology:
    """Load (and by default validate) an ontology folder; raises ``OntologyError`` listing every problem."""
    root = Path(root) if root is not None else default_ontology_dir()
    if not root.is_dir():
        raise OntologyError([f"{root}: ontology folder not found"])
    problems: list[str] = []
    onto = Ontology(root, _load_labels(root, problems), _load_cues(root, problems), _load_projections(root, problems),
                    language_cues=_load_language_cues(root, problems))
    if check:
        problems += validate(onto)
    if problems:
        raise OntologyError(problems)
    return onto


def check_ontology(root: str | os.PathLike | None = None) -> list[str]:
    """All problems of an ontology folder (empty list = valid)."""
    try:
        load_ontology(root, check=True)
    except OntologyError as exc:
        return exc.problems
    return []
