"""The GPU path's failure handling, proven on the CPU path it shares (issue 19).

Error classification (out of memory / poisoned device / one failed trial), the precision chosen per
device capability, the out-of-memory retry in micro-batches (with torch's real exception types:
torch.cuda.OutOfMemoryError raised from a model's forward, and the CPU allocator's own failure),
memory released and measured per run, the caller's module put back, determinism, one device check
for every command, and one visible GPU per worker.  The CUDA-only checks are in tests/test_cuda.py.
"""

import gc
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gridsearch import workers
from gridsearch.errors import ConfigError, TrainingError
from gridsearch.training import (
    _data as data,
    _determinism as determinism,
    _device as device_mod,
    _faults as faults,
    _memory as memory,
    _precision as precision,
    _trainer as trainer,
)
from helpers import cli, error_lines, sql_dumps


@pytest.fixture(scope="module")
def digits():
    return data.load_data("digits", train_size=128, val_size=64, seed=0)


class Small(nn.Module):
    """A BatchNorm-free network (GroupNorm): its gradient does not depend on how a batch is split,
    so training in micro-batches must give the whole batch's result, up to rounding."""

    def __init__(self, classes=10, width=8, resolution=8):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, padding=1)
        self.norm = nn.GroupNorm(2, width)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.fc = nn.Linear(width * resolution ** 2, classes)
        self.seen = []   # (conv dtype, channels_last input, batch) of every training forward

    def forward(self, x):
        h = self.conv1(x)
        if self.training and torch.is_grad_enabled():
            self.seen.append((h.dtype, x.is_contiguous(memory_format=torch.channels_last),
                              x.shape[0]))
        h = F.relu(self.norm(h))
        h = F.relu(self.conv2(h))
        return self.fc(h.flatten(1))


class Picky(Small):
    """Runs out of memory (torch's own exception type, or the CPU allocator's real failure) when a
    training batch is larger than ``limit``, from its ``after``-th such forward on (a neighbour
    that grew mid-run)."""

    def __init__(self, limit, after=0, real=False):
        super().__init__()
        self.limit, self.after, self.real, self.big = limit, after, real, 0

    def forward(self, x):
        if self.training and torch.is_grad_enabled() and x.shape[0] > self.limit:
            self.big += 1
            if self.big > self.after:
                if self.real:   # DefaultCPUAllocator: can't allocate memory
                    torch.empty(2 ** 62, dtype=torch.uint8)
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate "
                                                  "2.00 GiB (simulated)")
        return super().forward(x)


def _net(cls=Small, seed=0, **kw):
    torch.manual_seed(seed)
    return cls(**kw)


def _recipe(**kw):
    return trainer.Recipe(**{"epochs": 2, "batch_size": 32, "lr": 0.05, "seed": 3, **kw})


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _close(a, b, rtol=1e-4, atol=1e-5):
    return all(torch.allclose(a[k], b[k], rtol=rtol, atol=atol) for k in a)


# -- error classification --------------------------------------------------------------------------

# torch's class for CUDA runtime errors (a RuntimeError); older torch raises RuntimeError itself
ACCELERATOR_ERROR = getattr(torch, "AcceleratorError", RuntimeError)


def _accelerator(message, code):
    """torch.AcceleratorError as torch raises it from C++: the CUDA error number attached."""
    e = ACCELERATOR_ERROR(message)
    e.error_code = code
    return e


def _cpu_allocator_error():
    try:
        torch.empty(2 ** 62, dtype=torch.uint8)
    except RuntimeError as e:
        return e
    pytest.fail("a 4 EiB allocation succeeded")


STICKY_MESSAGES = [
    "CUDA error: device-side assert triggered\nCUDA kernel errors might be asynchronously "
    "reported at some other API call, so the stacktrace below might be incorrect.",
    "CUDA error: an illegal memory access was encountered",
    "CUDA error: unspecified launch failure",
    "CUDA error: misaligned address",
    "CUDA error: uncorrectable ECC error encountered",
    "cuDNN error: CUDNN_STATUS_EXECUTION_FAILED",
]


