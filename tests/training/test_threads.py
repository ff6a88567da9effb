"""CPU threads (gridsearch's choice, not torch's default), what a trial records about its
resources, and an out-of-memory candidate failing its trial while the study goes on."""

import os
import re
import subprocess
import sys
import textwrap

import optuna
import pytest

from gridsearch import config, workers
from gridsearch.errors import ConfigError
from gridsearch.study import Search
from gridsearch.training import _threads as threads
from helpers import ROOT, cli

# -- the pure choice -----------------------------------------------------------------------------

def test_one_process_uses_every_usable_core():
    assert threads.choose_threads(1, cores=8, env={}) == 8
    assert threads.choose_threads(1, cores=1, env={}) == 1


def test_workers_share_the_cores():
    assert threads.choose_threads(2, cores=8, env={}) == 4
    assert threads.choose_threads(3, cores=8, env={}) == 2  # 3 x 2 <= 8
    assert threads.choose_threads(16, cores=8, env={}) == 1  # never 0
    for n in range(1, 12):
        assert n * threads.choose_threads(n, cores=8, env={}) <= max(8, n)


def test_explicit_threads_then_omp_num_threads_win():
    assert threads.choose_threads(4, cores=8, explicit=3, env={"OMP_NUM_THREADS": "1"}) == 3
    assert threads.choose_threads(4, cores=8, env={"OMP_NUM_THREADS": "6"}) == 6
    assert threads.choose_threads(1, cores=8, env={"OMP_NUM_THREADS": "2,1"}) == 2  # nesting list
    assert threads.choose_threads(1, cores=8, env={"OMP_NUM_THREADS": " "}) == 8  # empty: unset


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_bad_omp_num_threads_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="OMP_NUM_THREADS"):
        threads.choose_threads(1, cores=2, env={"OMP_NUM_THREADS": bad})


def test_bad_counts_are_config_errors():
    with pytest.raises(ConfigError, match="--threads"):
        threads.choose_threads(1, cores=2, explicit=0, env={})
    with pytest.raises(ConfigError, match="--workers"):
        threads.choose_threads(0, cores=2, env={})


def test_usable_cores_is_the_affinity_mask():
    assert threads.usable_cores() == len(os.sched_getaffinity(0))


def test_passive_wait_is_set_unless_the_user_chose():
    env = {}
    assert threads.passive_wait(env) and env == {"OMP_WAIT_POLICY": "PASSIVE"}
    env = {"OMP_WAIT_POLICY": "active"}
    assert not threads.passive_wait(env) and env == {"OMP_WAIT_POLICY": "active"}


def test_worker_placement_shares_the_cores(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert [s.threads for s in workers.placement(2, "cpu", None, 0, 8)] == [4, 4]
    assert [s.threads for s in workers.placement(3, "cpu", None, 0, 2)] == [1, 1, 1]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert [s.threads for s in workers.placement(2, "cpu", None, 0, 8)] == [1, 1]


# -- the real processes --------------------------------------------------------------------------

def _env_without_omp():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
def test_the_command_line_makes_openmp_wait_passively_before_torch_loads():
    code = ("import os, sys; import gridsearch.cli; import torch; "
            "print(os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env_without_omp(), timeout=300)
    assert out.stdout.split() == ["PASSIVE", "True"], out.stderr
    mine = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**_env_without_omp(), "OMP_WAIT_POLICY": "ACTIVE"}, timeout=300)
    assert mine.stdout.split()[0] == "ACTIVE", mine.stderr


def test_malformed_omp_num_threads_is_one_line_exit_2_store_untouched(tiny_config, tmp_path):
    path = tiny_config(name="badomp")
    r = cli("run", path, "--no-progress", env={"OMP_NUM_THREADS": "two"})
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "gridsearch: error: OMP_NUM_THREADS: expected a positive integer, got 'two'"], r.stderr
    assert not list(tmp_path.glob("*.db"))


def _one_point(tiny_config, name):
    """The tiny study with a one-point grid: the baseline itself, always feasible and trained."""
    path = tiny_config(name=name, mode="repair")
    text = re.sub(r"alpha = .*\nbeta = .*\ngamma = .*\ntarget = 2.0",
                  "alpha = { min = 1.0, max = 1.0, step = 0.1 }\n"
                  "beta = { min = 1.0, max = 1.0, step = 0.1 }\n"
                  "gamma = { min = 1.0, max = 1.0, step = 0.1 }\ntarget = 1.0", path.read_text())
    path.write_text(text)
    return path


def _trained_threads(path):
    trials = Search(config.load(path)).study(create=False).trials
    return [t.user_attrs.get("threads") for t in trials]


