"""Text plumbing of the engine: normalisation, sections, sentences, clauses, cue overlap, pattern fixes."""
import pytest

from cxr.labeler.cues import CueFinder
from cxr.labeler.normalize import normalize
from cxr.labeler.patterns import ClauseAtoms, compile_pattern, sentence_keys, text_keys, words_of
from cxr.labeler.sections import select_sections, split_sections
from cxr.labeler.sentences import clauses, split_regex
from tests.labeler.engine_support import onto_dir  # noqa: F401  (fixture)


def sents(text: str) -> list[str]:
    return [text[a:b] for a, b in split_regex(text)]


# --- normalisation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["Dr. ___ saw it", "XXXX-year-old", "İstanbul EFFUSION", "a____b", ""])
def test_normalize_keeps_offsets(text):
    low = normalize(text)
    assert len(low) == len(text)
    assert "_" * 2 not in low


# --- sections -----------------------------------------------------------------------------------------------
MIMIC = """                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___ with fever, evaluate for pneumonia

 COMPARISON:  ___

 FINDINGS:

 Small left pleural effusion.

 IMPRESSION:

 Effusion, no pneumonia.
"""


def test_sections_of_a_mimic_report():
    names = [s.name for s in split_sections(MIMIC)]
    assert names == ["preamble", "examination", "indication", "comparison", "findings", "impression"]
    chosen = select_sections(MIMIC)
    assert [s.name for s in chosen] == ["findings", "impression"]
    assert MIMIC[chosen[0].start:chosen[0].end].strip() == "Small left pleural effusion."


def test_inline_open_i_style_headers_any_case():
    text = "Findings: Heart normal. impression: No acute disease. Indication: cough"
    assert [(s.name, text[s.start:s.end].strip()) for s in split_sections(text)] == [
        ("findings", "Heart normal."), ("impression", "No acute disease."), ("indication", "cough")]


def test_header_alone_on_its_line_without_colon():
    text = "IMPRESSION\n1. No pneumonia."
    assert [s.name for s in select_sections(text)] == ["impression"]


def test_a_wrapped_word_on_its_own_line_is_not_a_header():
    """A property test found it: "no\n exam" (a sentence wrapped before its last word) is one report,
    while a header line after a finished statement or a blank line still counts."""
    assert [s.name for s in split_sections("no \n exam")] == ["report"]
    assert [s.name for s in split_sections("No effusion.\nIMPRESSION\nclear")] == ["preamble", "impression"]
    assert [s.name for s in split_sections("some text\n\nFINDINGS\n x")] == ["preamble", "findings"]


def test_words_that_contain_a_header_are_not_headers():
    text = "Reindication: none. Prefindings: none."
    assert [s.name for s in split_sections(text)] == ["report"]


def test_headers_in_any_case_with_and_without_accents():
    """ASCII text is matched lower-cased, other text with the case-insensitive regex: both find the same."""
    for text, names in [("Hallazgos: derrame.\nIMPRESIÓN: neumonía", ["findings", "impression"]),
                        ("HALLAZGOS: derrame.\nimpresión : neumonía", ["findings", "impression"]),
                        ("x" * 60 + " Findings\t: clear. re-IMPRESSION: none", ["preamble", "findings"]),
                        ("é" + "x" * 60 + " Findings\t: clear. re-IMPRESSION: none", ["preamble", "findings"]),
                        ("IMPRESSIONſ: clear", ["report"])]:   # 'ſ' case-folds to 's': no crash
        assert [s.name for s in split_sections(text)] == names, text


def test_no_header_means_whole_report():
    text = "Lungs are clear."
    assert [(s.name, s.start, s.end) for s in select_sections(text)] == [("report", 0, len(text))]


