"""The ontology loader: schema errors name file, line and label; graph queries; projections."""
import math
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from cxr.core.errors import OntologyError
from cxr.labeler.ontology import OWN_VOCABULARY, check_ontology, combine, load_ontology, strongest

CUES = textwrap.dedent("""\
    negation_preceding: ["no"]
    negation_following: ["is not seen"]
    uncertainty_preceding: ["possible"]
    uncertainty_following: ["cannot be excluded"]
    pseudo_negation: ["no change"]
    terminators: ["but"]
    resolution: ["resolved"]
    history: ["stable"]
""")

LABELS = textwrap.dedent("""\
    kind: finding
    labels:
      - name: radiological finding
        synonyms: []
      - name: pleural effusion
        cui: C2073625
        parents: [radiological finding]
        synonyms: [pleural effusion*, effusion*]
        exclusions: [pericardial effusion*]
        description: Fluid in the pleural space.
      - name: pneumothorax
        parents: [radiological finding]
        synonyms: [pneumothora*]
      - name: hydropneumothorax
        parents: [pneumothorax, pleural effusion]
        synonyms: [hydropneumothora*]
""")

PROJ = textwrap.dedent("""\
    name: mini
    description: a test projection
    labels:
      Effusion: [pleural effusion]
      Air: [pneumothorax, hydropneumothorax]
""")


def write_ontology(root: Path, labels: str = LABELS, cues: str = CUES, proj: str = PROJ) -> Path:
    (root / "labels").mkdir(parents=True)
    (root / "projections").mkdir()
    (root / "labels" / "lungs.yaml").write_text(labels)
    (root / "cues.yaml").write_text(cues)
    (root / "projections" / "mini.yaml").write_text(proj)
    return root


def test_valid_ontology_loads_with_dag_queries(tmp_path):
    onto = load_ontology(write_ontology(tmp_path))
    assert onto.vocabulary() == ["radiological finding", "pleural effusion", "pneumothorax", "hydropneumothorax"]
    assert set(onto.parents("hydropneumothorax")) == {"pneumothorax", "pleural effusion"}
    assert set(onto.ancestors("hydropneumothorax")) == {"pneumothorax", "pleural effusion", "radiological finding"}
    assert onto.children("pleural effusion") == ["hydropneumothorax"]
    assert set(onto.descendants("radiological finding")) == {"pleural effusion", "pneumothorax", "hydropneumothorax"}
    assert onto["pleural effusion"].where.line == 5
    assert onto.description("pneumothorax") == "pneumothorax"  # falls back to the name
    assert onto.vocabulary("mini") == ["Effusion", "Air"]


def test_combine_precedence():
    assert combine([0, -1, 1]) == 1
    assert combine([0, -1]) == -1
    assert combine([0, float("nan")]) == 0
    assert math.isnan(combine([None, float("nan")]))


def test_strongest_is_the_one_precedence_rule():
    order = [None, 0, -1, 1]   # weakest first
    for i, old in enumerate(order):
        for new in order[1:]:
            assert strongest(old, new) == (new if order.index(new) > i else old)


def test_own_vocabulary_is_the_identity_projection_of_the_labels(tmp_path):
    labels = LABELS + ("  - name: tension pneumothorax\n    parents: [pneumothorax]\n"
                       "    synonyms: [tension pneumothora*]\n")
    onto = load_ontology(write_ontology(tmp_path, labels=labels))
    own = onto.projection(OWN_VOCABULARY)
    assert own.identity and not onto.projection("mini").identity
    assert own.targets == {n: (n,) for n in onto.labels}      # follows the label files, no file of its own
    assert onto.vocabulary(OWN_VOCABULARY)[-1] == "tension pneumothorax"
    assert onto.vocabularies == [OWN_VOCABULARY, "mini"]
    values = {"tension pneumothorax": 1, "pneumothorax": 1, "pleural effusion": 0}
    out = onto.project(values, OWN_VOCABULARY, values)
    assert list(out) == list(onto.labels)
    assert {k: v for k, v in out.items() if not math.isnan(v)} == values


def test_a_projection_file_may_not_take_the_own_vocabulary_name(tmp_path):
    root = write_ontology(tmp_path, proj=PROJ.replace("name: mini", f"name: {OWN_VOCABULARY}"))
    assert any("is reserved" in p for p in check_ontology(root))


def test_projection_precedence(tmp_path):
    onto = load_ontology(write_ontology(tmp_path))
    out = onto.project({"pneumothorax": 0, "hydropneumothorax": -1}, "mini")
    assert out["Air"] == -1 and math.isnan(out["Effusion"])
    import pandas as pd
    frame = pd.DataFrame({"pleural effusion": [1, float("nan")], "pneumothorax": [0, 1],
                          "hydropneumothorax": [float("nan"), -1]})
    proj = onto.project_frame(frame, "mini")
    assert proj["Effusion"].tolist()[0] == 1 and math.isnan(proj["Effusion"].tolist()[1])
    assert proj["Air"].tolist() == [0, 1]


