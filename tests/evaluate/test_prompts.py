"""Prompt YAML: every shipped task has complete prompts; bad files fail with one clear message."""
from __future__ import annotations

import pytest

from cxr.evaluate.prompts import PROMPTS_DIR, load_prompts
from cxr.evaluate.tasks import TASKS, get_task
from cxr.core.errors import InputError


def test_every_task_has_prompts_for_exactly_its_classes():
    import yaml

    files = {p.stem for p in PROMPTS_DIR.glob("*.yaml")} - {"default"}
    assert files == set(TASKS.names())
    for name in TASKS.names():
        raw = yaml.safe_load((PROMPTS_DIR / f"{name}.yaml").read_text())
        assert raw["task"] == name
        assert list(raw["classes"]) == list(get_task(name).classes), name
        assert all(entry.get("description") for entry in raw["classes"].values()), name


def test_ensemble_is_templates_times_phrases_plus_description():
    p = load_prompts("covid", list(get_task("covid").classes))
    texts = p["COVID"].texts(p.templates)
    assert "a radiology image of covid-19" in texts
    assert texts[-1].startswith("Patchy or confluent")
    assert len(texts) == len(p.templates) * len(p["COVID"].phrases) + 1


def test_user_task_without_prompt_file_uses_class_names():
    p = load_prompts("my_task", ["Effusion"])
    assert p["Effusion"].texts(p.templates)[0] == "a radiology image of effusion"


@pytest.mark.parametrize("body,match", [
    ("task: rsna\nclasses:\n  Pnemonia: {description: x}\n", r"unknown class name\(s\) \['Pnemonia'\]"),
    ("task: other\n", "prompts are for task 'other', not 'rsna'"),
    ("templates: ['no placeholder']\n", "exactly one"),
    ("classes:\n  Pneumonia: {descripton: x}\n", "unknown key"),
    ("- a list\n", "expected a mapping"),
])
def test_bad_prompt_files(tmp_path, body, match):
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(InputError, match=match):
        load_prompts("rsna", ["No Finding", "Pneumonia"], path)
