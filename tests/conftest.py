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


# -- a real PostgreSQL server, started by the tests on loopback ---------------------------------
PG_USER, PG_PASSWORD = "gridsearch", "pg-Secret-4711"


def _pg_bindir():
    import glob
    import shutil

    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)  # Debian layout
    for d in candidates:
        if d and (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


@pytest.fixture(scope="session")
def postgres_server():
    """Start a throw-away PostgreSQL on a free 127.0.0.1 port; yields its base URL (no database)."""
    import shutil
    import socket
    import tempfile

    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    root = Path(tempfile.mkdtemp(prefix="gridsearch-pg-"))
    as_postgres = []
    if os.geteuid() == 0:  # the server refuses to run as root
        as_postgres = ["runuser", "-u", "postgres", "--"]
    pwfile = root / "pw"
    pwfile.write_text(PG_PASSWORD + "\n")
    if as_postgres:
        for p in (root, pwfile):
            shutil.chown(p, "postgres")
    data = root / "data"
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", PG_USER,
                    f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c max_connections=200")
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                    "-w", "-t", "60", "-o", opts, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the test server; yields its URL."""
    import uuid

    import psycopg2

    name = "t_" + uuid.uuid4().hex[:12]
    conn = psycopg2.connect(postgres_server + "/postgres")
    conn.autocommit = True
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    yield f"{postgres_server}/{name}"