@pytest.mark.parametrize("message", STICKY_MESSAGES)
def test_sticky_cuda_errors_are_sticky_by_message_as_older_torch_raises_them(message):
    assert faults.classify(RuntimeError(message)) == faults.STICKY


@pytest.mark.parametrize("code,kind", [(710, faults.STICKY), (700, faults.STICKY),
                                       (719, faults.STICKY), (716, faults.STICKY),
                                       (214, faults.STICKY), (2, faults.OOM),
                                       (1, faults.TRIAL), (209, faults.TRIAL)])
def test_accelerator_errors_by_cuda_error_number(code, kind):
    """torch.AcceleratorError (this torch's class for CUDA errors) by its number, whatever the
    text says; 1 (invalid argument) and 209 (no kernel image) leave the context usable."""
    assert faults.classify(_accelerator(f"CUDA error: code {code}", code)) == kind


def test_out_of_memory_in_every_form_torch_raises_it():
    assert faults.classify(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate "
                                                       "20.00 MiB")) == faults.OOM
    assert faults.classify(_cpu_allocator_error()) == faults.OOM      # a real one
    assert faults.classify(MemoryError()) == faults.OOM
    assert faults.classify(RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling "
                                        "`cublasCreate(handle)`")) == faults.OOM


def test_everything_else_is_one_failed_trial():
    import optuna

    for e in (ValueError("bad shape"), TrainingError("non-finite training loss (nan) in epoch 1"),
              RuntimeError("mat1 and mat2 shapes cannot be multiplied (8x16 and 32x10)"),
              optuna.TrialPruned("pruned after epoch 1"), KeyError("x")):
        assert faults.classify(e) == faults.TRIAL, e


def test_a_wrapped_error_is_judged_by_its_whole_chain():
    def wrapped(inner, outer):
        try:
            try:
                raise inner
            except Exception as e:
                raise outer from e
        except type(outer) as e:
            return e

    sticky = _accelerator("CUDA error: an illegal memory access was encountered", 700)
    assert faults.classify(wrapped(sticky, TrainingError("candidate failed"))) == faults.STICKY
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory")
    assert faults.classify(wrapped(oom, RuntimeError("my model failed"))) == faults.OOM
    # sticky wins over out of memory anywhere in the chain
    assert faults.classify(wrapped(sticky, torch.cuda.OutOfMemoryError("x"))) == faults.STICKY


def test_device_lost_carries_the_reason_and_check_raises_it_only_for_sticky_errors():
    e = RuntimeError(STICKY_MESSAGES[0])
    with pytest.raises(faults.DeviceLost) as lost:
        faults.check(e, "cuda:0")
    assert lost.value.reason == "RuntimeError: CUDA error: device-side assert triggered"
    assert lost.value.device == "cuda:0" and lost.value.__cause__ is e
    assert "\n" not in str(lost.value) and faults.DeviceLost.EXIT_CODE not in (0, 1, 2, 130)
    assert faults.check(ValueError("x"), "cpu") == faults.TRIAL
    assert faults.check(torch.cuda.OutOfMemoryError("CUDA out of memory"), "cpu") == faults.OOM
    assert faults.probe_device("cpu") is None


# -- precision -----------------------------------------------------------------------------------

@pytest.mark.parametrize("gpu,cap,bf16,expected", [
    ("H100", (9, 0), True, "bf16"), ("A100", (8, 0), True, "bf16"),
    ("RTX 4090", (8, 9), True, "bf16"), ("V100", (7, 0), True, "fp16"),  # bf16 only emulated
    ("T4", (7, 5), False, "fp16"), ("P100", (6, 0), False, "fp32"), ("K80", (3, 7), False, "fp32")])
def test_auto_precision_per_gpu_capability(gpu, cap, bf16, expected):
    assert precision.choose_precision("cuda", cap, bf16) == expected, gpu


def test_precision_on_the_cpu_and_explicit_choices():
    assert precision.choose_precision("cpu") == "fp32"
    assert precision.choose_precision("cpu", requested="bf16") == "bf16"
    assert precision.choose_precision("cuda", (8, 0), True, "fp32") == "fp32"
    assert precision.choose_precision("cuda", (9, 0), True, "fp16") == "fp16"
    assert precision.choose_precision("cuda", (7, 5), False, "fp16") == "fp16"
    with pytest.raises(ConfigError, match="compute capability 8.0"):
        precision.choose_precision("cuda", (7, 5), True, "bf16")
    with pytest.raises(ConfigError, match="train.precision"):
        precision.choose_precision("cpu", requested="half")


