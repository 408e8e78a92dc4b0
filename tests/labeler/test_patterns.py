"""The synonym mini-language: what each construct matches, and the errors it reports."""
import pytest

from cxr.labeler.patterns import PatternError, compile_pattern, sentence_keys, words_of


def matches(pattern: str, text: str) -> str | None:
    m = compile_pattern(pattern).regex.search(text.lower())
    return m.group(0) if m else None


@pytest.mark.parametrize("pattern,text,expected", [
    ("pleural effusion*", "small pleural effusions.", "pleural effusions"),
    ("pleural effusion*", "pleural  effusion", "pleural  effusion"),          # any whitespace
    ("opacit*", "patchy opacities", "opacities"),
    ("(heart|cardiac) size", "cardiac size is normal", "cardiac size"),
    ("[small] [left|right] effusion*", "small right effusion", "small right effusion"),
    ("[small] [left|right] effusion*", "left effusion", "left effusion"),
    ("air-space disease", "air space disease", "air space disease"),         # hyphen = space
    ("air-space disease", "air-space disease", "air-space disease"),
    ("heart ... enlarged", "the heart is mildly enlarged", "heart is mildly enlarged"),
    ("Cardiomegaly", "CARDIOMEGALY", "cardiomegaly"),                         # patterns are lower-cased too
    ("cardiomegaly", "cardiomegaly", "cardiomegaly"),
])
def test_constructs_match(pattern, text, expected):
    assert matches(pattern, text) == expected


@pytest.mark.parametrize("pattern,text", [
    ("effusion", "effusions"),                  # no wildcard: whole word only
    ("rib", "ribbon"),
    ("nodule", "micronodule"),                  # word boundary on the left
    ("heart ... enlarged", "heart size is not at all very enlarged"),  # gap is at most three words
    ("heart ... enlarged", "heart normal, lungs enlarged"),            # the gap does not cross punctuation
])
def test_non_matches(pattern, text):
    assert matches(pattern, text) is None


def test_triggers_index_the_most_selective_mandatory_word():
    assert compile_pattern("[small] pleural effusion*").triggers == {"eff"}
    assert compile_pattern("(heart|cardiac) ... enlarg*").triggers == {"enl"}
    # an alternation is used only when no single mandatory word exists
    assert compile_pattern("(cabg|sternotomy)").triggers == {"cab", "ste"}


def test_trigger_keys_are_found_in_sentences_that_match():
    for pattern, text in [("pleural effusion*", "Left pleural effusions."), ("t-spine", "t-spine osteophytes")]:
        cp = compile_pattern(pattern)
        assert cp.regex.search(text.lower())
        assert cp.triggers & sentence_keys(words_of(text.lower()))


@pytest.mark.parametrize("bad,reason", [
    ("", "empty pattern"),
    ("(a|", "unexpected end"),
    ("[left] [right]", "no mandatory word"),
    ("ab*", "at least three letters"),
    ("effusion [small]", "must not start"),
    ("... effusion", "must not start"),
    ("effu**sion", "bad word"),
    ("(effusion|)", "empty alternative"),
])
def test_errors_name_the_pattern_and_reason(bad, reason):
    with pytest.raises(PatternError) as exc:
        compile_pattern(bad)
    assert reason in str(exc.value)
    assert repr(bad) in str(exc.value)
