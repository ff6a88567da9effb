import os
import signal
import subprocess
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=FutureWarning, message=r".*torch\.jit\.script.*")

# The tests run on small, shared CPUs: one intra-op thread there is far faster than OpenMP threads
# spin-waiting on each other (a tiny study measured 12 s vs 116 s under load). Set before torch is
# imported; subprocesses (the CLI) inherit it. An OMP_NUM_THREADS already set wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# A shell without job control starts a background command (`bash scripts/test &`, nohup) with
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler — in this process or in the
# CLI processes it starts, which inherit the disposition. The tests of Ctrl-C need one: restore it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


from helpers import PG_PASSWORD, PG_USER, TINY  # noqa: E402


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


# -- a real PostgreSQL server, started by the tests on loopback ---------------------------------
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


# -- a real Slurm cluster, started by the tests on this host (tests/slurmcluster.py) ----------
@pytest.fixture(scope="session")
def slurm():
    """A one-node Slurm (munged, slurmctld, slurmd as root, config in a temporary folder), stopped
    at the end of the session; skips where Slurm is not installed or we are not root."""
    from slurmcluster import Cluster, unavailable

    why = unavailable()
    if why:
        pytest.skip(why)
    cluster = Cluster()
    try:
        cluster.start()
        print(f"\nFIGURES slurm cluster started in {cluster.started_s:.1f} s")
        yield cluster
    finally:
        cluster.stop()
