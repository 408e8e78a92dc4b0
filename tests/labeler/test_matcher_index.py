"""The candidate filters of the matcher and the cue finder (index atoms, prefix tokens, gates) skip work
only: with every atom present, so that every pattern and exclusion runs its regex, they find the same."""
import csv

import pytest

from cxr.labeler.cues import CueFinder
from cxr.labeler.matcher import LabelMatcher, index_atoms
from cxr.labeler.normalize import normalize
from cxr.labeler.ontology import load_ontology
from cxr.labeler.patterns import ClauseAtoms, PatternInfo, analyse_pattern, prefix_token
from cxr.labeler.samples import SAMPLE_REPORTS

#: words that share a key with a wildcard's prefix but do not start with it, beside ones that do
TRICKY = ["Pleural plaque in place; the plate is calcified. Calcified pleural plaques.",
          "Tube in place, tubes removed; no tuberculosis. Prior granulomatous disease, granuloma.",
          "No pericardial effusion. Small pleural effusions; mass effect on the trachea.",
          "Consolidation is consistent with pneumonia, suggestive of aspiration; suspected contusion."]


def _texts() -> list[str]:
    with open(SAMPLE_REPORTS, newline="", encoding="utf-8") as fh:
        reports = [row["report"] for row in csv.DictReader(fh)]
    return [normalize(t, False) for t in reports + TRICKY]


def _every_atom(infos: list[PatternInfo]) -> set[str]:
    """Every word, key and prefix token that any index atom or gate of these patterns can ask for."""
    out: set[str] = set()
    for info in infos:
        out |= info.required_words | info.triggers | {prefix_token(p) for p in info.prefixes()}
        for words, _ in info.required_any:
            out |= words
    return out


def test_clause_atoms_hold_words_keys_and_only_the_prefixes_a_word_starts_with():
    atoms = ClauseAtoms(["plaque", "pla", "tuberculo"]).of("the plate; plaques in place")
    assert atoms == {"the", "plate", "pla", "plaques", "plaque*", "in", "place"}
    assert ClauseAtoms(["tuberculo"]).of("tube tubercle") == {"tube", "tub", "tubercle"}
    assert prefix_token("pla") == "pla" and prefix_token("plaque") == "plaque*"


def test_a_wildcard_is_indexed_by_its_whole_prefix():
    assert index_atoms(analyse_pattern("pleural plaque*")) == (("k", "plaque*"),)
    # a three-letter prefix is the word key itself
    assert index_atoms(analyse_pattern("hila* enlargement")) == (("k", "hila*"),)
    assert index_atoms(analyse_pattern("(rib|ribs) fra*")) in ((("k", "fra"),), (("w", "rib"), ("w", "ribs")))


@pytest.fixture(scope="module")
def onto():
    return load_ontology()


def test_label_filters_never_lose_a_mention(onto):
    matcher = LabelMatcher(onto)
    infos = [analyse_pattern(x) for lab in onto.labels.values() for x in (*lab.synonyms, *lab.exclusions)]
    everything = _every_atom(infos)
    atoms_of = ClauseAtoms(matcher.prefixes).of
    checked = 0
    for text in _texts():
        found = matcher.find(text, 0, len(text), atoms_of(text))
        assert found == matcher.find(text, 0, len(text), everything | atoms_of(text)), text
        checked += len(found)
    assert checked > 100          # the texts do mention findings


def test_cue_filters_never_lose_a_cue(onto):
    finder = CueFinder(onto.cues, strict=True)
    everything = _every_atom([analyse_pattern(p) for patterns in onto.cues.values() for p in patterns])
    atoms_of = ClauseAtoms(finder.prefixes).of
    checked = 0
    for text in _texts():
        found = finder.find(text, 0, len(text), atoms_of(text))
        assert found == finder.find(text, 0, len(text), everything | atoms_of(text)), text
        checked += len(found)
    assert checked > 50
