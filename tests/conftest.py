import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit\.script.*")

# The tests run on small, shared CPUs: one intra-op thread there is far faster than OpenMP threads
# spin-waiting on each other (a tiny study measured 12 s vs 116 s under load). Set before torch is
# imported; subprocesses (the CLI) inherit it. An OMP_NUM_THREADS already set wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]

TINY = """
name = "{name}"
{storage}
[model]
name = "resnet18"
base_resolution = 32
num_classes = 10
width_mult = 0.25
depth_mult = 0.5

[data]
source = "digits"
train_size = 128
val_size = 64

[train]
epochs = 2
batch_size = 32
lr = 0.1
device = "cpu"

[search]
alpha = {{ min = 1.0, max = 2.0, step = 1.0 }}
beta = {{ min = 1.0, max = 1.5, step = 0.5 }}
gamma = {{ min = 1.0, max = 1.5, step = 0.5 }}
target = 2.0
tolerance = 0.15

[budget]
mode = "{mode}"
tolerance = 0.08
"""


@pytest.fixture
def tiny_config(tmp_path):
    """Write a tiny, fast study config; returns a function(name=..., mode=..., storage=...)."""

    def make(name="tiny", mode="reject", storage=None, extra=""):
        text = TINY.format(name=name, mode=mode,
                           storage=f'storage = "{storage}"' if storage else "") + extra
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        return path

    return make


def cli(*args, cwd=None, timeout=600, env=None):
    """Run the real console script; returns CompletedProcess with text output."""
    exe = Path(sys.executable).parent / "gridsearch"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, env={**os.environ, **(env or {})})
