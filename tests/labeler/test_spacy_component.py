"""The spaCy component ``cxr_labeler``: spans, statuses, negspacy's ``negex``, doc-level labels equal to the
engine's, a user's own pipeline, and discovery through the ``spacy_factories`` entry point."""
import subprocess
import sys
import textwrap

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Span

from cxr.labeler.engine import Labeler
from cxr.labeler.ontology import load_ontology
from cxr.labeler.spacy_component import SPANS_KEY, CxrLabeler

REPORT = "No pleural effusion. Possible left lower lobe pneumonia."
SECTIONED = ("INDICATION: Cough, rule out pneumonia.\n\nFINDINGS: No pleural effusion. Possible left lower lobe "
             "pneumonia. Pacemaker with a single lead.\n\nIMPRESSION: Cardiomegaly.")


@pytest.fixture(scope="module")
def nlp():
    nlp = spacy.blank("en")
    nlp.add_pipe("cxr_labeler")
    return nlp


def by_label(spans):
    return {s.label_: s for s in spans}


def test_mentions_carry_label_status_cue_rule_and_negex(nlp):
    doc = nlp(REPORT)
    ents = by_label(doc.ents)
    effusion, pneumonia = ents["pleural effusion"], ents["pneumonia"]
    assert effusion.text == "effusion" and effusion._.status == 0 and effusion._.negex is True
    assert effusion._.cue.lower() == "no"
    assert effusion._.rule and effusion._.pattern
    assert pneumonia.text == "pneumonia" and pneumonia._.status == -1 and pneumonia._.negex is False
    assert pneumonia._.cue.lower() == "possible"
    assert doc._.cxr_labels["pleural effusion"] == 0 and doc._.cxr_labels["pneumonia"] == -1


def test_whole_report_with_sections_and_overlapping_mentions(nlp):
    doc = nlp(SECTIONED)
    res = Labeler(load_ontology()).label(SECTIONED)
    group = doc.spans[SPANS_KEY]
    # every engine mention, at the engine's offsets (the indication is not read: no mention there)
    assert [(s.start_char, s.end_char, s.label_, s._.status) for s in group] == \
        [(m.span[0], m.span[1], m.label, m.status) for m in res.mentions]
    assert all(s.start_char > SECTIONED.index("FINDINGS") for s in group)
    # "Pacemaker with a single lead" and "Pacemaker" overlap: both in the group, the longest in doc.ents
    labels = {s.label_ for s in group}
    assert {"single chamber device", "pacemaker"} <= labels
    ents = by_label(doc.ents)
    assert "single chamber device" in ents and "pacemaker" not in ents
    assert ents["cardiomegaly"]._.status == 1 and ents["cardiomegaly"]._.negex is False
    # the extensions read the same through doc.ents and the span group
    assert ents["pleural effusion"]._.negex is True
    assert by_label(group)["pacemaker"]._.status == 1
    assert doc._.cxr_labels == res.values


@pytest.mark.parametrize("vocabulary", ["padchest", "chexpert", "chestxray14"])
def test_doc_labels_equal_the_engines_values(vocabulary):
    nlp = spacy.blank("en")
    nlp.add_pipe("cxr_labeler", config={"vocabulary": vocabulary})
    lab = Labeler(load_ontology())
    texts = [REPORT, SECTIONED, "Right lower lobe infiltrate. Heart size is normal.", "", "Clear lungs."]
    for doc, text, row in zip(nlp.pipe(texts), texts, lab.label_many(texts, vocabulary)):
        expected = {k: int(v) for k, v in row.items() if v == v}
        assert doc._.cxr_labels == expected, text


def test_runs_after_a_users_own_components_and_keeps_their_entities():
    @Language.component("test_user_ner")
    def user_ner(doc):
        doc.ents = [Span(doc, 0, 1, label="USER")]   # "Possible"
        return doc

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("test_user_ner")
    nlp.add_pipe("cxr_labeler")
    assert nlp.pipe_names == ["sentencizer", "test_user_ner", "cxr_labeler"]
    doc = nlp("Possible pneumonia. No pneumothorax.")
    assert [(e.text, e.label_) for e in doc.ents] == [("Possible", "USER"), ("pneumonia", "pneumonia"),
                                                     ("pneumothorax", "pneumothorax")]
    assert len(list(doc.sents)) == 2
    assert [s._.status for s in doc.spans[SPANS_KEY]] == [-1, 0]


def test_beside_negspacy_negex():
    """negspacy registers ``negex`` too; both components run in one pipeline without a clash."""
    pytest.importorskip("negspacy")
    from negspacy.negation import Negex  # noqa: F401  (registers the "negex" factory)

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("cxr_labeler")
    nlp.add_pipe("negex")
    doc = nlp("No pleural effusion. Possible left lower lobe pneumonia.")
    assert [(e.label_, e._.negex) for e in doc.ents] == [("pleural effusion", True), ("pneumonia", False)]


def test_pipeline_saves_and_loads_with_its_config(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("cxr_labeler", config={"vocabulary": "chexpert", "sections": ["impression"]})
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == ["cxr_labeler"]
    doc = loaded(SECTIONED)
    row, = Labeler(load_ontology(), sections=("impression",)).label_many([SECTIONED], "chexpert")
    assert doc._.cxr_labels == {k: int(v) for k, v in row.items() if v == v}
    assert doc._.cxr_labels["Cardiomegaly"] == 1 and "Pleural Effusion" not in doc._.cxr_labels


def test_unknown_vocabulary_fails_when_added():
    nlp = spacy.blank("en")
    with pytest.raises(Exception, match="nope"):
        nlp.add_pipe("cxr_labeler", config={"vocabulary": "nope"})


def test_wraps_a_given_labeler():
    lab = Labeler(load_ontology(), sections=("impression",))
    comp = CxrLabeler(spacy.blank("en"), labeler=lab)
    doc = comp(spacy.blank("en")(SECTIONED))
    assert [s.label_ for s in doc.spans[SPANS_KEY]] == ["cardiomegaly"]


def test_entry_point_finds_the_factory_without_importing_cxr(tmp_path):
    code = textwrap.dedent("""
        import sys, spacy
        assert not any(m == "cxr" or m.startswith("cxr.") for m in sys.modules)
        nlp = spacy.blank("en")
        nlp.add_pipe("cxr_labeler", config={"vocabulary": "chexpert"})
        doc = nlp("No pleural effusion. Possible left lower lobe pneumonia.")
        print(doc._.cxr_labels["Pleural Effusion"], doc._.cxr_labels["Pneumonia"],
              [(e.label_, e._.negex) for e in doc.ents])
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 -1 [('pleural effusion', True), ('pneumonia', False)]"
