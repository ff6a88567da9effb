"""The checks that need a GPU (issue 19): marked ``cuda``, skipped without one.

With ``GRIDSEARCH_CUDA_TESTS_ON_CPU=1`` they run on the CPU instead (``benchmarks/gpu_check.sh
--cpu`` does): the same code path, with the CPU's counterpart where a figure exists only on a GPU
(live tensors instead of allocated device memory, the allocator's real failure instead of a full
GPU), so the tests themselves are proven before a GPU first runs them.  Each prints a FIGURES line
for the record.
"""

import json
import os
import statistics
import subprocess
import sys
import warnings
from collections import Counter

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gridsearch import models
from gridsearch.errors import TrainingError
from gridsearch.training import _data as data, _precision as precision, _trainer as trainer
from helpers import ROOT, TINY, cli

pytestmark = pytest.mark.cuda
ON_CPU_ENV = "GRIDSEARCH_CUDA_TESTS_ON_CPU"


@pytest.fixture
def dev():
    if torch.cuda.is_available():
        return "cuda"
    if os.environ.get(ON_CPU_ENV) == "1":
        return "cpu"
    pytest.skip("needs a CUDA device")


def report(label, **figures):
    print(f"\nFIGURES {label}: " + " ".join(f"{k}={v}" for k, v in figures.items()))


@pytest.fixture(scope="module")
def digits():
    return data.load_data("digits", train_size=256, val_size=128, seed=0)


class Probe(nn.Module):
    """Records, in every training forward, the arithmetic and the memory layout it ran with."""

    def __init__(self, resolution=16, width=16):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.norm = nn.GroupNorm(4, width)
        self.fc = nn.Linear(width * resolution ** 2, 10)
        self.seen = []

    def forward(self, x):
        h = self.conv(x)
        if self.training and torch.is_grad_enabled():
            self.seen.append((h.dtype, x.is_contiguous(memory_format=torch.channels_last),
                              self.conv.weight.is_contiguous(memory_format=torch.channels_last)))
        return self.fc(F.relu(self.norm(h)).flatten(1))


def test_mixed_precision_and_channels_last_are_in_effect(dev, digits):
    auto = precision.precision_for(dev)
    for prec in ("auto", "fp16", "fp32") + (("bf16",) if auto == "bf16" or dev == "cpu" else ()):
        net = Probe()
        grads = []
        net.fc.weight.register_hook(lambda g, grads=grads: grads.append(g.abs().max().item()))
        res = trainer.train(net, digits, 16, trainer.Recipe(epochs=1, batch_size=32, seed=0),
                            dev, precision=prec)
        want = auto if prec == "auto" else prec
        assert res.precision == want
        assert {d for d, _, _ in net.seen} == {precision.dtype(want) or torch.float32}, prec
        assert all(x_cl and w_cl for _, x_cl, w_cl in net.seen), prec   # channels_last
        report(f"precision {prec} on {dev}", used=res.precision, first_raw_grad=grads[0],
               img_per_s=round(res.images_per_second))
    if dev == "cpu":
        assert auto == "fp32"                 # the CPU trains in fp32 unless told otherwise
    else:
        assert auto in ("bf16", "fp16")       # a GPU picks mixed precision by its capability


def test_fp16_uses_the_gradient_scaler(dev, digits):
    raw = {}
    for prec in ("fp32", "fp16"):
        torch.manual_seed(0)
        net = Probe()
        grads = []
        net.fc.weight.register_hook(lambda g, grads=grads: grads.append(g.abs().max().item()))
        trainer.train(net, digits, 16, trainer.Recipe(epochs=1, batch_size=32, seed=0), dev,
                      precision=prec)
        raw[prec] = grads[0]
    ratio = raw["fp16"] / raw["fp32"]
    report(f"fp16 scaler on {dev}", raw_grad_ratio=round(ratio))
    assert 2 ** 16 * 0.9 < ratio < 2 ** 16 * 1.1


