"""Golden sentences through the engine (fixture ontology + shipped cues): one case per cue type, per
organ system, and per overlap/aggregation rule. NaN-free convention: a label absent from ``values`` is
'not mentioned' (None below)."""
import math

import pandas as pd
import pytest

from cxr.labeler.engine import Labeler
from tests.labeler.engine_support import labeler, onto, onto_dir  # noqa: F401  (fixtures)

N = None  # not mentioned


def check(lab: Labeler, text: str, expected: dict) -> None:
    values = lab.label(text).values
    got = {k: values.get(k) for k in expected}
    assert got == expected, f"{text!r}: {got} != {expected}"


@pytest.mark.parametrize("text,expected", [
    # negation, preceding, with list scope
    ("No pleural effusion or pneumothorax.", {"pleural effusion": 0, "pneumothorax": 0}),
    ("No focal consolidation, pleural effusion, or pneumothorax.",
     {"consolidation": 0, "pleural effusion": 0, "pneumothorax": 0}),
    ("The lungs are clear without evidence of focal consolidation, pleural effusion or pneumothorax.",
     {"consolidation": 0, "pleural effusion": 0, "pneumothorax": 0}),
    ("Negative for pneumonia.", {"pneumonia": 0}),
    ("There are no XXXX of a pleural effusion.", {"pleural effusion": 0}),
    # negation, following
    ("Pneumothorax is not seen.", {"pneumothorax": 0}),
    ("Focal consolidation, pleural effusion, or pneumothorax is not identified.",
     {"consolidation": 0, "pleural effusion": 0, "pneumothorax": 0}),
    ("The heart is not enlarged.", {"cardiomegaly": 0}),           # cue inside the mention span
    # uncertainty
    ("Possible small left effusion.", {"pleural effusion": -1}),
    ("Findings may represent early pneumonia.", {"pneumonia": -1}),
    ("Pneumonia cannot be excluded.", {"pneumonia": -1}),           # hedge over a negation word
    ("Cannot exclude a small pneumothorax.", {"pneumothorax": -1}),
    ("Infection is not ruled out.", {"pneumonia": -1}),
    ("Atelectasis versus pneumonia.", {"atelectasis": 1, "pneumonia": 1}),   # the dev gold codes both
    ("Opacity, concerning for pneumonia.", {"increased density": 1, "pneumonia": -1}),
    # negation outside a hedge stays a negation
    ("No suspicious nodule or consolidation.", {"nodule": 0, "consolidation": 0}),
    ("No focal opacity to suggest pneumonia.", {"increased density": 0, "pneumonia": 0}),
    # pseudo-negation does not negate
    ("Left midlung opacity, not seen on prior.", {"increased density": 1}),
    ("No change in moderate cardiomegaly.", {"cardiomegaly": 1}),
    ("No significant interval change in the small left pleural effusion.", {"pleural effusion": 1}),
    ("Without change, small hiatal hernia.", {"hiatal hernia": 1}),
    # resolution -> negative; history -> positive
    ("Interval resolution of the right pneumothorax.", {"pneumothorax": 0}),
    ("The right pneumothorax has resolved.", {"pneumothorax": 0}),
    ("The endotracheal tube has been removed.", {"endotracheal tube": 0}),
    ("The nasogastric tube is no longer seen.", {"nasogastric tube": 0}),
    ("Stable left PICC.", {"central venous catheter": 1, "catheter": 1}),
    ("Cardiomegaly is again seen.", {"cardiomegaly": 1}),
    # terminators and scope ends
    ("No pneumothorax, but there is a small left effusion.", {"pneumothorax": 0, "pleural effusion": 1}),
    ("Small effusion, no pneumothorax.", {"pleural effusion": 1, "pneumothorax": 0}),
    ("No pneumothorax; small right effusion.", {"pneumothorax": 0, "pleural effusion": 1}),
    ("No pneumothorax, stable cardiomegaly.", {"pneumothorax": 0, "cardiomegaly": 1}),
    ("No effusion and the heart is enlarged.", {"pleural effusion": 0, "cardiomegaly": 1}),
    ("No acute process. Pleural effusion.", {"pleural effusion": 1}),     # scope ends with the sentence
    # "no" inside words / other phrases is not a cue
    ("Pneumonia in the left lower lobe, not only the right.", {"pneumonia": 1}),
    ("Nodule in the right upper lobe.", {"nodule": 1}),
    # organ systems: pleura, heart, lungs, bones, devices, abdomen
    ("Large right pleural effusion.", {"pleural effusion": 1}),
    ("Pericardial effusion.", {"pericardial effusion": 1, "pleural effusion": N}),   # exclusion
    ("The cardiac silhouette is enlarged.", {"cardiomegaly": 1}),
    ("Left lower lobe atelectasis.", {"atelectasis": 1}),
    ("Mild pulmonary edema.", {"pulmonary edema": 1}),
    ("Emphysema.", {"emphysema": 1}),
    ("Subcutaneous emphysema in the neck.", {"emphysema": N}),                      # exclusion
    ("Acute fractures of the left sixth and seventh ribs.", {"fracture": 1}),
    ("Healed left rib fractures.", {"rib fracture": 1, "fracture": 1}),
    ("Mild scoliosis.", {"scoliosis": 1}),
    ("Dual-chamber pacemaker in place.", {"electrical device": 1}),
    ("Endotracheal tube terminates 4 cm above the carina.", {"endotracheal tube": 1}),
    ("Small hiatal hernia.", {"hiatal hernia": 1}),
    ("Tortuous aorta.", {"aortic elongation": 1}),
])
def test_golden_sentences(labeler, text, expected):
    check(labeler, text, expected)


