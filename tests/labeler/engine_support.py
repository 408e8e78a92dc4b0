"""Shared fixtures of the labeling-engine tests: the fixture ontology (small, its own synonyms) with the
shipped cue list, since the cues are what the engine tests exercise."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import load_ontology

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "ontology"
SHIPPED_CUES = REPO / "ontology" / "cues.yaml"


def build_fixture_ontology(dest: Path) -> Path:
    """A copy of the fixture labels/projections plus the shipped cues.yaml, in ``dest``."""
    shutil.copytree(FIXTURE / "labels", dest / "labels")
    shutil.copytree(FIXTURE / "projections", dest / "projections")
    shutil.copy(SHIPPED_CUES, dest / "cues.yaml")
    return dest


@pytest.fixture(scope="session")
def onto_dir(tmp_path_factory) -> Path:
    return build_fixture_ontology(tmp_path_factory.mktemp("onto"))


@pytest.fixture(scope="session")
def onto(onto_dir):
    return load_ontology(onto_dir)


@pytest.fixture(scope="session")
def labeler(onto) -> Labeler:
    return Labeler(onto)
