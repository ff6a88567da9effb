"""Worker placement and data subsets: small pure functions, unit-tested."""

import numpy as np
import pytest

from gridsearch.errors import ConfigError, DataError
from gridsearch.study import parse_gpus, placement
from gridsearch.training import stratified_indices


def test_workers_round_robin_over_gpus_and_share_the_cores():
    slots = placement(5, "auto", [0, 1], n_cuda=2, cores=16, env={})
    assert [s.where for s in slots] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1", "cuda:0"]
    # each worker sees its GPU alone, as its cuda:0
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "1", "0", "1", "0"]
    assert {s.device for s in slots} == {"cuda:0"}
    cpu = placement(4, "cpu", None, n_cuda=2, cores=8)
    assert {s.device for s in cpu} == {"cpu"} and sum(s.threads for s in cpu) <= 8
    assert all(s.threads >= 1 for s in placement(4, "cpu", None, n_cuda=0, cores=2))
    assert {s.device for s in placement(2, "auto", None, n_cuda=0, cores=2)} == {"cpu"}


@pytest.mark.parametrize("args", [
    (0, "cpu", None, 0, 2), (2, "cpu", [0], 1, 2), (2, "auto", [3], 2, 2), (1, "cuda", None, 0, 2)])
def test_bad_placement_is_a_config_error(args):
    with pytest.raises(ConfigError):
        placement(*args)


def test_parse_gpus():
    assert parse_gpus("0,2") == [0, 2]
    for bad in ("", "a", "-1", "0,,1"):
        with pytest.raises(ConfigError):
            parse_gpus(bad)


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
