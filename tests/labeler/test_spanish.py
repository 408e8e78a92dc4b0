"""Spanish in the ontology and the engine: the loader's language fields and checks, accent folding,
language detection, the Spanish engine (offsets, auto), the spaCy component on a Spanish pipeline and the
PadChest pre-training source relabelled from its reports."""
import textwrap

import pytest

from cxr.core.errors import InputError, OntologyError
from cxr.labeler.engine import Labeler
from cxr.labeler.language import detect_language
from cxr.labeler.normalize import normalize
from cxr.labeler.ontology import check_ontology, fold_accents, load_ontology
from tests.labeler.test_ontology_loader import CUES, LABELS, write_ontology

CUES_ES = textwrap.dedent("""\
    negation_preceding: ["no [se] observa*", "sin"]
    negation_following: ["no se observa*"]
    uncertainty_preceding: ["posibl*"]
    uncertainty_following: ["dudos*"]
    pseudo_negation: ["sin cambios"]
    terminators: ["pero"]
    resolution: ["resolucion"]
    history: ["persist*"]
""")

LABELS_ES = LABELS.replace(
    "    description: Fluid in the pleural space.\n",
    "    description: Fluid in the pleural space.\n"
    "    es:\n      synonyms: [derram*, \"(liquido|líquido) pleural*\"]\n      exclusions: [\"derram* pericárdic*\"]\n"
).replace("    synonyms: [pneumothora*]\n",
          "    synonyms: [pneumothora*]\n    es: {synonyms: [neumotórax]}\n")


def spanish_ontology(root, labels=LABELS_ES, cues_es=CUES_ES):
    write_ontology(root, labels=labels, cues=CUES)
    if cues_es is not None:
        (root / "cues_es.yaml").write_text(cues_es)
    return root


def test_language_fields_load_beside_english(tmp_path):
    onto = load_ontology(spanish_ontology(tmp_path))
    assert onto.languages == ["en", "es"]
    eff = onto["pleural effusion"]
    assert eff.synonyms == ("pleural effusion*", "effusion*")          # English unchanged
    assert eff.synonyms_in("es") == ("derram*", "(liquido|líquido) pleural*")
    assert eff.exclusions_in("es") == ("derram* pericárdic*",)
    es = onto.in_language("es")
    # the view the engine compiles: Spanish patterns, accents folded, same tree and projections
    assert es["pneumothorax"].synonyms == ("neumotorax",)
    assert es["pleural effusion"].exclusions == ("derram* pericardic*",)
    assert es.cues["negation_preceding"] == ("no [se] observa*", "sin") and es.projections is onto.projections
    assert es.in_language("en") is onto and onto.in_language("es") is es


@pytest.mark.parametrize("edit,expected", [
    (lambda s: s.replace("[neumotórax]", "[neumotórax, (mal|]"), "label 'pneumothorax' (es): pattern"),
    (lambda s: s.replace("es: {synonyms: [neumotórax]}", "es: [neumotórax]"), "'es' must be a mapping"),
    (lambda s: s.replace("es: {synonyms: [neumotórax]}", "es: {sinonimos: [neumotorax]}"),
     "unknown key(s) ['sinonimos']"),
    (lambda s: s.replace("[neumotórax]", "[neumotórax, derram*]"),
     "also claimed by unrelated label 'pleural effusion' "),
])
def test_language_errors_name_file_line_label_and_language(tmp_path, edit, expected):
    problems = check_ontology(spanish_ontology(tmp_path, labels=edit(LABELS_ES)))
    hits = [p for p in problems if expected in p]
    assert hits and all("lungs.yaml:" in p for p in hits), problems


def test_spanish_synonyms_need_the_spanish_cue_file(tmp_path):
    problems = check_ontology(spanish_ontology(tmp_path, cues_es=None))
    assert any("lungs.yaml:" in p and "no cues_es.yaml" in p for p in problems), problems
    with pytest.raises(OntologyError, match="language 'es' not available"):
        load_ontology(tmp_path, check=False).in_language("es")


def test_spanish_cue_file_is_validated(tmp_path):
    problems = check_ontology(spanish_ontology(tmp_path, cues_es=CUES_ES.replace('["pero"]', '["(pero"]')))
    assert any("cues_es.yaml: cue list 'terminators'" in p for p in problems), problems
    problems = check_ontology(spanish_ontology(tmp_path / "b", cues_es=CUES_ES.replace("history:", "historia:")))
    assert any("cues_es.yaml: missing cue list 'history'" in p for p in problems), problems


def test_fold_accents_keeps_offsets():
    text = "Pequeño DERRAME pleural; NEUMOTÓRAX ápical, pingüino"
    folded = fold_accents(text.lower())
    assert folded == "pequeno derrame pleural; neumotorax apical, pinguino" and len(folded) == len(text)
    assert normalize(text, fold=True) == folded and normalize(text) == text.lower()


