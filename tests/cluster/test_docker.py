"""docker/: Docker cannot run here, so check what can be checked without it.

The compose file parses, interpolates the way Compose does (``${VAR}``, ``${VAR:-default}``,
``${VAR:?error}``, ``<<`` merges), has the database with a volume, a one-shot init, workers with a
thread count and a dashboard with a healthcheck published on 127.0.0.1 only.  The same checks run
on compose, the Slurm batch script and the Kubernetes manifest: every gridsearch command line in
them is valid for gridsearch's own parser and names a study config that exists; the storage URL
reaches gridsearch through the environment (GRIDSEARCH_STORAGE / _FILE), never a command line; no
file holds a password.  The Dockerfile installs the dependencies before it copies the code.
"""

import math
import re
import shlex
import subprocess

import pytest
import yaml

from gridsearch import cli
from helpers import ROOT

DOCKER = ROOT / "docker"
ENV = {"POSTGRES_PASSWORD": "s3cret", "STUDY": "quickstart", "WORKERS": "3", "WORKER_THREADS": "4"}
VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
# A literal password in a URL: user:SOMETHING@ where SOMETHING is not a ${variable}.
LITERAL_PASSWORD = re.compile(r"://[^:/\s'\"]*:(?!\$\{)[^@\s'\"]+@")


