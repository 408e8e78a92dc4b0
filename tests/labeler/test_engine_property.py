"""Properties of the engine on arbitrary text: it never crashes, its offsets are valid, and letter case or
whitespace layout never changes the labels."""
import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.labeler.engine_support import labeler, onto, onto_dir  # noqa: F401  (fixtures)

# Report-like vocabulary so that mentions and cues actually occur, mixed with arbitrary characters.
WORDS = ["no", "not", "possible", "pleural", "effusion", "pneumothorax", "cardiomegaly", "calcified",
         "granuloma", "stable", "resolved", "cannot", "be", "excluded", "versus", "but", "no change in",
         "XXXX", "___", "FINDINGS:", "IMPRESSION:", "INDICATION:", "1.", "2.5", "Dr.", ";", ",", ".", "?",
         "is not seen", "pericardial", "heart", "is", "enlarged", "without", "and the", "picc"]
token = st.one_of(st.sampled_from(WORDS), st.text(max_size=6))
reports = st.lists(token, max_size=40).map(" ".join)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(text=st.one_of(reports, st.text(max_size=300)))
def test_never_crashes_and_offsets_are_valid(labeler, text):
    res = labeler.label(text)
    assert set(res.values.values()) <= {1, 0, -1}
    for m in res.mentions:
        a, b = m.span
        assert 0 <= a < b <= len(text) and text[a:b] == m.text
        assert 0 <= m.sentence < len(res.sentences)
    for i, (index, sentence, labels) in enumerate(res.sentences):
        assert index == i and sentence.strip() == sentence and sentence
        assert all(res.values.get(label) == 1 for label in labels)


def _respace(text: str, seps: list[str]) -> str:
    """Replace every whitespace run by another whitespace run (never removing one, never adding one)."""
    parts = re.split(r"\s+", text)
    return "".join(p + (seps[i % len(seps)] if i < len(parts) - 1 else "") for i, p in enumerate(parts))


@SETTINGS
@given(text=reports, upper=st.booleans(), seps=st.lists(st.sampled_from([" ", "  ", "\t", " \n "]), min_size=1))
def test_case_and_whitespace_do_not_change_labels(labeler, text, upper, seps):
    base = labeler.label(text).values
    other = _respace(text.upper() if upper else text.lower(), seps)
    # A newline inside a sentence is wrapping; a blank line is a paragraph break, which may end a
    # sentence: only compare layouts without blank lines.
    if re.search(r"\n\s*\n", other) or re.search(r"\n\s*\n", text):
        return
    assert labeler.label(other).values == base


def test_megabyte_report_is_labeled_in_bounded_time(labeler):
    text = "No effusion, pneumothorax or consolidation, possible pneumonia versus atelectasis; " * 13000
    assert len(text) > 1_000_000
    t0 = time.perf_counter()
    res = labeler.label(text)
    assert time.perf_counter() - t0 < 20          # quadratic scope handling took minutes
    assert res.values["pleural effusion"] == 0 and res.values["pneumonia"] == -1