@pytest.mark.parametrize("text,language", [
    ("No se observa derrame pleural. Silueta cardiaca normal.", "es"),
    ("sin hallazg patolog .", "es"),
    ("derram pleural bilateral con pinzamient sen costofren .", "es"),
    ("FINDINGS: No pleural effusion. Possible pneumonia.", "en"),
    ("The lungs are clear. Heart size is normal.", "en"),
    ("", "en"),
])
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_spanish_engine_on_plain_and_stemmed_text(tmp_path):
    onto = load_ontology(spanish_ontology(tmp_path))
    lab = Labeler(onto, language="es")
    text = "Derrame pleural derecho. No se observa neumotórax."
    res = lab.label(text)
    assert res.values["pleural effusion"] == 1 and res.values["pneumothorax"] == 0 and res.language == "es"
    ptx = next(m for m in res.mentions if m.label == "pneumothorax")
    assert text[ptx.span[0]:ptx.span[1]] == ptx.text == "neumotórax" and ptx.cue == "no se observa"
    assert lab.label("derram pericardic .").values.get("pleural effusion") is None   # the exclusion
    assert lab.label("posibl derram .").values["pleural effusion"] == -1
    # the English engine does not read Spanish, and the other way round
    assert "pleural effusion" not in Labeler(onto).label(text).values
    assert "pleural effusion" not in lab.label("Small pleural effusion.").values


def test_padchest_sentence_splitting():
    """PadChest separates sentences with " . " and leaves runs of empty ones (". . . .")."""
    from cxr.labeler.sentences import split_regex

    text = ". . radiografi torax . . . . sin hallazg patolog . derram pleural 2.5 cm ."
    assert [text[a:b] for a, b in split_regex(text)] == [
        "radiografi torax .", "sin hallazg patolog .", "derram pleural 2.5 cm ."]


def test_spanish_section_headers():
    """The indication ("descartar neumonía") is a request, not a finding; the findings are read."""
    lab = Labeler(load_ontology(), language="es")
    res = lab.label("Motivo de consulta: descartar neumonía.\nHallazgos: Derrame pleural izquierdo.\n"
                    "Conclusión: sin neumotórax.")
    assert "pneumonia" not in res.values
    assert res.values["pleural effusion"] == 1 and res.values["pneumothorax"] == 0


def test_auto_decides_per_report(tmp_path):
    onto = load_ontology(spanish_ontology(tmp_path))
    lab = Labeler(onto, language="auto")
    en, es = lab.label("There is no pleural effusion."), lab.label("No se observa derrame pleural.")
    assert (en.language, en.values["pleural effusion"]) == ("en", 0)
    assert (es.language, es.values["pleural effusion"]) == ("es", 0)
    with pytest.raises(OntologyError, match="language 'fr'"):
        Labeler(onto, language="fr")


def test_spacy_component_on_a_spanish_pipeline():
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("es")
    nlp.add_pipe("cxr_labeler")
    doc = nlp("No se observa derrame pleural. Posible neumonía basal izquierda.")
    got = {(e.label_, e._.status, e._.negex) for e in doc.ents}
    assert ("pleural effusion", 0, True) in got and ("pneumonia", -1, False) in got
    assert doc._.cxr_labels["pleural effusion"] == 0 and doc._.cxr_labels["pneumonia"] == -1


def test_padchest_source_relabelled_from_its_reports(tmp_path):
    from cxr.pretrain.data.sources import read_source
    from tests.datasets.official_files import write_padchest

    onto = load_ontology()
    write_padchest(tmp_path)
    physician = read_source("padchest", tmp_path, onto).frame
    reports = read_source("padchest", tmp_path, onto, labels="reports").frame
    assert physician["path"].tolist() == reports["path"].tolist()
    # row a: report "derrame pleural", physicians also coded a lobar atelectasis the text does not state
    assert physician.loc[0, "lobar atelectasis"] == 1 and reports.loc[0, "lobar atelectasis"] != 1
    assert reports.loc[0, "pleural effusion"] == 1 and reports.loc[0, "normal"] == 0
    assert reports.loc[1, "normal"] == 1
    with pytest.raises(InputError, match="labels must be one of physician, reports"):
        read_source("padchest", tmp_path, onto, labels="rnn")


def test_relabelled_padchest_follows_an_edited_ontology(tmp_path):
    """The reason for relabelling: a label a user adds to the ontology reaches PadChest's rows."""
    from cxr.pretrain.data.sources import read_source
    from tests.datasets.official_files import write_padchest

    added = LABELS_ES + ("  - name: free pleural fluid\n    parents: [pleural effusion]\n    synonyms: [free fluid]\n"
                         "    es: {synonyms: [derrame pleural]}\n")
    onto = load_ontology(spanish_ontology(tmp_path / "onto", labels=added))
    write_padchest(tmp_path / "padchest")
    physician = read_source("padchest", tmp_path / "padchest", onto).frame
    reports = read_source("padchest", tmp_path / "padchest", onto, labels="reports").frame
    assert physician["free pleural fluid"].isna().all()
    assert reports["free pleural fluid"].tolist()[0] == 1 and reports["pleural effusion"].tolist()[0] == 1
