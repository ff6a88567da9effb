"""A one-node Slurm cluster on this host for the tests (the ``slurm`` fixture in conftest.py).

munged, slurmctld and slurmd run as root with everything in one temporary folder: the config, a
munge key generated for this run, spool, state, pid and log files.  The node is this host at
127.0.0.1; no accounting database (slurmdbd), so finished jobs are read with ``scontrol show job``,
which keeps them for ``MinJobAge`` seconds.  Settings chosen to start in seconds: no cgroups, no
accounting, no energy or profile gathering, the main scheduler only.

The node declares more CPUs than the host may have (``SlurmdParameters=config_overrides``) so that
three one-core array tasks run together on a 2-core machine, and one GPU (``gres/gpu`` backed by
/dev/null): a job that asks for it is scheduled and sees ``CUDA_VISIBLE_DEVICES``, as on a GPU node,
while the host has no CUDA device.  Slurm's daemons bind their ports (picked free) on every
interface; they accept only messages signed with this run's munge key, which never leaves the
folder.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "scancel", "sinfo")
SBIN = ("/usr/sbin", "/sbin", "/usr/local/sbin")
NODE_CPUS = 4        # three 1-CPU tasks at once, whatever the host's core count
KILL_WAIT_S = 10     # scancel: SIGTERM, then SIGKILL this much later


def _which(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *SBIN]))


def unavailable() -> str | None:
    """Why no cluster can be started here (a skip reason), or None."""
    lacking = [n for n in DAEMONS + CLIENTS if _which(n) is None]
    if lacking:
        return (f"Slurm is not installed ({', '.join(lacking)} not found): apt-get install "
                "slurm-wlm munge, which scripts/test (and .ci/run) does as root")
    if os.geteuid() != 0:
        return "starting slurmd needs root (it runs each job as its user)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A started single-node cluster; :meth:`run` calls a Slurm client command on it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gridsearch-slurm-"))
        self.root.chmod(0o755)            # munged: its socket's folder must be reachable by all
        self.node = socket.gethostname().split(".")[0]   # slurmctld must find itself by name
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.started_s: float | None = None

    # -- start and stop ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        t0 = time.perf_counter()
        r = self.root
        for d in ("secret", "state", "spool", "log"):
            (r / d).mkdir(mode=0o700 if d == "secret" else 0o755)
        key = r / "secret" / "munge.key"
        key.write_bytes(os.urandom(128))  # a random key: munge's own keys are random bytes too
        key.chmod(0o600)
        sock = r / "munge.socket"
        subprocess.run([_which("munged"), f"--key-file={key}", f"--socket={sock}",
                        f"--pid-file={r / 'munged.pid'}", f"--log-file={r / 'log' / 'munged.log'}",
                        f"--seed-file={r / 'secret' / 'munged.seed'}"],
                       check=True, capture_output=True, timeout=30)
        ctld, slurmd = _free_port(), _free_port()
        self.conf.write_text(_SLURM_CONF.format(
            node=self.node, ctld_port=ctld, slurmd_port=slurmd, sock=sock, root=r,
            cpus=max(NODE_CPUS, os.cpu_count() or 1), kill_wait=KILL_WAIT_S))
        (r / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null\n")
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([_which(daemon)], check=True, capture_output=True, env=self.env,
                           timeout=30)
        deadline = time.monotonic() + timeout
        while self.run("sinfo", "-h", "-N", "-o", "%T").stdout.strip() != "idle":
            if time.monotonic() > deadline:
                raise RuntimeError("the Slurm node did not come up:\n" + self.logs())
            time.sleep(0.1)
        self.started_s = time.perf_counter() - t0

    def stop(self) -> None:
        """Cancel every job, wait for them to end, stop the daemons, remove the folder."""
        if self.conf.exists():
            self.run("scancel", "--user", "root")
            deadline = time.monotonic() + 2 * KILL_WAIT_S
            while self.run("squeue", "-h").stdout.strip() and time.monotonic() < deadline:
                time.sleep(0.2)
        pids = []
        for name in ("slurmd", "slurmctld", "munged"):
            try:
                pids.append(int((self.root / f"{name}.pid").read_text().split()[0]))
            except (OSError, ValueError, IndexError):
                continue
        _terminate(pids)
        shutil.rmtree(self.root, ignore_errors=True)

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted((self.root / "log").glob("*.log")))

    # -- clients --------------------------------------------------------------------------------
    def run(self, *args: str, env: dict | None = None, cwd=None, check: bool = False,
            timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([_which(args[0]), *args[1:]], capture_output=True, text=True,
                              env={**(env or os.environ), "SLURM_CONF": str(self.conf)},
                              cwd=cwd, check=check, timeout=timeout)

    def tasks(self, job: int) -> dict[int, dict[str, str]]:
        """Array task id (0 for a plain job) -> its ``scontrol show job`` fields."""
        out = self.run("scontrol", "show", "job", "-o", str(job), check=True).stdout
        tasks = {}
        for line in out.splitlines():
            fields = dict(re.findall(r"(\w[\w/:]*)=(\S*)", line))
            tasks[int(fields.get("ArrayTaskId") or 0)] = fields
        return tasks

    def wait(self, job: int, timeout: float = 300) -> dict[int, dict[str, str]]:
        """Wait until no task of ``job`` is pending or running; returns :meth:`tasks`."""
        deadline = time.monotonic() + timeout
        while self.run("squeue", "-h", "-j", str(job)).stdout.strip():
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job} still running after {timeout} s:\n"
                                   + self.run("squeue").stdout)
            time.sleep(0.2)
        return self.tasks(job)


def _terminate(pids: list[int], timeout: float = 10.0) -> None:
    """SIGTERM the daemons we started (not our children: they forked away) all at once, wait
    for them (each takes about 2 s to shut down), then SIGKILL those still there."""
    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False

    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 2.0)):
        for pid in pids:
            if alive(pid):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)


_SLURM_CONF = """\
ClusterName=gridsearch-tests
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
KillWait={kill_wait}
MinJobAge=3600
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""
