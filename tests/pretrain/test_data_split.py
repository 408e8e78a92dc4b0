"""Validation split by patient, never by image; evaluation patients removed."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxr.core.errors import InputError
from cxr.pretrain.data.split import assign_split, check_split, exclude_patients


def _frame(patients, source="a"):
    return pd.DataFrame({"path": [f"{i}.png" for i in range(len(patients))], "patient_id": patients,
                         "source": source})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=2, max_size=120), st.floats(0.0, 0.9), st.integers(0, 5))
def test_no_patient_on_both_sides_and_deterministic(patients, fraction, seed):
    frame = _frame([str(p) for p in patients])
    split = assign_split(frame, fraction, seed)
    sides = frame.assign(split=split).groupby("patient_id")["split"].nunique()
    assert (sides == 1).all()
    assert split.equals(assign_split(frame, fraction, seed))
    # Row order does not matter: shuffled rows get the same side per patient.
    shuffled = frame.sample(frac=1.0, random_state=seed)
    again = assign_split(shuffled, fraction, seed)
    assert (again.sort_index() == split).all()


def test_fraction_is_per_patient_and_at_least_one():
    frame = _frame([str(p) for p in range(100) for _ in range(3)])
    split = assign_split(frame, 0.1, 0)
    assert frame.loc[split == "val", "patient_id"].nunique() == 10
    assert (assign_split(_frame(["a", "b"]), 0.01, 0) == "val").sum() == 1
    assert (assign_split(_frame(["a", "b"]), 0.0, 0) == "train").all()
    assert not assign_split(frame, 0.1, 0).equals(assign_split(frame, 0.1, 1))


def test_same_id_in_two_sources_is_two_patients():
    frame = pd.concat([_frame(["7"] * 4, "mimic"), _frame(["7"] * 4, "chexpert")], ignore_index=True)
    frame["path"] = [f"{i}.png" for i in range(8)]
    split = assign_split(frame, 0.5, 0)
    assert sorted(split.unique()) == ["train", "val"]


def test_given_split_must_be_by_patient():
    frame = _frame(["1", "1", "2"]).assign(split=["train", "val", "train"])
    with pytest.raises(InputError, match="patient '1'.*both train and val"):
        check_split(frame, "m.csv")


def test_exclusion_by_id_and_by_source(tmp_path):
    frame = pd.concat([_frame(["1", "2", "3"], "mimic"), _frame(["1", "9"], "chexpert")], ignore_index=True)
    (tmp_path / "ids.txt").write_text("1\n\n3\n")
    kept, info = exclude_patients(frame, tmp_path / "ids.txt")
    assert sorted(kept["patient_id"]) == ["2", "9"] and info.rows_removed == 3
    (tmp_path / "ids.csv").write_text("source,patient_id\nchexpert,1\n")
    kept, info = exclude_patients(frame, tmp_path / "ids.csv")
    assert info.rows_removed == 1 and ((kept["source"] == "mimic") & (kept["patient_id"] == "1")).any()
    (tmp_path / "bad.csv").write_text("id\n1\n")
    with pytest.raises(InputError, match="needs a 'patient_id' column"):
        exclude_patients(frame, tmp_path / "bad.csv")


def test_exclusion_matches_ids_spelled_differently_like_the_leakage_check(tmp_path):
    """An evaluation list written as NIH pads ('00001280') or MIMIC folders ('p10000032') still removes them."""
    from cxr.evaluate.leakage import read_patient_ids

    frame = pd.concat([_frame(["1280", "77"], "nih"), _frame(["10000032"], "mimic")], ignore_index=True)
    (tmp_path / "ids.txt").write_text("00001280\np10000032\n")
    kept, info = exclude_patients(frame, tmp_path / "ids.txt")
    assert kept["patient_id"].tolist() == ["77"] and info.rows_removed == 2
    assert read_patient_ids(tmp_path / "ids.txt") == {"1280", "10000032"}


def test_exclusion_list_with_a_source_name_nobody_uses_is_refused(tmp_path):
    """A listed source must be a source of the manifest or a registered dataset: 'MIMIC' removes nobody."""
    frame = pd.concat([_frame(["1", "2"], "mimic-cxr"), _frame(["1"], "hospital-x")], ignore_index=True)
    (tmp_path / "ok.csv").write_text("source,patient_id\nhospital-x,1\nvindr-pcxr,5\n")
    kept, info = exclude_patients(frame, tmp_path / "ok.csv")
    assert info.rows_removed == 1 and kept["source"].tolist() == ["mimic-cxr", "mimic-cxr"]
    (tmp_path / "bad.csv").write_text("source,patient_id\nMIMIC,1\n")
    with pytest.raises(InputError, match=r"\['MIMIC'\].*neither sources of this manifest \(hospital-x, "
                                         r"mimic-cxr\) nor registered datasets \(.*mimic-cxr \(MIMIC-CXR-JPG\)"):
        exclude_patients(frame, tmp_path / "bad.csv")