@pytest.mark.slow
def test_run_trains_with_the_usable_cores_or_the_threads_asked_for(tiny_config):
    """The real `gridsearch run` on the CPU without OMP_NUM_THREADS: its trial records the threads
    it trained with: every usable core by default, --threads N when given."""
    default, asked = _one_point(tiny_config, "thr1"), _one_point(tiny_config, "thr2")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    exe = os.path.join(os.path.dirname(sys.executable), "gridsearch")
    first = subprocess.run([exe, "run", str(default), "--no-progress"], capture_output=True,
                           text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert _trained_threads(default) == [threads.usable_cores()]
    second = cli("run", asked, "--no-progress", "--threads", "1")  # OMP_NUM_THREADS=1 is set too
    assert second.returncode == 0, second.stderr
    assert _trained_threads(asked) == [1]


# -- out of memory -------------------------------------------------------------------------------

OOM_MODEL = '''
import torch
from gridsearch import models


class Greedy(torch.nn.Module):
    """resnet18, except that a wide candidate needs more memory than there is when it trains
    ({oom})."""

    def __init__(self, net, too_big):
        super().__init__()
        self.net, self.too_big = net, too_big

    def forward(self, x):
        if self.too_big and self.training and torch.is_grad_enabled() and x.shape[0] > 1:
            {oom}
        return self.net(x)


def build(width_mult, depth_mult, num_classes):
    net = models.build("resnet18", width_mult, depth_mult, num_classes).module
    return Greedy(net, width_mult > {threshold})
'''


def _oom_study(tiny_config, tmp_path, monkeypatch, oom: str, device: str):
    (tmp_path / "greedy_net.py").write_text(textwrap.dedent(
        OOM_MODEL.format(oom=oom, threshold=0.3)))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tiny_config(name="oom", mode="repair")
    text = path.read_text().replace('name = "resnet18"', 'name = "greedy_net:build"')
    path.write_text(text.replace('device = "cpu"', f'device = "{device}"'))
    cfg = config.load(path)
    return cfg, Search(cfg).run()


def _check_oom_study(cfg, outcomes):
    assert len(outcomes) == len(cfg.points())  # the study went on after each failure
    fails = [o for o in outcomes if o.state == "FAIL"]
    done = [o for o in outcomes if o.state == "COMPLETE"]
    assert fails and done, [(o.state, o.attrs.get("error")) for o in outcomes]
    for o in fails:
        assert o.attrs["error"].startswith("TrainingError: out of memory on"), o.attrs["error"]
        assert "at batch 32" in o.attrs["error"]
    stored = Search(cfg).study(create=False).trials
    assert sum(t.state == optuna.trial.TrialState.FAIL for t in stored) == len(fails)
    return fails, done


@pytest.mark.slow
def test_out_of_memory_fails_its_trial_and_the_study_goes_on_cpu(tiny_config, tmp_path,
                                                                 monkeypatch):
    """On the CPU torch raises no OutOfMemoryError of its own (its allocator raises a plain
    RuntimeError), so the wide candidates raise torch's real exception type from their forward
    (torch.cuda.OutOfMemoryError: torch.OutOfMemoryError exists only from torch 2.5).  They do at
    every batch size, so the retry in micro-batches fails too."""
    cfg, outcomes = _oom_study(tiny_config, tmp_path, monkeypatch,
                               'raise torch.cuda.OutOfMemoryError("CUDA out of memory. (simulated)")',
                               "cpu")
    fails, done = _check_oom_study(cfg, outcomes)
    assert all("(simulated)" in o.attrs["error"] for o in fails)
    assert all(o.attrs["threads"] >= 1 for o in done)


cuda = pytest.mark.cuda


def _has_cuda():
    import torch

    return torch.cuda.is_available()


@cuda
def test_out_of_memory_on_a_gpu_fails_its_trial_and_the_study_goes_on(tiny_config, tmp_path,
                                                                      monkeypatch):
    """A real CUDA out-of-memory error (an allocation larger than the GPU) in the wide
    candidates; the other trials complete in the same process and record their peak memory."""
    if not _has_cuda():
        pytest.skip("needs a CUDA device")
    cfg, outcomes = _oom_study(tiny_config, tmp_path, monkeypatch,
                               "torch.empty(2 ** 48, dtype=torch.uint8, device=x.device)",
                               "cuda")
    fails, done = _check_oom_study(cfg, outcomes)
    assert all("peak" in o.attrs["error"] and "GiB" in o.attrs["error"] for o in fails)
    assert all(o.attrs["peak_memory_mb"] > 0 for o in done)
    assert all(o.attrs["peak_memory_kind"] == "cuda" for o in done)
    assert all("threads" not in o.attrs for o in done)


@cuda
def test_peak_gpu_memory_is_recorded_per_trial_through_the_cli(tiny_config):
    if not _has_cuda():
        pytest.skip("needs a CUDA device")
    path = tiny_config(name="gpumem")
    path.write_text(path.read_text().replace('device = "cpu"', 'device = "cuda"'))
    r = cli("run", path, "--max-trials", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    trials = Search(config.load(path)).study(create=False).trials
    peaks = [t.user_attrs["peak_memory_mb"] for t in trials
             if t.state == optuna.trial.TrialState.COMPLETE]
    assert peaks and all(p > 0 for p in peaks)
