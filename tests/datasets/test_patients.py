"""cxr.datasets.patients: one spelling of a patient id across datasets and stages."""
from __future__ import annotations

from cxr.datasets.patients import normalise_patient_id


def test_zero_padding_and_the_p_prefix_name_the_same_patient():
    assert normalise_patient_id("p10000032") == normalise_patient_id(10000032) == "10000032"
    assert normalise_patient_id("00001280") == "1280" and normalise_patient_id("000") == "0"
    assert normalise_patient_id(" patient00001 ") == "patient00001"
