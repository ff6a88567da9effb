"""The shipped Slurm script on a real Slurm: a one-node cluster started by the tests (``slurm``
fixture, tests/slurmcluster.py), a real PostgreSQL study, array jobs of 3 tasks.

- ``gridsearch init`` prints the sbatch line; run as printed, its 3 tasks train every (point, seed)
  exactly once.  ``scancel`` of a task mid-trial (Slurm's default: SIGTERM, then SIGKILL after
  KillWait) reaches gridsearch, which fails its trial as interrupted and gives its unit back at
  once: another task trains it, no grace period waited.
- ``scancel --batch --signal=KILL`` kills a task hard, as the OOM killer or a lost node would: its
  trial stays RUNNING until the heartbeat grace period, then another task fails it and trains the
  unit again.  (A plain ``scancel --signal=KILL`` is a cancel: Slurm still sends SIGTERM first.)
- The exit status Slurm reports is the script's: 0 when done, 130 when cancelled, 2 on bad input
  (a GPU task on this CPU-only host; no storage variable), 0:9 when killed.
- No password in any job output.

Each test prints a FIGURES line (tasks, units, trials, retries, wall time).
"""

import os
import re
import stat
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from optuna.trial import TrialState

from gridsearch import cli
from gridsearch.storage import open_storage
from helpers import PG_PASSWORD, ROOT, own_training

pytestmark = [pytest.mark.slow, pytest.mark.slurm, pytest.mark.postgres]

SCRIPT = ROOT / "docker" / "slurm-worker.sbatch"
WORKERS = "\n[workers]\nheartbeat_interval = 1.0\ngrace_period = 3.0\n"
HEADER = re.compile(r"gridsearch: task (\d+) of job (\d+) on ([^:\s]+):(\d+), device (\S+), "
                    r"(\d+) thread\(s\)")


def study_config(tiny_config, name):
    """TINY's 3 points, every one trained (repair mode): 3 units; short heartbeats; 512 training
    images, so that a trial lasts a few seconds: long enough to be interrupted while it trains."""
    path = tiny_config(name=name, mode="repair", extra=WORKERS)
    path.write_text(path.read_text().replace("train_size = 128", "train_size = 512"))
    return path


