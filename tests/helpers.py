"""What tests share besides fixtures: the tiny study config, the real CLI, SQL dumps of stores.
(``tests`` is on pytest's pythonpath: ``from helpers import TINY, cli``.)"""

import os
import subprocess
import sys
from pathlib import Path

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



def sql_dumps(folder):
    """Every SQLite store in ``folder``: file name -> full SQL dump (to prove a store unchanged)."""
    import sqlite3

    out = {}
    for p in sorted(Path(folder).glob("*.db")):
        with sqlite3.connect(p) as conn:
            out[p.name] = "\n".join(conn.iterdump())
    return out


def _console_script():
    """The ``gridsearch`` script beside this Python (a virtualenv), else on PATH (installed with
    ``pip install --target``, benchmarks/gpu_check.sh), else ``python -m gridsearch``."""
    import shutil

    beside = Path(sys.executable).parent / "gridsearch"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("gridsearch")
    return [found] if found else [sys.executable, "-m", "gridsearch"]


def cli(*args, cwd=None, timeout=600, env=None):
    """Run the real console script; returns CompletedProcess with text output."""
    return subprocess.run([*_console_script(), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=timeout, env={**os.environ, **(env or {})})


PG_USER, PG_PASSWORD = "gridsearch", "pg-Secret-4711"


def error_lines(err: str) -> list[str]:
    """stderr without the progress lines a slow step announces (``gridsearch: NAME: loading …``,
    printed only when the step takes more than a second): what bad input must leave is one line,
    ``gridsearch: error: …``, and no traceback."""
    import re

    return [ln for ln in err.splitlines()
            if ln.strip() and not re.match(r"gridsearch: (?!error:)[^:]+: ", ln)]


# -- a training function of the tests' own (issue: bring your own training) ----------------------
# Fast and the same on every machine: the value is a smooth function of the measured network (its
# parameter count and resolution) plus a small per-(network, seed) deviation, so points differ,
# seeds differ, and nothing depends on a machine's float results.  ``ctx.args`` steers it:
#   fail: list of [alpha, beta, gamma] points whose training raises (ValueError)
#   offset: added to every value;  sign: -1 turns the value into a loss (for metric "val_loss")
#   noise: the width of the per-seed deviation (default 0.01)
#   sleep: seconds each epoch lasts (a trial long enough to be interrupted while it trains)
OWN_TRAIN = '''
import math
import time
import zlib


def value(model, ctx):
    n = sum(p.numel() for p in model.parameters())
    base = 0.3 + 0.04 * math.log(n) + 0.002 * ctx.resolution
    key = f"{n}-{ctx.resolution}-{ctx.seed}".encode()
    noise = (zlib.crc32(key) % 1000 / 1000 - 0.5) * ctx.args.get("noise", 0.01)
    return ctx.args.get("offset", 0.0) + ctx.args.get("sign", 1) * (base + noise)


def fit(model, ctx):
    point = [ctx.alpha, ctx.beta, ctx.gamma]
    if point in ctx.args.get("fail", []):
        raise ValueError(f"this point always fails: {point}")
    v = value(model, ctx)
    for epoch in range(1, ctx.epochs + 1):
        time.sleep(ctx.args.get("sleep", 0))
        ctx.report(epoch, v * epoch / ctx.epochs)
    return {ctx.metric: v, "train_loss": 1.0 - v / 2}
'''


def own_training(config, module="owntrain", text=OWN_TRAIN, train="", data_external=True,
                 function="fit"):
    """Make the study config at ``config`` train with a function of its own: ``text`` written to
    ``MODULE.py`` beside it, ``[train] function = "MODULE:FUNCTION"`` plus ``train`` (more [train]
    keys), and (``data_external``) no data loaded by gridsearch.  Returns the config's path."""
    from pathlib import Path

    config = Path(config)
    (config.parent / f"{module}.py").write_text(text)
    config.write_text(own_config(config.read_text(), module, train, data_external, function))
    return config


def own_config(text, module="owntrain", train="", data_external=True, function="fit"):
    """The config ``text`` (TINY's layout) switched to ``MODULE:FUNCTION``, as
    :func:`own_training` does, for a test that writes the module itself."""
    text = text.replace('device = "cpu"',
                        f'device = "cpu"\nfunction = "{module}:{function}"\n{train}', 1)
    if data_external:
        text = text.replace('source = "digits"', 'source = "external"', 1)
    return text