def test_case_and_whitespace_do_not_matter(labeler):
    a = labeler.label("No pleural effusion. Possible pneumonia.").values
    b = labeler.label("NO   PLEURAL\nEFFUSION.   possible PNEUMONIA.").values
    assert a == b and a["pleural effusion"] == 0 and a["pneumonia"] == -1


# --- overlaps ------------------------------------------------------------------------------------------
def test_longest_mention_wins_and_parents_come_back(labeler):
    res = labeler.label("Calcified granuloma in the right upper lobe.")
    assert [m.label for m in res.mentions] == ["calcified granuloma"]     # "granuloma" inside is dropped
    assert res.values["granuloma"] == 1 and res.values["calcified densities"] == 1   # by propagation


def test_exclusion_blocks_only_its_own_label(labeler):
    res = labeler.label("Small pericardial effusion and a right pleural effusion.")
    assert res.values["pericardial effusion"] == 1
    assert res.values["pleural effusion"] == 1          # the second mention is not excluded


def test_hydropneumothorax_is_not_a_pneumothorax_mention(labeler):
    res = labeler.label("Right hydropneumothorax.")
    assert [m.label for m in res.mentions] == ["hydropneumothorax"]


# --- aggregation ---------------------------------------------------------------------------------------
def test_precedence_within_a_report(labeler):
    assert labeler.label("No left effusion. Small right effusion.").values["pleural effusion"] == 1
    assert labeler.label("No left effusion. Possible right effusion.").values["pleural effusion"] == -1


def test_positive_and_uncertain_propagate_up_negative_does_not(labeler):
    pos = labeler.label("Calcified granuloma.").values
    assert pos["radiological finding"] == 1
    unc = labeler.label("Possible calcified granuloma.").values
    assert unc["granuloma"] == -1 and unc["calcified densities"] == -1
    neg = labeler.label("No calcified granuloma.").values
    assert neg["calcified granuloma"] == 0 and "granuloma" not in neg and "radiological finding" not in neg


def test_uncertain_child_does_not_lower_a_positive_parent(labeler):
    values = labeler.label("Pleural effusion. Possible hydropneumothorax.").values
    assert values["hydropneumothorax"] == -1 and values["pleural effusion"] == 1
    assert values["pneumothorax"] == -1


def test_normal_rule(labeler):
    assert labeler.label("No pleural effusion or pneumothorax.").values["normal"] == 1
    assert labeler.label("Lungs are clear.").values["normal"] == 1                  # nothing mentioned
    assert labeler.label("Possible pneumonia.").values["normal"] == 0                # uncertain counts
    assert labeler.label("Stable left PICC.").values["normal"] == 0                  # devices count
    # a top-level label such as 'suboptimal study' is not an abnormal finding
    values = labeler.label("Limited study. No effusion.").values
    assert values["suboptimal study"] == 1 and values["normal"] == 1


@pytest.mark.parametrize("text", [None, float("nan"), "", "   \n  ", pd.NA])
def test_missing_report_mentions_nothing(labeler, text):
    res = labeler.label(text)
    assert res.values == {} and res.sentences == [] and res.mentions == []


# --- sections and de-identification --------------------------------------------------------------------
def test_indication_alone_is_not_read(labeler):
    assert "pneumonia" not in labeler.label("INDICATION: evaluate for pneumonia").values
    res = labeler.label("INDICATION: evaluate for pneumonia\nFINDINGS: Lungs are clear.\nIMPRESSION: No acute process.")
    assert "pneumonia" not in res.values and res.values["normal"] == 1


def test_only_findings_and_impression_are_read_by_default(labeler):
    text = ("FINAL REPORT\nEXAMINATION: CHEST\nHISTORY: prior pneumothorax\nCOMPARISON: ___\n"
            "FINDINGS: Small right pleural effusion.\nIMPRESSION: Effusion.")
    values = labeler.label(text).values
    assert values["pleural effusion"] == 1 and "pneumothorax" not in values
    res = labeler.label(text)
    assert {m.section for m in res.mentions} == {"findings", "impression"}