def job_env(**extra):
    """The submitting shell: gridsearch on PATH, no storage variable unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDSEARCH_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return {**env, **extra}


def init(path, env, monkeypatch, capsys):
    """`gridsearch init CONFIG` as the user types it in the config's folder (in this process:
    one interpreter start less), with the storage variable of ``env``; returns (stdout, stderr)."""
    monkeypatch.chdir(path.parent)
    for name in ("GRIDSEARCH_STORAGE", "GRIDSEARCH_STORAGE_FILE"):
        if name in env:
            monkeypatch.setenv(name, env[name])
    capsys.readouterr()
    code = cli.main(["init", path.name])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def secret_file(folder, url):
    path = folder / "storage-url"
    path.write_text(url + "\n")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return path


def submitted(r):
    assert r.returncode == 0, r.stderr
    return int(re.search(r"Submitted batch job (\d+)", r.stdout).group(1))


def headers(folder, job):
    """task -> (pid, device, threads) from the script's first line in each task's output."""
    out = {}
    for p in folder.glob(f"gridsearch-{job}_*.out"):
        m = HEADER.search(p.read_text(errors="replace"))
        if m:
            out[int(m.group(1))] = (int(m.group(4)), m.group(5), int(m.group(6)))
    return out


def outputs(folder, job):
    return {int(p.stem.rsplit("_", 1)[1]): p.read_text(errors="replace")
            for p in folder.glob(f"gridsearch-{job}_*.out")}


def kill_mid_trial(cluster, folder, job, storage, study_name, how, timeout=240):
    """Wait for a trial that is training in one of ``job``'s tasks, then scancel that task
    (``how``: scancel's options); returns (task, trial)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = {pid: task for task, (pid, _, _) in headers(folder, job).items()}
        try:
            sid = storage.get_study_id_from_name(study_name)
            running = storage.get_all_trials(sid, deepcopy=False, states=(TrialState.RUNNING,))
        except KeyError:
            running = []
        for t in running:
            pid = int(t.user_attrs.get("worker", ":0").rsplit(":", 1)[1])
            if t.user_attrs.get("feasible") and pid in pids:   # measured: training now
                task = pids[pid]
                r = cluster.run("scancel", *how, f"{job}_{task}")
                assert r.returncode == 0, r.stderr
                return task, t
        time.sleep(0.05)
    raise AssertionError("no trial was seen training:\n" + cluster.run("squeue").stdout)


def unit_figures(storage, study_name):
    """Trials of a finished study: every unit trained (not failed) exactly once?"""
    sid = storage.get_study_id_from_name(study_name)
    trials = storage.get_all_trials(sid, deepcopy=False)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    done = Counter((t.user_attrs["point_index"], t.user_attrs["seed"]) for t in trials
                   if t.state != TrialState.FAIL)
    return trials, done


def train_s(trials):
    """Mean training time of the completed trials (how long a trial is there to interrupt)."""
    ts = [t.user_attrs["train_seconds"] for t in trials if t.state == TrialState.COMPLETE]
    return round(sum(ts) / len(ts), 1)


def report(label, **f):
    print(f"\nFIGURES {label}: " + " ".join(f"{k}={v}" for k, v in f.items()))


def check_no_password(*texts):
    for text in texts:
        assert PG_PASSWORD not in text


def test_init_line_runs_as_printed_and_scancel_gives_the_unit_back(slurm, postgres_url,
                                                                    tiny_config, tmp_path,
                                                                    monkeypatch, capsys):
    """`gridsearch init` prints the sbatch line; run as printed (with -c 1: this host has few
    cores), 3 tasks train the 3 units; one task is scancelled mid-trial (SIGTERM): its trial is
    failed as interrupted and its unit trained by another task at once.  Slurm reports 0 for the
    others and 130 (gridsearch's interrupt status) for the cancelled one."""
    t0 = time.perf_counter()
    path = study_config(tiny_config, "slurm_term")
    secret = secret_file(tmp_path, postgres_url)
    env = job_env(GRIDSEARCH_STORAGE_FILE=str(secret))
    out, err = init(path, env, monkeypatch, capsys)
    line = out.splitlines()[-1].strip()
    assert line == f"GRIDSEARCH_STORAGE_FILE={secret} sbatch --array=0-2 {SCRIPT} {path.name}"
    check_no_password(out, err)
    job = submitted(slurm.run("bash", "-c", line.replace(" sbatch ", " sbatch -c 1 ", 1),
                              env=env, cwd=tmp_path))
    storage = open_storage(postgres_url, heartbeat=False)
    victim_task, victim = kill_mid_trial(slurm, tmp_path, job, storage, "slurm_term", [])
    tasks = slurm.wait(job)
    trials, done = unit_figures(storage, "slurm_term")
    after = storage.get_trial(victim._trial_id)
    retried = [t for t in trials if t.state != TrialState.FAIL
               and t.user_attrs["unit"] == victim.user_attrs["unit"]]
    workers = {t.user_attrs["worker"] for t in trials}
    report("slurm scancel (SIGTERM) of 1 of 3 tasks mid-trial", tasks=len(tasks), units=3,
           trials=len(trials), retries=len(trials) - 3, workers=len(workers), train_s=train_s(trials),
           wall_s=round(time.perf_counter() - t0, 1))
    assert sorted(tasks) == [0, 1, 2]
    assert set(done) == {(p, 0) for p in range(3)} and set(done.values()) == {1}
    assert after.state == TrialState.FAIL and after.user_attrs.get("interrupted")
    assert len(trials) == 4 and len(retried) == 1
    assert retried[0].user_attrs["worker"] != victim.user_attrs["worker"]
    assert len(workers) >= 2
    for task, fields in tasks.items():
        if task == victim_task:
            assert fields["JobState"] == "CANCELLED" and fields["ExitCode"] == "130:0", fields
        else:
            assert fields["JobState"] == "COMPLETED" and fields["ExitCode"] == "0:0", fields
    heads = headers(tmp_path, job)
    assert {task: h[1:] for task, h in heads.items()} == {t: ("cpu", 1) for t in range(3)}
    texts = outputs(tmp_path, job)
    assert all("Traceback" not in text for text in texts.values()), texts
    check_no_password(*texts.values(), slurm.run("scontrol", "show", "job", str(job)).stdout)


def test_a_task_killed_hard_is_retried_after_the_grace_period(slurm, postgres_url, tiny_config,
                                                              tmp_path, monkeypatch, capsys):
    """The shipped script as users submit it (URL in GRIDSEARCH_STORAGE): `scancel --batch
    --signal=KILL` of a task mid-trial leaves its trial RUNNING with no heartbeat; after the grace
    period (3 s) another task fails it and trains the unit again. Slurm reports 0:9 (killed by
    signal 9) for that task, 0 for the others."""
    t0 = time.perf_counter()
    path = study_config(tiny_config, "slurm_kill")
    env = job_env(GRIDSEARCH_STORAGE=postgres_url)
    out, err = init(path, env, monkeypatch, capsys)
    assert out.splitlines()[-1].strip() == (
        f"sbatch --array=0-2 {SCRIPT} {path.name}  # GRIDSEARCH_STORAGE passes on from this "
        "shell (export it)")
    check_no_password(out, err)
    job = submitted(slurm.run("sbatch", "--array=0-2", "-c", "1", str(SCRIPT), path.name,
                              env=env, cwd=tmp_path))
    storage = open_storage(postgres_url, heartbeat=False)
    victim_task, victim = kill_mid_trial(slurm, tmp_path, job, storage, "slurm_kill",
                                         ["--batch", "--signal=KILL"])
    killed_at = time.time()
    tasks = slurm.wait(job)
    trials, done = unit_figures(storage, "slurm_kill")
    after = storage.get_trial(victim._trial_id)
    retried = [t for t in trials if t.state != TrialState.FAIL
               and t.user_attrs["unit"] == victim.user_attrs["unit"]]
    report("slurm scancel --batch --signal=KILL of 1 of 3 tasks mid-trial", tasks=len(tasks),
           units=3, trials=len(trials), retries=len(trials) - 3,
           train_s=train_s(trials), retry_after_s=round(retried[0].datetime_start.timestamp() - killed_at, 1),
           wall_s=round(time.perf_counter() - t0, 1))
    assert set(done) == {(p, 0) for p in range(3)} and set(done.values()) == {1}
    assert after.state == TrialState.FAIL                       # by heartbeat: no cleanup ran
    assert not after.user_attrs.get("interrupted") and "error" not in after.user_attrs
    assert len(trials) == 4 and len(retried) == 1
    assert retried[0].datetime_start.timestamp() - killed_at >= 3.0 - 1.0   # the grace period
    for task, fields in tasks.items():
        if task == victim_task:
            assert fields["JobState"] == "FAILED" and fields["ExitCode"] == "0:9", fields
        else:
            assert fields["JobState"] == "COMPLETED" and fields["ExitCode"] == "0:0", fields
    texts = outputs(tmp_path, job)
    check_no_password(*texts.values())


def test_exit_status_is_the_scripts(slurm, postgres_url, tiny_config, tmp_path):
    """Slurm reports the script's status 2 for bad input: a GPU task (`--gres=gpu:1`, so the
    device is cuda) with 2 cores on this CPU-only host, and a job without a storage variable.
    Neither prints the password."""
    t0 = time.perf_counter()
    path = study_config(tiny_config, "slurm_exit")
    secret = secret_file(tmp_path, postgres_url)
    gpu = submitted(slurm.run("sbatch", "--array=0", "--gres=gpu:1", "-c", "2", str(SCRIPT),
                              path.name,
                              env=job_env(GRIDSEARCH_STORAGE_FILE=str(secret)), cwd=tmp_path))
    bare = submitted(slurm.run("sbatch", "--array=0", "-c", "1", str(SCRIPT), path.name,
                               env=job_env(), cwd=tmp_path))
    g, b = slurm.wait(gpu)[0], slurm.wait(bare)[0]
    report("slurm exit status", jobs=2, wall_s=round(time.perf_counter() - t0, 1))
    texts = {job: outputs(tmp_path, job) for job in (gpu, bare)}
    assert g["JobState"] == "FAILED" and g["ExitCode"] == "2:0", (g, texts)
    assert b["JobState"] == "FAILED" and b["ExitCode"] == "2:0", (b, texts)
    assert sorted(texts[gpu]) == sorted(texts[bare]) == [0]   # --array=0: one task each
    gpu_text, bare_text = texts[gpu][0], texts[bare][0]
    assert HEADER.search(gpu_text).group(5, 6) == ("cuda", "2")
    assert "gridsearch: error:" in gpu_text and "Traceback" not in gpu_text
    assert "set GRIDSEARCH_STORAGE_FILE" in bare_text
    check_no_password(gpu_text, bare_text)


def test_a_training_function_beside_the_config_runs_in_every_task(slurm, postgres_url, tiny_config,
                                                                  tmp_path, monkeypatch, capsys):
    """A training function in a module beside the config (not installed, no PYTHONPATH), the
    job submitted from another folder: each array task imports it from the config's folder, and
    every unit is trained by it exactly once (its extra metric on every trial)."""
    t0 = time.perf_counter()
    path = own_training(study_config(tiny_config, "slurm_own"), train="[train.args]\nsleep = 1.0")
    secret = secret_file(tmp_path, postgres_url)
    env = {k: v for k, v in job_env(GRIDSEARCH_STORAGE_FILE=str(secret)).items()
           if k != "PYTHONPATH"}
    out, _ = init(path, env, monkeypatch, capsys)
    line = out.splitlines()[-1].strip().replace(f" {path.name}", f" {path}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    job = submitted(slurm.run("bash", "-c", line.replace(" sbatch ", " sbatch -c 1 ", 1),
                              env=env, cwd=elsewhere))
    tasks = slurm.wait(job)
    storage = open_storage(postgres_url, heartbeat=False)
    trials, done = unit_figures(storage, "slurm_own")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    report("slurm: a training function beside the config", tasks=len(tasks), units=3,
           trials=len(trials), complete=len(complete),
           workers=len({t.user_attrs["worker"] for t in trials}),
           wall_s=round(time.perf_counter() - t0, 1))
    assert sorted(tasks) == [0, 1, 2]
    assert all(f["ExitCode"] == "0:0" for f in tasks.values()), tasks
    assert set(done) == {(p, 0) for p in range(3)} and set(done.values()) == {1}
    assert complete and all(set(t.user_attrs["metrics"]) == {"train_loss"} for t in complete)
    texts = outputs(elsewhere, job)
    assert all("Traceback" not in text for text in texts.values()), texts
