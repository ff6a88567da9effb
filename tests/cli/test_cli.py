"""The command line as documented: every README command parses, --version, fast start."""

import re
import shlex
import subprocess
import sys

import pytest

from gridsearch import __version__
from gridsearch.cli import parse_args
from helpers import ROOT


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
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'matplotlib', 'optuna_dashboard') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_every_command_and_option_is_described():
    """Help that guides: every command has a description, every option a help text, the commands
    come in the usual order, and no option's help names an option its command lacks."""
    import argparse
    import re

    from gridsearch.cli import parser

    p = parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    names = list(sub.choices)
    order = ["plan", "run", "status", "confirm", "freeze", "scale", "export", "report"]
    assert [n for n in names if n in order] == order, names
    missing = []
    for name, cmd in sub.choices.items():
        if not cmd.description:
            missing.append(f"{name}: no description")
        flags = {o for a in cmd._actions for o in a.option_strings}
        for a in cmd._actions:
            if a.help == argparse.SUPPRESS or isinstance(a, argparse._HelpAction):
                continue
            if not a.help:
                missing.append(f"{name} {'/'.join(a.option_strings) or a.dest}: no help")
            for named in re.findall(r"(?<![\w-])--[a-z][a-z-]+", a.help or ""):
                if named not in flags:
                    missing.append(f"{name} {'/'.join(a.option_strings)}: mentions {named}")
    assert not missing, missing