# --- sentences ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("1. Bullous emphysema. 2. Probably scarring. 3. Small effusion.",
     ["1. Bullous emphysema.", "2. Probably scarring.", "3. Small effusion."]),
    ("Nodule measures 2.5 cm. No effusion.", ["Nodule measures 2.5 cm.", "No effusion."]),
    ("Dr. Smith was paged, i.e. at 5 p.m. today. Atelectasis vs. pneumonia.",
     ["Dr. Smith was paged, i.e. at 5 p.m. today.", "Atelectasis vs. pneumonia."]),
    ("Opacities in the apex.There is scarring.", ["Opacities in the apex.", "There is scarring."]),
    ("Lungs are clear\nwithout effusion.\n\nHeart normal", ["Lungs are clear\nwithout effusion.", "Heart normal"]),
    ("IMPRESSION:\n1. No pneumonia\n2. Stable heart", ["IMPRESSION:", "1. No pneumonia", "2. Stable heart"]),
    ("No acute process 2. Stable cardiomegaly", ["No acute process", "2. Stable cardiomegaly"]),
    ("Is there fluid? Yes! Small.", ["Is there fluid?", "Yes!", "Small."]),
    ("...  . ", []),
])
def test_sentence_split(text, expected):
    assert sents(text) == expected


def test_split_respects_start_end():
    text = "IGNORED. First one. Second one. IGNORED"
    assert [text[a:b] for a, b in split_regex(text, 9, 31)] == ["First one.", "Second one."]


def test_clauses_split_at_semicolons():
    text = "No pneumothorax; small effusion; "
    assert [text[a:b] for a, b in clauses(text, 0, len(text))] == ["No pneumothorax", " small effusion", " "]


def test_labeler_takes_any_splitter(onto_dir):
    from cxr.labeler.engine import Labeler
    from cxr.labeler.ontology import load_ontology

    def one_sentence(text, start=0, end=None):
        return [(start, len(text) if end is None else end)]
    lab = Labeler(load_ontology(onto_dir), splitter=one_sentence)
    res = lab.label("No effusion. Pneumothorax.")
    assert len(res.sentences) == 1 and res.values["pneumothorax"] == 0   # one scope: the negation spans both


# --- cues ---------------------------------------------------------------------------------------------------
def test_pseudo_negation_beats_negation_and_longer_cue_beats_shorter():
    finder = CueFinder({"negation_preceding": ("no", "no evidence of"), "pseudo_negation": ("no change",),
                        "uncertainty_following": ("cannot be excluded",), "negation_following": ("excluded",)})
    text = "no change. no evidence of x. y cannot be excluded."
    found = finder.find(text, 0, len(text), ClauseAtoms(finder.prefixes).of(text))
    assert [(text[c.start:c.end], c.cue.kind) for c in found] == [
        ("no change", "pseudo"), ("no evidence of", "negation"), ("cannot be excluded", "uncertainty")]


def test_a_pattern_in_both_directions_is_one_cue_acting_both_ways():
    finder = CueFinder({"uncertainty_preceding": ("versus",), "uncertainty_following": ("versus",)})
    found = finder.find("a versus b", 0, 10, {"a", "versus", "ver", "b"})
    assert len(found) == 1 and found[0].cue.directions == {"preceding", "following"}


# --- pattern compiler fixes the engine relies on ------------------------------------------------------------
@pytest.mark.parametrize("pattern,text,expected", [
    ("no (longer|more) seen", "is no longer seen", "no longer seen"),
    ("no (longer|more)", "is no longer", "no longer"),                  # alternation at the end
    ("(is|are) not (seen|identified)", "effusion is not seen.", "is not seen"),
    ("left [lower] lobe", "left lobe", "left lobe"),
])
def test_patterns_may_end_with_an_alternation(pattern, text, expected):
    m = compile_pattern(pattern).regex.search(text)
    assert m and m.group(0) == expected


def test_alternation_with_many_keys_is_still_indexed():
    cp = compile_pattern("(r/o|rule out|evaluate for|evaluation for|assess for)")
    assert cp.triggers == {"r", "rul", "eva", "ass"}


@pytest.mark.parametrize("text", ["x-ray of the t-spine 2.5cm; pneumothoraces", "ÇA effusion_b", ""])
def test_text_keys_equal_sentence_keys(text):
    low = text.lower()
    assert text_keys(low) == sentence_keys(words_of(low))