def interpolate(value, env):
    """Compose's variable substitution, on every string in a parsed compose file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m):
        name, op, arg = m.groups()
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(arg or name)
        return arg if op == "-" else ""

    return VAR.sub(sub, value)


@pytest.fixture(scope="module")
def compose():
    return interpolate(yaml.safe_load((DOCKER / "compose.yaml").read_text()), ENV)


def test_password_is_required():
    raw = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(raw, {})


def test_services_database_volume_and_loopback_dashboard(compose):
    s = compose["services"]
    assert {"postgres", "init", "worker", "dashboard"} <= set(s)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in s["postgres"]["volumes"])
    assert s["postgres"]["volumes"][0].split(":")[0] in compose["volumes"]
    assert s["worker"]["deploy"]["replicas"] == "3"
    assert s["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("worker", "dashboard"):
        assert s[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    ports = s["dashboard"]["ports"]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)
    for name in ("postgres", "init", "worker", "dashboard"):
        assert "ports" not in s[name] or name == "dashboard"


def test_threads_data_volume_healthcheck_pinned_images(compose):
    s = compose["services"]
    w = s["worker"]
    assert w["environment"]["OMP_NUM_THREADS"] == "4"
    assert w["command"][w["command"].index("--threads") + 1] == "4"
    for name in ("init", "worker", "dashboard"):
        assert any(v.endswith(":/data:ro") for v in s[name]["volumes"])
    assert "/api/meta" in " ".join(s["dashboard"]["healthcheck"]["test"])
    assert re.fullmatch(r"postgres:\d+\.\d+(-\w+)?", s["postgres"]["image"])
    text = (DOCKER / "compose.yaml").read_text()
    assert "# resources:" in text and "capabilities: [gpu]" in text  # the commented GPU stanza


# -- every file: valid gridsearch command lines, the URL from the environment, no secret --------
def _compose_commands():
    s = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    s = interpolate(s, ENV)["services"]
    return [(s[n]["command"], s[n]["environment"]) for n in ("init", "worker", "dashboard")]


def _sbatch_commands():
    """The gridsearch line of the batch script, its variables as sbatch would fill them."""
    text = (DOCKER / "slurm-worker.sbatch").read_text()
    lines = [ln for ln in text.splitlines() if re.match(r"\s*(exec\s+)?gridsearch\s", ln)]
    env = {"CONFIG": "studies/quickstart.toml", "THREADS": "4", "DEVICE": "cpu"}
    out = []
    for ln in lines:
        ln = re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], ln)
        out.append((shlex.split(ln)[1 + ln.lstrip().startswith("exec"):], {}))
    return out


def _k8s_commands(text=None):
    """Each container's args, with $(VAR) expanded from its environment as Kubernetes does (a
    Secret's value stands in as SECRET; requests.cpu rounded up to whole cores)."""
    text = text or (DOCKER / "k8s-workers.yaml").read_text()
    docs = [d for d in yaml.safe_load_all(text) if d]
    out = []
    for d in docs:
        spec = d["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec["containers"]:
            env = {e["name"]: e for e in c.get("env", [])}
            values = {name: _k8s_value(e, spec) for name, e in env.items()}
            args = [re.sub(r"\$\((\w+)\)", lambda m, values=values: values[m.group(1)], a) for a in c["args"]]
            out.append((args, env))
    return out


def _k8s_value(entry, spec):
    if "value" in entry:
        return entry["value"]
    ref = entry["valueFrom"]
    if "secretKeyRef" in ref:
        return "SECRET"
    field = ref["resourceFieldRef"]
    container = next(c for c in spec["containers"] if c["name"] == field["containerName"])
    kind, resource = field["resource"].split(".")
    assert kind == "requests" and resource == "cpu", field
    return str(math.ceil(float(container["resources"]["requests"]["cpu"])))


FILES = {"compose.yaml": _compose_commands, "slurm-worker.sbatch": _sbatch_commands,
         "k8s-workers.yaml": _k8s_commands}


@pytest.mark.parametrize("name", FILES)
def test_every_command_is_a_valid_gridsearch_command_line(name):
    commands = FILES[name]()
    assert commands and any(c[0] == "worker" for c, _ in commands)
    for command, _ in commands:
        args = cli.parser().parse_args(command)  # argparse exits (SystemExit) on anything invalid
        assert args.command in ("init", "worker", "dashboard")
        assert (ROOT / args.config).is_file(), args.config
        assert args.storage is None and args.storage_file is None  # the URL is in the environment
        if args.command == "worker":
            assert args.threads and args.threads >= 1


def test_the_url_comes_from_the_environment():
    for _command, env in _compose_commands():
        assert env["GRIDSEARCH_STORAGE"] == "postgresql://gridsearch:s3cret@postgres:5432/gridsearch"
    for _command, env in _k8s_commands():
        ref = env["GRIDSEARCH_STORAGE"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "gridsearch-storage", "key": "url"}
    text = (DOCKER / "slurm-worker.sbatch").read_text()
    assert "GRIDSEARCH_STORAGE_FILE" in text
    code = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("set -x" in ln or re.search(r"echo.*\$\{?GRIDSEARCH_STORAGE\b(?!:-)", ln)
                   for ln in code)  # never printed


@pytest.mark.parametrize("name", ["compose.yaml", "slurm-worker.sbatch", "k8s-workers.yaml",
                                  "Dockerfile", "example.env"])
def test_no_secret_in_the_file(name):
    text = (DOCKER / name).read_text()
    assert not LITERAL_PASSWORD.search(text.replace("PASSWORD@", "")), name
    assert "s3cret" not in text
    if name == "k8s-workers.yaml":
        kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
        assert "Secret" not in kinds  # created by the operator, not shipped with data


def test_the_slurm_script_is_bash_an_array_job_and_asks_for_no_gpu():
    """The script runs unchanged on a CPU-only partition (which rejects a GPU request): no GPU
    directive; GPU tasks ask with `sbatch --gres=gpu:1`.  Without a storage variable it refuses."""
    path = DOCKER / "slurm-worker.sbatch"
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    text = path.read_text()
    assert re.search(r"^#SBATCH --array=", text, re.M)
    assert re.search(r"^#SBATCH --cpus-per-task=\d+$", text, re.M)
    assert not re.search(r"^#SBATCH.*(--gres|--gpus|-G\b)", text, re.M)
    for documented in ("--gres=gpu:1", "GRIDSEARCH_DEVICE", "SLURM_CPUS_PER_TASK",
                       "GRIDSEARCH_STORAGE_FILE"):
        assert documented in text.split("\n#SBATCH")[0], documented  # in the header comment
    r = subprocess.run(["bash", str(path), "studies/quickstart.toml"], capture_output=True,
                       text=True, env={"PATH": "/usr/bin:/bin"})
    assert r.returncode == 2 and "GRIDSEARCH_STORAGE" in r.stderr  # refuses without a URL


@pytest.mark.parametrize("env, device, threads", [
    ({}, "cpu", "1"),                                                  # nothing said: 1 core
    ({"SLURM_CPUS_PER_TASK": "3"}, "cpu", "3"),                        # -c 3
    ({"SLURM_GPUS_ON_NODE": "1", "CUDA_VISIBLE_DEVICES": "2"}, "cuda", "1"),   # --gres=gpu:1
    ({"SLURM_GPUS_ON_NODE": "0"}, "cpu", "1"),
    ({"SLURM_GPUS_ON_NODE": "1", "GRIDSEARCH_DEVICE": "cpu"}, "cpu", "1"),     # the variable wins
    ({"GRIDSEARCH_DEVICE": "cuda:1", "SLURM_CPUS_PER_TASK": "8"}, "cuda:1", "8"),
])
def test_the_slurm_script_device_and_threads_follow_the_allocation(tmp_path, env, device, threads):
    """What the script hands gridsearch, as Slurm's variables say: a stand-in `gridsearch` on
    PATH prints its arguments (the real one runs on a real Slurm in test_slurm.py)."""
    fake = tmp_path / "gridsearch"
    fake.write_text('#!/bin/bash\necho "ARGS $* OMP=$OMP_NUM_THREADS"\n')
    fake.chmod(0o755)
    url = "postgresql://gridsearch:s3cret@db:5432/gridsearch"
    r = subprocess.run(["bash", str(DOCKER / "slurm-worker.sbatch"), "studies/x.toml"],
                       capture_output=True, text=True,
                       env={"PATH": f"{tmp_path}:/usr/bin:/bin", "GRIDSEARCH_STORAGE": url, **env})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (f"ARGS worker studies/x.toml --device {device} --threads {threads} "
                                f"--no-progress OMP={threads}")
    assert f"device {device}, {threads} thread(s), config studies/x.toml" in r.stderr
    assert "s3cret" not in r.stdout + r.stderr


def test_k8s_device_gpu_and_threads_are_configurable():
    """The worker's device is GRIDSEARCH_DEVICE (default auto: the GPU the pod was given, else
    cpu), its threads the cores it requests; the GPU limit is one commented line, enabled by the
    sed line of the manifest's header (as the README says)."""
    text = (DOCKER / "k8s-workers.yaml").read_text()
    (args, env), = [(a, e) for a, e in _k8s_commands(text) if a[0] == "worker"]
    assert args[args.index("--device") + 1] == "auto" and args[args.index("--threads") + 1] == "2"
    assert "OMP_NUM_THREADS" in env
    job = next(d for d in yaml.safe_load_all(text) if d)
    assert "nvidia.com/gpu" not in job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    sed = "s|^\\( *\\)# nvidia.com/gpu|\\1nvidia.com/gpu|"
    assert f"sed '{sed}' docker/k8s-workers.yaml | kubectl apply -f -" in text
    readme = (ROOT / "README.md").read_text()
    assert f"sed '{sed}' docker/k8s-workers.yaml | kubectl apply -f -" in readme
    gpu = subprocess.run(["sed", sed, str(DOCKER / "k8s-workers.yaml")], capture_output=True,
                         text=True, check=True).stdout
    job = next(d for d in yaml.safe_load_all(gpu) if d)
    assert job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "memory": "8Gi", "nvidia.com/gpu": 1}
    assert gpu.count("\n") == text.count("\n") and sum(
        a != b for a, b in zip(gpu.splitlines(), text.splitlines(), strict=True)) == 1   # that line only
    cpu_args = [a for a, _ in _k8s_commands(text)]
    assert cpu_args == [a for a, _ in _k8s_commands(gpu)]