def test_accuracy_on_the_device_matches_the_cpu_within_seed_noise(dev, digits):
    """One fixed small study (resnet18 w0.25 d0.5 on digits at 16 px, 3 seeds) on the CPU and on
    the device: the means agree within the seed-to-seed noise."""
    import math

    acc = {"cpu": [], dev + " ": []}
    for seed in (0, 1, 2):
        r = trainer.Recipe(epochs=2, batch_size=32, optimizer="adamw", lr=3e-3, seed=seed)
        for where, key in (("cpu", "cpu"), (dev, dev + " ")):
            torch.manual_seed(seed)
            net = models.build("resnet18", 0.25, 0.5, 10).module
            acc[key].append(trainer.train(net, digits, 16, r, where).accuracy)
    mean = {k: statistics.mean(v) for k, v in acc.items()}
    noise = max(statistics.stdev(v) for v in acc.values())
    bound = max(3 * noise * math.sqrt(2 / 3), 0.05)
    report(f"accuracy cpu vs {dev}", cpu=acc["cpu"], device=acc[dev + " "], bound=round(bound, 4))
    assert mean["cpu"] > 0.5
    assert abs(mean[dev + " "] - mean["cpu"]) <= bound, (acc, bound)


def _live_tensors():
    import gc

    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


def _memory(dev):
    if dev == "cuda":
        torch.cuda.synchronize()
        return torch.cuda.memory_allocated(), torch.cuda.memory_reserved()
    return _live_tensors(), 0


def test_memory_is_back_to_its_baseline_after_each_trial(dev, digits):
    """Trials of three sizes in one process: after each, the device holds what it held before
    (allocated, and reserved: the cache is emptied), and the caller's module is back on the CPU."""
    r = trainer.Recipe(epochs=1, batch_size=64, seed=0)
    trainer.train(models.build("resnet18", 0.25, 0.5, 10).module, digits, 16, r, dev)  # warm
    base = _memory(dev)
    peaks = []
    for width, res in ((0.25, 16), (1.0, 32), (0.5, 24)):
        net = models.build("resnet18", width, 0.5, 10).module
        before = _memory(dev)       # on the CPU: with the new module's own tensors
        out = trainer.train(net, digits, res, r, dev)
        peaks.append(out.peak_memory_mb)
        now = _memory(dev)
        assert now[0] == before[0] and now[1] <= base[1], (width, now, before, base)
        if dev == "cuda":
            assert now[0] == base[0], (width, now, base)
        assert all(p.device.type == "cpu" and p.grad is None for p in net.parameters())
        assert out.peak_memory_kind == ("cuda" if dev == "cuda" else "rss")
    report(f"memory per trial on {dev}", baseline=base, peaks_mb=peaks)
    if dev == "cuda":
        assert peaks[1] > peaks[0]          # the wide network at 32 px needs more


def _greedy(dev, free_share: float, limit: int):
    """A network that cannot fit at its full batch: each training forward takes ``free_share`` of
    the device's free memory per image (on the CPU: an allocation no machine has, above
    ``limit`` images)."""
    if dev == "cuda":
        free, _ = torch.cuda.mem_get_info()
        per_image = int(free * free_share)
    else:
        per_image = None

    class Greedy(Probe):
        def forward(self, x):
            if self.training and torch.is_grad_enabled():
                n = x.shape[0]
                if per_image is not None:
                    scratch = torch.empty(per_image * n, dtype=torch.uint8, device=x.device)
                    del scratch
                elif n > limit:
                    torch.empty(2 ** 62, dtype=torch.uint8)
            return super().forward(x)

    return Greedy()


def test_a_real_out_of_memory_is_retried_in_micro_batches_and_the_device_stays_usable(dev,
                                                                                     digits):
    r = trainer.Recipe(epochs=1, batch_size=32, seed=0)
    base = _memory(dev)
    # 32 images need 1.6x the free memory, micro-batches of 8 need 0.4x: fits on the retry
    res = trainer.train(_greedy(dev, 0.05, limit=8), digits, 16, r, dev)
    assert res.micro_batch == 8 and "memory" in res.oom_retry, res
    # 8 images still need 2x the free memory: out of memory twice, the reason names the peak
    with pytest.raises(TrainingError) as e:
        trainer.train(_greedy(dev, 0.25, limit=0), digits, 16, r, dev)
    msg = str(e.value)
    del e                   # its traceback holds the trainer's frame (the module, on the CPU)
    assert "at batch 32, 16 px, also in micro-batches of 8" in msg and "peak" in msg, msg
    assert _memory(dev)[0] == base[0]
    after = trainer.train(Probe(), digits, 16, r, dev)            # the next trial trains
    assert after.accuracy > 0 and after.oom_retry is None
    report(f"real OOM on {dev}", retry=res.oom_retry[:60], micro_batch=res.micro_batch,
           failure=msg[:120])


