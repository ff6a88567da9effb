"""The command line as documented: every README command parses, --version, fast start."""

import re
import shlex
import subprocess
import sys

import pytest

from helpers import ROOT
from gridsearch import __version__
from gridsearch.cli import parse_args


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    out, cmd = [], ""
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S):
        for line in block.splitlines():
            cmd += line.rstrip().rstrip("\\") + " "
            if line.rstrip().endswith("\\"):
                continue
            parts, cmd = shlex.split(cmd, comments=True), ""
            if parts and parts[0] == "gridsearch":
                out.append(parts)
    return out


COMMANDS = _readme_commands()


def test_the_readme_shows_commands():
    names = {c[1] for c in COMMANDS}
    assert {"run", "status", "best", "freeze", "scale", "export", "confirm", "compare"} <= names


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c[1:4]) for c in COMMANDS])
def test_every_readme_command_parses(argv):
    args = parse_args(argv[1:])
    assert args.func is not None


def test_negative_phi_range_after_the_flag():
    args = parse_args(["scale", "studies/quickstart.toml", "--phi", "-1..4"])
    assert args.phi == "-1..4"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        parse_args(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"gridsearch {__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["status", "studies/quickstart.toml"]])
def test_commands_that_train_nothing_import_no_heavy_library(argv):
    """--help and status (on a missing study) never import torch, matplotlib or the dashboard."""
    code = ("import sys\nfrom gridsearch.cli import main\n"
            "try:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'matplotlib', 'optuna_dashboard') "
            "if m in sys.modules))" % argv)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