def test_k8s_job_runs_parallel_workers():
    job = next(d for d in yaml.safe_load_all((DOCKER / "k8s-workers.yaml").read_text()) if d)
    assert job["kind"] == "Job" and job["spec"]["parallelism"] >= 2
    assert job["spec"]["completions"] == job["spec"]["parallelism"]


def test_the_image_installs_dependencies_before_the_code():
    text = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["gridsearch"]' in text
    lines = text.splitlines()
    for line in lines:
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src
    first_code = next(i for i, ln in enumerate(lines) if ln.startswith("COPY gridsearch"))
    deps = next(i for i, ln in enumerate(lines) if "requirements.txt" in ln and "pip install" in ln)
    assert deps < first_code  # a code edit does not reinstall torch
    assert "PIP_CACHE_DIR=/var/cache/pip" in text                   # pip caches where the mount is
    assert text.count("--mount=type=cache,target=/var/cache/pip") == 2
    assert "PIP_NO_CACHE_DIR" not in text
    base = next(ln for ln in lines if ln.startswith("FROM "))
    assert re.fullmatch(r"FROM python:\d+\.\d+\.\d+-slim-\w+(@sha256:\w+)?", base)
    assert 'VOLUME ["/data"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "docker/.env" in ignored and "docker/storage-url" in ignored
