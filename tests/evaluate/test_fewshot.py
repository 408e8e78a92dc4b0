"""K-shot support sets: exact K per class, seed-deterministic, nested over K; K checked against pools."""
from __future__ import annotations

import numpy as np
import pytest

from cxr.evaluate.errors import ShotsError
from cxr.evaluate.fewshot import check_shots, parse_shots, sample_k_shot

LABELS = np.repeat([0, 1, 2], [20, 7, 30])


@pytest.mark.parametrize("k", [1, 2, 4, 7])
def test_exactly_k_per_class(k):
    idx = sample_k_shot(LABELS, k, seed=3)
    assert np.bincount(LABELS[idx]).tolist() == [k, k, k]
    assert len(set(idx.tolist())) == 3 * k


def test_same_seed_same_set_other_seed_other_set():
    assert np.array_equal(sample_k_shot(LABELS, 4, 0), sample_k_shot(LABELS, 4, 0))
    assert not np.array_equal(sample_k_shot(LABELS, 4, 0), sample_k_shot(LABELS, 4, 1))


def test_sets_are_nested_over_k_for_one_seed():
    small, large = set(sample_k_shot(LABELS, 2, 5)), set(sample_k_shot(LABELS, 4, 5))
    assert small < large


def test_all_is_the_whole_pool():
    assert np.array_equal(sample_k_shot(LABELS, "all", 0), np.arange(len(LABELS)))


def test_k_larger_than_smallest_class_is_refused_with_its_name():
    with pytest.raises(ShotsError, match=r"K=8 .* class 'rare' \(7 images\)"):
        check_shots([1, 8], LABELS, ["a", "rare", "c"], "toy")
    check_shots([1, 7, "all"], LABELS, ["a", "rare", "c"], "toy")


def test_parse_shots():
    assert parse_shots("1, 2,4,all") == [1, 2, 4, "all"]
    for bad in ("0", "two", ""):
        with pytest.raises(ShotsError):
            parse_shots(bad)