@pytest.mark.parametrize("prec,dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                        ("fp16", torch.float16)])
def test_the_precision_is_in_effect_and_recorded(digits, prec, dtype):
    net = _net()
    res = trainer.train(net, digits, 8, _recipe(epochs=1), "cpu", precision=prec)
    assert {d for d, _, _ in net.seen} == {dtype}
    assert all(cl for _, cl, _ in net.seen)              # channels_last on the CPU too
    assert res.precision == prec and res.resources()["precision"] == prec


def test_fp16_trains_with_a_gradient_scaler(digits):
    """The first step's raw gradient (before the scaler unscales it) is 2^16 times fp32's."""
    grads = {}
    for prec in ("fp32", "fp16"):
        net = _net()
        seen = []
        net.fc.weight.register_hook(lambda g, seen=seen: seen.append(g.abs().max().item()))
        res = trainer.train(net, digits, 8, _recipe(epochs=2), "cpu", precision=prec)
        grads[prec] = seen[0]
        assert res.accuracy > 0.5, (prec, res.history)   # it learns (chance: 0.1)
    assert 2 ** 16 * 0.9 < grads["fp16"] / grads["fp32"] < 2 ** 16 * 1.1, grads


def test_the_config_takes_precision_and_deterministic():
    from gridsearch import config

    cfg = config.from_dict({"name": "p", "train": {"precision": "fp16", "deterministic": True}})
    r = cfg.train
    assert r.precision == "fp16" and r.deterministic is True
    assert config.from_dict({"name": "p"}).train.precision == "auto"
    with pytest.raises(ConfigError, match="train.precision"):
        config.from_dict({"name": "p", "train": {"precision": "half"}})


# -- out of memory: retry in micro-batches -----------------------------------------------------------

def test_oom_retry_trains_in_micro_batches_to_the_same_result(digits):
    """A network that runs out of memory mid-run (epoch 2, second step) is trained again from the
    same initial weights and seed in micro-batches of 8 with accumulated gradients: its weights
    and accuracies are those of the uninterrupted run at batch 32 (it has no BatchNorm, so the
    split changes nothing but rounding); epoch 1 is reported once."""
    plain = _net()
    base = trainer.train(plain, digits, 8, _recipe(), "cpu")
    reports = []
    picky = _net(Picky, limit=8, after=5)      # 4 steps per epoch: fails at step 2 of epoch 2
    res = trainer.train(picky, digits, 8, _recipe(), "cpu",
                        report=lambda e, a: reports.append((e, a)))
    assert res.micro_batch == 8 and "CUDA out of memory" in res.oom_retry
    assert res.resources()["micro_batch"] == 8 and "(simulated)" in res.resources()["oom_retry"]
    assert {b for _, _, b in picky.seen[-8:]} == {8}    # the retry's forwards
    assert _close(_weights(picky), _weights(plain)), "the retry did not reproduce the run"
    assert res.history == pytest.approx(base.history, abs=1 / 64 + 1e-9)
    assert [e for e, _ in reports] == [1, 2]
    assert reports[0][1] == base.history[0]               # from the first attempt


def test_the_test_can_fail_without_restoring_the_initial_weights(digits, monkeypatch):
    """Control for the test above: if the retry started from the half-trained weights, the
    result would differ (so the comparison above can detect a wrong retry)."""
    plain = _net()
    trainer.train(plain, digits, 8, _recipe(), "cpu")
    picky = _net(Picky, limit=8, after=5)
    monkeypatch.setattr(nn.Module, "load_state_dict", lambda self, *a, **k: None)
    trainer.train(picky, digits, 8, _recipe(), "cpu")
    assert not _close(_weights(picky), _weights(plain))


def test_the_cpu_allocators_own_failure_is_retried_too(digits):
    net = _net(Picky, limit=8, real=True)
    res = trainer.train(net, digits, 8, _recipe(epochs=1), "cpu")
    assert res.micro_batch == 8 and "can't allocate memory" in res.oom_retry


def test_out_of_memory_twice_is_a_training_error_with_the_reason(digits):
    net = _net(Picky, limit=1)                   # no micro-batch fits
    before = _weights(net)
    with pytest.raises(TrainingError) as e:
        trainer.train(net, digits, 12, _recipe(), "cpu")
    msg = str(e.value)
    assert msg.startswith("out of memory on cpu (peak ") and "GiB RSS)" in msg
    assert "at batch 32, 12 px, also in micro-batches of 8" in msg and "(simulated)" in msg
    # the caller's module is as it was handed in: its weights, the CPU, NCHW, no gradients
    assert _close(_weights(net), before, rtol=0, atol=0)
    assert all(p.device.type == "cpu" and p.is_contiguous() and p.grad is None
               for p in net.parameters())


def test_any_other_error_is_not_retried(digits):
    class Broken(Small):
        calls = 0

        def forward(self, x):
            Broken.calls += 1
            raise ValueError("broken candidate")

    with pytest.raises(ValueError, match="broken candidate"):
        trainer.train(_net(Broken), digits, 8, _recipe(), "cpu")
    assert Broken.calls == 1


def test_a_failing_clean_up_does_not_hide_the_error_that_stopped_the_run(digits, monkeypatch):
    """After a sticky CUDA error every CUDA call fails, putting the module back too: the error
    that says why the run stopped is the one that comes out."""
    class Poisoned(Small):
        def forward(self, x):
            raise ACCELERATOR_ERROR("CUDA error: an illegal memory access was encountered")

    def broken(*args):
        raise RuntimeError("CUDA error: an illegal memory access was encountered (again)")

    monkeypatch.setattr(trainer, "_put_back", broken)
    with pytest.raises(ACCELERATOR_ERROR, match="encountered$"):
        trainer.train(_net(Poisoned), digits, 8, _recipe(), "cpu")
    with pytest.raises(RuntimeError, match="again"):        # no error in flight: it is raised
        trainer.train(_net(), digits, 8, _recipe(epochs=1), "cpu")


class BatchNormed(nn.Module):
    """resnet18 (BatchNorm) that runs out of memory above ``limit`` images, from its ``after``-th
    such training forward on (``once``: only then, a neighbour's passing peak)."""

    def __init__(self, seed, limit=10 ** 9, after=0, once=False):
        super().__init__()
        from gridsearch import models

        torch.manual_seed(seed)
        self.net = models.build("resnet18", 0.25, 0.5, 10).module
        self.limit, self.after, self.once, self.big = limit, after, once, 0

    def forward(self, x):
        if self.training and torch.is_grad_enabled() and x.shape[0] > self.limit:
            self.big += 1
            if self.big > self.after and not (self.once and self.big > self.after + 1):
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.net(x)


def test_the_retry_keeps_batchnorm_micro_batches_at_32_or_more():
    assert trainer.retry_micro_batch(Small(), 32) == 8        # no BatchNorm: a quarter
    assert trainer.retry_micro_batch(Small(), 6) == 2
    bn = BatchNormed(0)
    assert trainer.retry_micro_batch(bn, 512) == 128
    assert trainer.retry_micro_batch(bn, 64) == 32
    assert trainer.retry_micro_batch(bn, 32) == 32            # the whole batch, retried
    assert trainer.retry_micro_batch(bn, 16) == 16


def test_a_batchnorm_network_below_the_floor_is_retried_whole_and_reproduces(digits):
    """Batch 32 with BatchNorm: the retry (after a mid-run OOM) trains whole batches again, from
    the same weights and seed: the uninterrupted run's weights, bit for bit."""
    plain, picky = BatchNormed(0), BatchNormed(0, limit=8, after=5, once=True)
    trainer.train(plain, digits, 16, _recipe(), "cpu")
    res = trainer.train(picky, digits, 16, _recipe(), "cpu")
    assert res.micro_batch == 32 and res.oom_retry
    assert _close(_weights(picky), _weights(plain), rtol=0, atol=0)


def test_batchnorm_in_too_small_micro_batches_is_what_the_floor_avoids(digits):
    """The control: the same network forced to micro-batches of 8 does not reproduce the run
    (each micro-batch normalises with its own statistics)."""
    plain = BatchNormed(0)
    trainer.train(plain, digits, 16, _recipe(epochs=1), "cpu")
    small = BatchNormed(0, limit=8)
    original = trainer.BN_MIN_MICRO
    try:
        trainer.BN_MIN_MICRO = 1
        res = trainer.train(small, digits, 16, _recipe(epochs=1), "cpu")
    finally:
        trainer.BN_MIN_MICRO = original
    assert res.micro_batch == 8
    assert not _close(_weights(small), _weights(plain), rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_oom_retry_with_batchnorm_matches_within_seed_noise():
    """Batch 128 with BatchNorm, retried in micro-batches of 32: the accuracy of the whole-batch
    run within the seed noise (3 seeds each)."""
    import math
    import statistics

    s = data.load_data("digits", train_size=512, val_size=128, seed=0)
    acc = {"whole": [], "micro": []}
    for seed in (0, 1, 2):
        r = trainer.Recipe(epochs=3, batch_size=128, optimizer="adamw", lr=3e-3, seed=seed)
        acc["whole"].append(trainer.train(BatchNormed(seed), s, 16, r, "cpu").accuracy)
        res = trainer.train(BatchNormed(seed, limit=32), s, 16, r, "cpu")
        assert res.micro_batch == 32
        acc["micro"].append(res.accuracy)
    mean = {k: statistics.mean(v) for k, v in acc.items()}
    noise = max(statistics.stdev(v) for v in acc.values())
    print(f"\nFIGURES batchnorm, batch 128 whole vs retried in micro-batches of 32: {acc}")
    assert mean["whole"] > 0.5, acc
    assert abs(mean["micro"] - mean["whole"]) <= max(3 * noise * math.sqrt(2 / 3), 0.05), acc


# -- memory ----------------------------------------------------------------------------------------

def _touch(mb, hold=0.0):
    import time

    t = torch.ones(mb * 2 ** 20 // 4)    # written: resident
    time.sleep(hold)
    return float(t[-1])


@pytest.mark.parametrize("method", ["hwm", "sample"])
def test_peak_memory_on_the_cpu_sees_a_spike_and_is_reset_per_run(method):
    if memory.rss_bytes() is None:
        pytest.skip("needs /proc (Linux)")
    gc.collect()
    with memory.PeakMemory("cpu", method) as big:
        start = memory.rss_bytes()
        _touch(200, hold=0.05)           # the sampler's interval is 5 ms
    with memory.PeakMemory("cpu", method) as small:
        _touch(1)
    assert big.kind == memory.RSS_KIND and big.method == method
    assert big.bytes - start >= 180 * 2 ** 20, (big.bytes, start)
    assert small.bytes < big.bytes - 150 * 2 ** 20, (small.bytes, big.bytes)


def test_each_run_records_its_own_peak(digits):
    class Hungry(Small):
        def forward(self, x):
            if self.training and torch.is_grad_enabled():
                _touch(150)
            return super().forward(x)

    lean = trainer.train(_net(), digits, 8, _recipe(epochs=1), "cpu")
    fat = trainer.train(_net(Hungry), digits, 8, _recipe(epochs=1), "cpu")
    again = trainer.train(_net(), digits, 8, _recipe(epochs=1), "cpu")
    assert lean.peak_memory_kind == fat.peak_memory_kind == memory.RSS_KIND
    assert fat.peak_memory_mb - lean.peak_memory_mb >= 120, (lean, fat)
    assert again.peak_memory_mb < fat.peak_memory_mb - 100      # reset between runs
    assert lean.peak_memory_mb > 0 and "peak_memory_mb" not in lean.resources()  # max of seeds


def _live_tensors():
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))


@pytest.mark.slow
def test_nothing_of_a_run_stays_alive_and_the_module_comes_back_as_it_was(digits):
    net = _net()
    before = _weights(net)
    trainer.train(_net(), digits, 8, _recipe(epochs=1), "cpu")     # warm: lazy module state
    n = _live_tensors()
    trainer.train(net, digits, 8, _recipe(epochs=1, optimizer="adamw", lr=3e-3), "cpu")
    assert _live_tensors() == n        # no optimiser state, data copy or activation kept
    assert not _close(_weights(net), before)                        # trained in place
    assert all(p.is_contiguous() and p.grad is None for p in net.parameters())


# -- determinism ---------------------------------------------------------------------------------

def test_deterministic_is_in_effect_during_the_run_and_restored_after(digits, monkeypatch):
    monkeypatch.delenv(determinism.CUBLAS_ENV, raising=False)
    flags = []

    class Watch(Small):
        def forward(self, x):
            flags.append((torch.are_deterministic_algorithms_enabled(),
                          torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark))
            return super().forward(x)

    trainer.train(_net(Watch), digits, 8, _recipe(epochs=1, deterministic=True), "cpu")
    assert set(flags) == {(True, True, False)}
    assert os.environ[determinism.CUBLAS_ENV] == ":4096:8"
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.deterministic is False
    flags.clear()
    trainer.train(_net(Watch), digits, 8, _recipe(epochs=1), "cpu")
    assert {f[0] for f in flags} == {False}


@pytest.mark.parametrize("det", [False, True])
def test_a_cpu_run_reproduces_bit_for_bit(digits, det):
    """What holds on the CPU with or without deterministic = true (same torch, same threads)."""
    a, b = _net(seed=1), _net(seed=1)
    for net in (a, b):
        trainer.train(net, digits, 8, _recipe(deterministic=det, augment="crop"), "cpu")
    assert _close(_weights(a), _weights(b), rtol=0, atol=0)


# -- a lost device: the worker stops, its unit goes to another worker ---------------------------

POISONED = """
import os

import torch
from gridsearch import models


class Poisoned(torch.nn.Module):
    \"\"\"resnet18 whose training hits a sticky CUDA error (torch's own exception class, with
    CUDA's number for an illegal address) in a process started with GS_TEST_POISON=1.\"\"\"

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        if os.environ.get("GS_TEST_POISON") and self.training and torch.is_grad_enabled():
            e = getattr(torch, "AcceleratorError", RuntimeError)(
                "CUDA error: an illegal memory access was encountered")
            e.error_code = 700
            raise e
        return self.net(x)


def build(width_mult, depth_mult, num_classes):
    return Poisoned(models.build("resnet18", width_mult, depth_mult, num_classes).module)
"""


@pytest.mark.slow
def test_a_worker_whose_device_is_lost_stops_and_another_worker_trains_its_unit(tmp_path):
    """Real worker processes on one store: the poisoned one fails its first trial as the
    device's fault, gives the unit back and exits with status 3 instead of failing every unit;
    a healthy worker then trains every unit, that one included, exactly once."""
    import optuna

    from helpers import ROOT, TINY

    (tmp_path / "poisoned_net.py").write_text(POISONED)
    path = tmp_path / "lost.toml"
    path.write_text(TINY.format(name="lost", mode="repair", storage="")
                    .replace('name = "resnet18"', 'name = "poisoned_net:build"')
                    .replace("epochs = 2", "epochs = 1"))
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    assert cli("init", path, cwd=tmp_path, env=env).returncode == 0
    sick = cli("worker", path, "--no-progress", "--no-wait", cwd=tmp_path,
               env={**env, "GS_TEST_POISON": "1"})
    assert sick.returncode == faults.DeviceLost.EXIT_CODE, sick.stderr
    assert "Traceback" not in sick.stderr
    assert any("illegal memory access" in ln for ln in error_lines(sick.stderr)), sick.stderr
    well = cli("worker", path, "--no-progress", cwd=tmp_path, env=env)
    assert well.returncode == 0, well.stderr
    trials = optuna.load_study(study_name="lost",
                               storage=f"sqlite:///{tmp_path / 'lost.db'}").get_trials()
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1 and failed[0].user_attrs["error_kind"] == "device", \
        [(t.state, t.user_attrs.get("error")) for t in trials]
    done = [t.user_attrs["unit"] for t in trials if t.state != optuna.trial.TrialState.FAIL]
    assert sorted(done) == sorted(set(done)) and failed[0].user_attrs["unit"] in done
    assert len(done) == len(set(done)) == max(done) + 1       # every unit, once


# -- one device check for every command ------------------------------------------------------------

def test_device_check():
    assert device_mod.check_device("auto", 0) == "cpu" and device_mod.check_device("auto", 2) == "cuda"
    assert device_mod.check_device("cuda:1", 2) == "cuda:1" and device_mod.check_device("cpu", 0) == "cpu"
    with pytest.raises(ConfigError, match=r"^device cuda:7: this host has 1 CUDA device\(s\), "
                                          r"cuda:0$"):
        device_mod.check_device("cuda:7", 1, env={})
    with pytest.raises(ConfigError, match=r"CUDA_VISIBLE_DEVICES=3\)$"):
        device_mod.check_device("cuda:1", 1, env={"CUDA_VISIBLE_DEVICES": "3"})
    with pytest.raises(ConfigError, match="no CUDA device"):
        device_mod.check_device("cuda", 0, env={})
    for bad in ("gpu", "cuda:x", "cuda:-1", ""):
        with pytest.raises(ConfigError, match="must be auto, cpu, cuda or cuda:N"):
            device_mod.check_device(bad, 1)


@pytest.fixture(scope="module")
def trained_study(tmp_path_factory):
    """A tiny study with one trained point (what compare and confirm need to get going)."""
    from helpers import TINY

    folder = tmp_path_factory.mktemp("devices")
    path = folder / "dev.toml"
    path.write_text(TINY.format(name="dev", mode="repair", storage="").replace(
        "epochs = 2", "epochs = 1"))
    r = cli("run", path, "--max-trials", "1", "--no-progress")
    assert r.returncode == 0, r.stderr
    return path


CONFIRM = ["confirm", "--top", "1", "--seeds", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("command,device", [(["compare"], "cuda:7"), (["compare"], "cuda"),
                                            (["compare"], "tpu"), (CONFIRM, "cuda:7"),
                                            (["run"], "cuda:7"), (["worker"], "cuda:7")])
def test_a_device_this_host_lacks_is_one_line_and_exit_2(trained_study, command, device):
    folder = trained_study.parent
    before = sql_dumps(folder)
    r = cli(*command, trained_study, "--device", device, "--no-progress"
            if command[0] != "compare" else "--json", cwd=folder)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = error_lines(r.stderr)
    assert len(lines) == 1 and lines[0].startswith("gridsearch: error: device"), r.stderr
    assert "unexpected" not in r.stderr and "Traceback" not in r.stderr
    assert sql_dumps(folder) == before           # nothing stored, nothing changed


@pytest.mark.slow
def test_scale_latency_on_a_device_this_host_lacks_is_one_line():
    r = cli("scale", "--model", "resnet18", "--strategy", "depth", "--flops-multiplier", "2",
            "--latency", "cuda:7")
    assert r.returncode == 2
    assert error_lines(r.stderr) == ["gridsearch: error: device cuda:7: no CUDA device is "
                                     "available on this host"], r.stderr


# -- placement: one visible GPU per worker ---------------------------------------------------------

def test_each_gpu_worker_sees_its_gpu_alone_as_cuda_0():
    slots = workers.placement(4, "auto", [0, 1], n_cuda=2, cores=8, env={})
    assert [s.where for s in slots] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0", "1", "0", "1"]
    assert [s.env["GRIDSEARCH_DEVICE_LOAD"] for s in slots] == ["2", "2", "2", "2"]
    cmd = workers.worker_command("s.toml", slots[1])
    assert cmd[cmd.index("--device") + 1] == "cuda:0"
    three = workers.placement(3, "cuda", [0, 1], n_cuda=2, cores=8, env={})
    assert [s.env["GRIDSEARCH_DEVICE_LOAD"] for s in three] == ["2", "1", "2"]
    every = workers.placement(3, "auto", None, n_cuda=3, cores=8, env={})   # no --gpus: all
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in every] == ["0", "1", "2"]
    one = workers.placement(2, "cuda:1", None, n_cuda=2, cores=8, env={})   # --device cuda:1
    assert [(s.device, s.env["CUDA_VISIBLE_DEVICES"]) for s in one] == [("cuda:0", "1")] * 2


def test_a_parent_limited_to_some_gpus_passes_its_own_entries_on():
    env = {"CUDA_VISIBLE_DEVICES": "2,GPU-5d1c9c5e-aaaa,MIG-1234"}
    slots = workers.placement(3, "auto", None, n_cuda=3, cores=8, env=env)
    assert [s.env["CUDA_VISIBLE_DEVICES"] for s in slots] == ["2", "GPU-5d1c9c5e-aaaa",
                                                             "MIG-1234"]
    assert [s.where for s in slots] == ["cuda:0", "cuda:1", "cuda:2"]   # the parent's numbering


def test_cpu_workers_are_told_how_many_share_the_cpu():
    slots = workers.placement(3, "cpu", None, n_cuda=1, cores=6, env={})
    assert {s.device for s in slots} == {"cpu"} and all(s.gpu is None for s in slots)
    assert all(s.env == {"GRIDSEARCH_DEVICE_LOAD": "3"} for s in slots)
    assert "CUDA_VISIBLE_DEVICES" not in slots[0].env


def test_the_pool_gives_each_worker_its_own_environment():
    """Real processes: what each worker of `run --workers 3 --gpus 0,1` would find."""
    slots = workers.placement(3, "auto", [0, 1], n_cuda=2, cores=6, env={})
    show = ("import os; print(os.environ['CUDA_VISIBLE_DEVICES'], "
            "os.environ['GRIDSEARCH_DEVICE_LOAD'], os.environ['GRIDSEARCH_STORAGE'])")
    lines = {}
    pool = workers.Pool([[sys.executable, "-c", show]] * 3,
                        lambda i, line: lines.setdefault(i, line), storage="sqlite:///x.db",
                        slots=slots)
    pool.start()
    assert pool.wait(60) == [0, 0, 0]
    assert [lines[i] for i in range(3)] == ["0 2 sqlite:///x.db", "1 1 sqlite:///x.db",
                                            "0 2 sqlite:///x.db"]


def test_sharing_comes_from_the_environment():
    assert device_mod.device_load({}) == 1
    assert device_mod.device_load({"GRIDSEARCH_DEVICE_LOAD": "4"}) == 4
    assert device_mod.device_load({"GRIDSEARCH_DEVICE_LOAD": "x"}) == 1


@pytest.mark.slow
def test_a_worker_told_a_gpu_it_cannot_see_stops_in_one_line(tiny_config):
    """What a pool worker on a host whose GPU vanished would print: the device check names
    CUDA_VISIBLE_DEVICES."""
    path = tiny_config(name="novis")
    r = cli("worker", path, "--device", "cuda:0", "--no-progress",
            env={"CUDA_VISIBLE_DEVICES": ""})
    assert r.returncode == 2
    assert error_lines(r.stderr) == ["gridsearch: error: device cuda:0: no CUDA device is "
                                     "available on this host (CUDA_VISIBLE_DEVICES=)"], r.stderr


# -- timing on a shared device ---------------------------------------------------------------------

def test_latency_keeps_its_precision_and_how_many_workers_shared_the_device(monkeypatch):
    from gridsearch.measure import _latency as latency

    monkeypatch.setenv("GRIDSEARCH_DEVICE_LOAD", "3")
    lat = latency.measure_latency(_net(), 8, "cpu", batch_size=2, warmup=0, repeats=1, num_classes=10)
    assert lat.load == 3 and lat.precision == "fp32"
    assert latency.measure_latency(_net(), 8, "cpu", batch_size=2, warmup=0, repeats=1,
                                   load=1).load == 1
    assert "latency_load" not in lat.attrs()     # the runner records it (main's record field)


def test_a_timed_study_on_a_shared_device_is_warned_about():
    shared = workers.placement(4, "auto", [0], n_cuda=1, cores=8, env={})
    assert "up to 4 workers share a GPU" in workers.shared_timing_note(shared)
    alone = workers.placement(2, "auto", [0, 1], n_cuda=2, cores=8, env={})
    assert workers.shared_timing_note(alone) is None
