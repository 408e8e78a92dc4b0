"""Zero-shot prompts from YAML: class-name templates, a one-sentence description, and their ensemble.

``evaluate/prompts/default.yaml`` holds the templates; ``evaluate/prompts/<task>.yaml`` lists each class's
phrases (substituted into the templates) and description. A text encoder averages the L2-normalised
embeddings of every template x phrase plus the description; a label-head encoder runs the description of
a novel class through the labeler. User tasks may pass their own file; classes it omits get their name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from cxr.core.errors import InputError
from cxr.core.yamlio import read_yaml_mapping

PROMPTS_DIR = Path(__file__).with_name("prompts")
DEFAULT_FILE = PROMPTS_DIR / "default.yaml"
CLASS_KEYS = {"names", "description"}


@dataclass(frozen=True)
class ClassPrompts:
    name: str
    phrases: tuple[str, ...]
    description: str

    def texts(self, templates: Sequence[str]) -> list[str]:
        """The ensemble: every template with every phrase, then the description."""
        out = [t.format(p) for t in templates for p in self.phrases]
        return out + ([self.description] if self.description not in out else [])


@dataclass(frozen=True)
class TaskPrompts:
    task: str
    templates: tuple[str, ...]
    classes: dict[str, ClassPrompts] = field(default_factory=dict)
    source: str = ""

    def __getitem__(self, name: str) -> ClassPrompts:
        return self.classes[name]


def task_prompt_file(task: str) -> Path | None:
    path = PROMPTS_DIR / f"{task}.yaml"
    return path if path.is_file() else None


def load_prompts(task: str, classes: Sequence[str], path: str | Path | None = None) -> TaskPrompts:
    """Prompts for ``task``; ``path`` defaults to the shipped file of that task, if any."""
    templates = _templates(_read(DEFAULT_FILE), DEFAULT_FILE)
    file = Path(path) if path else task_prompt_file(task)
    given: dict[str, ClassPrompts] = {}
    if file is not None:
        raw = _read(file)
        if raw.get("task") not in (None, task):
            raise InputError(f"{file}: prompts are for task {raw.get('task')!r}, not {task!r}")
        if "templates" in raw:
            templates = _templates(raw, file)
        given = _classes(raw.get("classes") or {}, classes, file)
    filled = {c: given.get(c) or ClassPrompts(c, (c.lower(),), c) for c in classes}
    return TaskPrompts(task, templates, filled, str(file or DEFAULT_FILE))


def _read(file: Path) -> dict:
    return read_yaml_mapping(file, what="prompt file", expected="a mapping with 'templates' and/or 'classes'")


def _templates(raw: dict, file: Path) -> tuple[str, ...]:
    templates = raw.get("templates")
    if not isinstance(templates, list) or not templates:
        raise InputError(f"{file}: 'templates' must be a non-empty list")
    bad = [t for t in templates if not isinstance(t, str) or t.count("{}") != 1]
    if bad:
        raise InputError(f"{file}: each template needs exactly one '{{}}' for the class phrase; bad: {bad[:3]}")
    return tuple(templates)


def _classes(raw: dict, classes: Sequence[str], file: Path) -> dict[str, ClassPrompts]:
    if not isinstance(raw, dict):
        raise InputError(f"{file}: 'classes' must map class name -> {{names, description}}")
    unknown = [c for c in raw if c not in classes]
    if unknown:
        raise InputError(f"{file}: unknown class name(s) {unknown}; the task's classes are {list(classes)}")
    out = {}
    for name, entry in raw.items():
        entry = entry or {}
        extra = set(entry) - CLASS_KEYS if isinstance(entry, dict) else {"<not a mapping>"}
        if extra:
            raise InputError(f"{file}: class {name!r}: unknown key(s) {sorted(extra)}; allowed: names, description")
        phrases = entry.get("names") or [name.lower()]
        if isinstance(phrases, str):
            phrases = [phrases]
        description = str(entry.get("description") or name)
        out[name] = ClassPrompts(name, tuple(str(p) for p in phrases), description)
    return out
