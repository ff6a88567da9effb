"""docker/: Docker cannot run here, so check what can be checked without it.

The compose file parses, interpolates the way Compose does (``${VAR}``, ``${VAR:-default}``,
``${VAR:?error}``), has the database with a volume, a one-shot init, workers and a dashboard
published on 127.0.0.1 only; every command it runs is a valid ``gridsearch`` command line that our
own parser accepts, naming a study config that exists; the Dockerfile copies only what exists.
"""

import re
from pathlib import Path

import pytest
import yaml

from gridsearch import cli

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
ENV = {"POSTGRES_PASSWORD": "s3cret", "STUDY": "quickstart", "WORKERS": "3"}
VAR = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")


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


GRIDSEARCH_SERVICES = ("init", "worker", "dashboard")


@pytest.mark.parametrize("service", GRIDSEARCH_SERVICES)
def test_every_command_is_a_valid_gridsearch_command_line(compose, service):
    command = compose["services"][service]["command"]
    args = cli.parser().parse_args(command)  # argparse exits (SystemExit) on anything invalid
    assert args.command == service
    config = ROOT / args.config
    assert config.is_file(), config
    assert args.storage == "postgresql://gridsearch:s3cret@postgres:5432/gridsearch"


def test_the_image_runs_gridsearch_and_copies_what_exists():
    text = (DOCKER / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["gridsearch"]' in text
    for line in text.splitlines():
        if line.startswith("COPY "):
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), src
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "docker/.env" in ignored
