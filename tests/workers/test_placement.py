"""Worker placement: where each worker runs and what it is told, a small pure function."""

import pytest

from gridsearch.errors import ConfigError
from gridsearch.workers import parse_gpus, placement


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