STICKY = """
import json, torch
from gridsearch.training import _faults
dev = {dev!r}
try:
    logits = torch.randn(4, 10, device=dev)
    target = torch.tensor([0, 1, 2, 99], device=dev)        # class 99 of 10
    torch.nn.functional.cross_entropy(logits, target)
    if dev == "cuda":
        torch.cuda.synchronize()
    print(json.dumps({{"raised": None}}))
except Exception as e:
    print(json.dumps({{"raised": type(e).__name__, "kind": _faults.classify(e),
                      "reason": _faults.reason(e), "probe": _faults.probe_device(dev)}}))
"""


def test_a_device_side_assert_is_sticky_and_the_device_fails_its_probe(dev):
    """In a process of its own (it poisons that process's CUDA context): an out-of-range class
    in cross_entropy is a device-side assert on a GPU, sticky, and the device fails the probe;
    on the CPU the same mistake is an ordinary per-trial error."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", STICKY.format(dev=dev)], capture_output=True,
                         text=True, timeout=300, env=env, cwd=ROOT)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    report(f"out-of-range class on {dev}", **got)
    if dev == "cuda":
        assert got["kind"] == "sticky" and got["probe"], got
    else:
        assert got["kind"] == "trial" and got["probe"] is None, got


def test_deterministic_training_reproduces_on_the_device(dev, digits):
    """Two runs of one (network, seed) with deterministic = true: the same weights, bit for bit.
    Ops without a deterministic implementation warn; they are printed for the record."""
    r = trainer.Recipe(epochs=1, batch_size=32, optimizer="adamw", lr=3e-3, seed=0,
                       deterministic=True)
    weights, seconds = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            torch.manual_seed(0)
            net = models.build("efficientnet_b0", 0.5, 0.5, 10).module
            res = trainer.train(net, digits, 32, r, dev)
            weights.append({k: v.clone() for k, v in net.state_dict().items()})
            seconds.append(res.seconds)
    ops = sorted({str(w.message).split(" does not have")[0] for w in caught
                  if "deterministic" in str(w.message)})
    same = all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    report(f"deterministic on {dev}", identical=same, nondeterministic_ops=ops or "none")
    assert same


def test_four_workers_on_one_gpu_train_each_unit_exactly_once(dev, tmp_path):
    import optuna

    from gridsearch import config

    path = tmp_path / "four.toml"
    path.write_text(TINY.format(name="four", mode="repair", storage="")
                    .replace('device = "cpu"', f'device = "{dev}"'))
    extra = ["--gpus", "0"] if dev == "cuda" else []
    r = cli("run", path, "--workers", "4", *extra, "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = config.load(path)
    study = optuna.load_study(study_name="four", storage=f"sqlite:///{tmp_path / 'four.db'}")
    trials = study.get_trials(deepcopy=False)
    units = Counter(t.user_attrs["unit"] for t in trials
                    if t.state != optuna.trial.TrialState.FAIL)
    trained = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    report(f"4 workers on one {dev}", units=len(units), trials=len(trials),
           workers=len({t.user_attrs.get("worker") for t in trials}),
           devices=sorted({t.user_attrs.get("device") for t in trained}),
           peak_mb=[t.user_attrs.get("peak_memory_mb") for t in trained])
    assert sorted(units) == list(range(len(cfg.points()))) and set(units.values()) == {1}
    if dev == "cuda":
        assert "one visible GPU each" in r.stdout
        assert {t.user_attrs["device"] for t in trained} == {"cuda:0"}
    assert all(t.user_attrs["peak_memory_mb"] > 0 for t in trained)


def test_the_quickstart_runs_on_the_device(dev, tmp_path):
    """studies/quickstart.toml with --device <dev>: what a user runs first."""
    text = (ROOT / "studies" / "quickstart.toml").read_text()
    path = tmp_path / "qs.toml"
    path.write_text(text.replace('name = "quickstart"', 'name = "qs"'))
    # the whole grid on a GPU (seconds); on the CPU the first three points (one is feasible)
    limit = [] if dev == "cuda" else ["--max-trials", "3"]
    r = cli("run", path, "--device", dev, *limit, "--no-progress", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    import optuna

    study = optuna.load_study(study_name="qs", storage=f"sqlite:///{tmp_path / 'qs.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    report(f"quickstart on {dev}", out=r.stdout.strip().splitlines()[-1],
           precision=[t.user_attrs.get("precision") for t in done])
    assert done and all(t.user_attrs["device"].startswith(dev) for t in done)
    assert {t.user_attrs["precision"] for t in done} == {precision.precision_for(dev)}
