"""Data subsets: the stratified train/val split, a small pure function."""

import numpy as np
import pytest

from gridsearch.errors import DataError
from gridsearch.training import stratified_indices


def test_stratified_indices_are_disjoint_balanced_and_seeded():
    labels = np.repeat(np.arange(4), [100, 50, 30, 20])     # unbalanced classes
    train, val = stratified_indices(labels, 100, 50, seed=3)
    assert len(train) == 100 and len(val) == 50 and not set(train) & set(val)
    for idx, n in ((train, 100), (val, 50)):
        counts = np.bincount(labels[idx], minlength=4)
        assert np.all(np.abs(counts - n * np.array([0.5, 0.25, 0.15, 0.1])) <= 1)
    again = stratified_indices(labels, 100, 50, seed=3)
    other = stratified_indices(labels, 100, 50, seed=4)
    assert np.array_equal(train, again[0]) and not np.array_equal(train, other[0])
    with pytest.raises(DataError):
        stratified_indices(labels, 150, 100, seed=0)