@pytest.mark.parametrize("edit,expected", [
    (lambda s: s.replace("parents: [pneumothorax, pleural effusion]", "parents: [pneumothorax, pleural fluid]"),
     "unknown parent 'pleural fluid'"),
    (lambda s: s.replace("parents: [radiological finding]\n    synonyms: [pneumothora*]",
                         "parents: [hydropneumothorax]\n    synonyms: [pneumothora*]"),
     "parent cycle"),
    (lambda s: s.replace("[hydropneumothora*]", "[hydropneumothora*, (bad|]"), "unexpected end"),
    (lambda s: s + "  - name: pneumothorax\n    synonyms: []\n", "duplicate label 'pneumothorax'"),
    (lambda s: s.replace("[pneumothora*]", "[pneumothora*, effusion*]"), "also claimed by unrelated label"),
    (lambda s: s.replace("cui: C2073625", "cui: 2073625"), "is not a UMLS CUI"),
    (lambda s: s.replace("    synonyms: [pneumothora*]\n", ""), "'synonyms' is required"),
    (lambda s: s.replace("description: Fluid", "descripton: Fluid"), "unknown key(s) ['descripton']"),
    (lambda s: s.replace("labels:\n  - name: radiological", "labels:\n  - name: [radiological"), "YAML syntax error"),
])
def test_errors_name_file_line_and_label(tmp_path, edit, expected):
    root = write_ontology(tmp_path, labels=edit(LABELS))
    problems = check_ontology(root)
    assert any(expected in p for p in problems), problems
    assert all("lungs.yaml" in p for p in problems if expected in p)
    with pytest.raises(OntologyError):
        load_ontology(root)


def test_child_may_restate_its_parents_synonym(tmp_path):
    labels = LABELS.replace("[hydropneumothora*]", "[hydropneumothora*, effusion*]")
    assert check_ontology(write_ontology(tmp_path, labels=labels)) == []


def test_projection_to_unknown_label_is_reported(tmp_path):
    root = write_ontology(tmp_path, proj=PROJ.replace("[pleural effusion]", "[pleural efusion]"))
    assert any("unknown label 'pleural efusion'" in p and "mini.yaml" in p for p in check_ontology(root))


DIRECT_PROJ = PROJ.replace("Air: [pneumothorax, hydropneumothorax]", "Air:\n    direct: [pneumothorax]")


def test_direct_target_reads_the_stated_values(tmp_path):
    onto = load_ontology(write_ontology(tmp_path, proj=DIRECT_PROJ))
    proj = onto.projections["mini"]
    assert proj.direct == {"Air"} and proj.targets["Air"] == ("pneumothorax",)
    assert onto.vocabulary("mini") == ["Effusion", "Air"]
    # propagated: hydropneumothorax made pneumothorax positive; stated: pneumothorax never mentioned
    values = {"hydropneumothorax": 1, "pneumothorax": 1, "pleural effusion": 1}
    stated = {"hydropneumothorax": 1}
    out = onto.project(values, "mini", stated)
    assert math.isnan(out["Air"]) and out["Effusion"] == 1     # plain targets still read the propagated values
    assert onto.project(values, "mini")["Air"] == 1            # without ``direct``: the propagated values
    assert onto.project(values, "mini", {"pneumothorax": 0})["Air"] == 0


@pytest.mark.parametrize("target,expected", [
    ("Air:\n    direkt: [pneumothorax]", "one of 'direct' or 'sources'"),
    ("Air:\n    direct: [pneumothorax]\n    also: [pleural effusion]", "one of 'direct' or 'sources'"),
    ("Air:\n    direct: []", "'direct' needs at least one label"),
    ("Air:\n    direct: [pneumothorx]", "unknown label 'pneumothorx'"),
])
def test_direct_target_errors_name_file_and_line(tmp_path, target, expected):
    root = write_ontology(tmp_path, proj=PROJ.replace("Air: [pneumothorax, hydropneumothorax]", target))
    problems = check_ontology(root)
    hits = [p for p in problems if expected in p]
    assert hits, problems
    assert all("mini.yaml:5:" in p and "'Air'" in p for p in hits), hits


def test_missing_cue_list_and_unknown_vocabulary(tmp_path):
    root = write_ontology(tmp_path, cues=CUES.replace('history: ["stable"]\n', ""))
    assert any("missing cue list 'history'" in p for p in check_ontology(root))
    onto = load_ontology(write_ontology(tmp_path / "ok"))
    with pytest.raises(OntologyError, match="unknown vocabulary 'nih'"):
        onto.vocabulary("nih")


def test_uncertain_sources_and_omit_negative(tmp_path):
    proj = PROJ.replace("Effusion: [pleural effusion]",
                        "Effusion:\n    sources: [pleural effusion]\n    uncertain: [pneumothorax]\n"
                        "    omit_negative: true")
    onto = load_ontology(write_ontology(tmp_path, proj=proj))
    p = onto.projections["mini"]
    assert p.targets["Effusion"] == ("pleural effusion", "pneumothorax")
    assert p.capped == {"Effusion": frozenset({"pneumothorax"})} and p.omit_negative == {"Effusion"}
    assert onto.project({"pneumothorax": 1}, "mini")["Effusion"] == -1      # capped at uncertain
    assert onto.project({"pneumothorax": 1, "pleural effusion": 1}, "mini")["Effusion"] == 1
    assert math.isnan(onto.project({"pleural effusion": 0}, "mini")["Effusion"])   # never 0
    frame = pd.DataFrame({"pleural effusion": [0.0, float("nan")], "pneumothorax": [float("nan"), 1.0]})
    out = onto.project_frame(frame, "mini")["Effusion"].tolist()
    assert math.isnan(out[0]) and out[1] == -1


def test_hedging_is_lenient_or_strict(tmp_path):
    onto = load_ontology(write_ontology(tmp_path, proj="hedging: strict\n" + PROJ))
    assert onto.projections["mini"].hedging == "strict" and onto.projection("padchest").hedging == "lenient"
    root = write_ontology(tmp_path / "bad", proj="hedging: maybe\n" + PROJ)
    assert any("'hedging' is 'lenient' or 'strict'" in p for p in check_ontology(root))