def test_sections_are_configurable(onto):
    lab = Labeler(onto, sections=("indication",))
    assert lab.label("INDICATION: pneumonia. FINDINGS: Effusion.").values.get("pneumonia") == 1
    assert "pleural effusion" not in lab.label("INDICATION: pneumonia. FINDINGS: Effusion.").values


def test_report_without_headers_is_read_whole(labeler):
    assert labeler.label("Right pneumothorax.").values["pneumothorax"] == 1


def test_unheaded_body_after_a_blank_line_is_read_as_findings(labeler):
    # MIMIC reports without a FINDINGS header: the body follows the comparison paragraph
    text = ("INDICATION: cough, r/o pneumothorax.\n \nCOMPARISON: None.\n \n"
            "PA and lateral views show a right pleural effusion.\n \nIMPRESSION: Effusion.")
    res = labeler.label(text)
    assert res.values["pleural effusion"] == 1 and "pneumothorax" not in res.values
    assert {m.section for m in res.mentions} == {"findings", "impression"}


def test_report_with_nothing_to_read_has_no_values(labeler):
    assert labeler.label("INDICATION: pneumonia.\nCOMPARISON: None.").values == {}


@pytest.mark.parametrize("text", [
    "FINDINGS: Dr. ___ was notified of the right pneumothorax at ___ pm.",
    "FINDINGS: Right XXXX pneumothorax. Dr. XXXX notified.",
    "FINDINGS: The ___ right pneumothorax ___.",
])
def test_deid_tokens_keep_sentences_and_matches(labeler, text):
    res = labeler.label(text)
    assert res.values["pneumothorax"] == 1
    m = next(m for m in res.mentions if m.label == "pneumothorax")
    assert text[m.span[0]:m.span[1]].lower() == "pneumothorax" == m.text.lower()


def test_deid_token_between_no_and_finding_keeps_negation(labeler):
    assert labeler.label("No ___ pneumothorax.").values["pneumothorax"] == 0


# --- results carry what --explain needs -----------------------------------------------------------------
def test_mentions_carry_span_section_sentence_cue_rule(labeler):
    text = "FINDINGS: Heart size normal. No pneumothorax.\nIMPRESSION: Possible pneumonia."
    res = labeler.label(text)
    by = {m.label: m for m in res.mentions}
    ptx, pna = by["pneumothorax"], by["pneumonia"]
    assert text[ptx.span[0]:ptx.span[1]] == "pneumothorax" and ptx.section == "findings"
    assert (ptx.status, ptx.cue, ptx.rule) == (0, "no", "negation_preceding")
    assert (pna.status, pna.cue, pna.rule, pna.section) == (-1, "possible", "uncertainty_preceding", "impression")
    assert res.sentences[ptx.sentence][1] == "No pneumothorax."
    assert res.sentences[pna.sentence] == (pna.sentence, "Possible pneumonia.", [])
    assert res.derived["normal"].startswith("abnormal label")


def test_sentence_positive_labels_include_ancestors(labeler, onto):
    res = labeler.label("Calcified granuloma. No effusion.")
    assert res.sentences[0][2][0] == "calcified granuloma"
    assert sorted(res.sentences[0][2][1:]) == sorted(onto.ancestors("calcified granuloma"))
    assert res.sentences[1][2] == []


def test_sentence_cache_never_changes_results(onto):
    texts = ["No pneumothorax. Possible pneumonia.", "FINDINGS: No pneumothorax.\nIMPRESSION: Possible pneumonia.",
             "Right pneumothorax. No pneumothorax.", "No pneumothorax."] * 3
    cached, uncached = Labeler(onto, cache_size=2), Labeler(onto, cache_size=0)
    for text in texts:
        a, b = cached.label(text), uncached.label(text)
        assert (a.values, a.mentions, a.sentences) == (b.values, b.mentions, b.sentences)
    assert 0 < len(cached._cache) <= 2 and not uncached._cache


def test_label_many_projects_to_a_vocabulary(labeler, onto):
    rows = labeler.label_many(["Right pleural effusion.", "No pneumothorax.", None], vocabulary="chexpert")
    assert rows[0]["Pleural Effusion"] == 1 and rows[0]["No Finding"] == 0
    assert rows[1]["Pneumothorax"] == 0 and rows[1]["No Finding"] == 1
    assert math.isnan(rows[1]["Cardiomegaly"])
    assert all(math.isnan(v) for v in rows[2].values())
    assert list(rows[0]) == onto.vocabulary("chexpert")
