"""Every command on every kind of study the project makes: an (α, β, γ) grid with seeds, TPE with
a pruner, QMC, random, a width share, a multi-objective study, a race, a minimised metric; each
also after compare and confirm added their studies to the same store. This is where crashes
between modules hide.  The subject is the commands, not training: the studies train with the
tests' own training function (tests/helpers.py OWN_TRAIN), the same on every machine."""

import json

import pytest

from gridsearch.cli import main
from helpers import TINY, own_training


def _config(name, seeds, search, extra, train=""):
    """TINY (tests/helpers.py) with 1 epoch, seeds, and the kind's search keys."""
    text = TINY.format(name=name, mode="repair", storage="")
    for old, new in (("epochs = 2", f"epochs = 1\nseeds = {seeds}"),
                     ("train_size = 128", "train_size = 96"),
                     ("tolerance = 0.15", f"tolerance = 0.15\n{search}"),
                     ("tolerance = 0.08", "tolerance = 0.1")):
        text = text.replace(old, new)
    return text + extra


KINDS = {
    "grid_seeds": dict(seeds=2, search="", extra=""),
    "tpe": dict(seeds=1, search='sampler = "tpe"\nn_trials = 3\npruner = "median"', extra=""),
    "width_share": dict(seeds=1, search="width_share = { min = 0.0, max = 1.0, step = 0.5 }",
                        extra=""),
    "multi": dict(seeds=1, search="width_share = { min = 0.0, max = 1.0, step = 0.5 }",
                  extra='\n[objectives]\nminimize = ["activations"]\n'),
    "qmc": dict(seeds=2, search='sampler = "qmc"\nn_trials = 2', extra=""),
    "random": dict(seeds=1, search='sampler = "random"\nn_trials = 2', extra=""),
    "race": dict(seeds=1, search="", extra='\n[select]\nmode = "race"\ndelta = 0.2\n'
                                           'confidence = 0.9\nn0 = 2\nmax_seeds = 3\n'),
    "tpe_race": dict(seeds=1, search='sampler = "tpe"\nn_trials = 3', extra='\n[select]\n'
                     'mode = "race"\ndelta = 0.2\nconfidence = 0.9\nn0 = 2\nmax_seeds = 3\n'),
    "minimize_race": dict(seeds=1, search="", extra='\n[select]\nmode = "race"\ndelta = 0.2\n'
                          'confidence = 0.9\nn0 = 2\nmax_seeds = 3\n',
                          train='metric = "val_loss"\ndirection = "minimize"\n'
                                '[train.args]\nsign = -1\noffset = 2.0'),
}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, f"{argv}: exit {code}: {out.err}"
    return out.out


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_command_on_every_study_kind(kind, tmp_path, capsys):
    from gridsearch import config
    from gridsearch.study import Search
    from gridsearch.viz._dashboard import annotate, study_note

    path = tmp_path / f"{kind}.toml"
    spec = dict(KINDS[kind])
    train = spec.pop("train", "")
    path.write_text(_config(kind, **spec))
    own_training(path, train=train)
    run(capsys, "run", path, "--no-progress")
    assert "trials:" in run(capsys, "status", path)
    best = json.loads(run(capsys, "best", path, "--json"))
    assert ("front" in best) if kind == "multi" else (best["value"] is not None)

    def downstream(tag):
        frozen = run(capsys, "freeze", path)
        assert "frozen: α=" in frozen and "verdict:" in frozen
        run(capsys, "scale", path, "--phi", "-1..1", "--no-progress")
        out = tmp_path / f"{tag}.json"
        run(capsys, "export", path, "-o", out, "--phi", "-1..1", "--no-progress")
        assert "counts equal the file's" in run(capsys, "build", out, "--phi", "1")
        summary = run(capsys, "report", path, "-o", tmp_path / f"report-{tag}")
        assert "best (" in summary
        search = Search(config.load(path))
        assert annotate(search) >= 1 and "Selected point" in study_note(search)

    downstream("search")
    table = run(capsys, "compare", path, "--phi", "1", "--seeds", "2", "-o", tmp_path / "cmp")
    assert f"compound minus ({'val_loss' if 'minimize' in kind else 'accuracy'}):" in table
    confirmed = run(capsys, "confirm", path, "--top", "2", "--seeds", "2", "--no-progress")
    assert "Kendall τ" in confirmed and "verdict:" in confirmed
    if "race" in kind:     # the config races: so does its confirmation
        assert "raced (δ = 0.2" in confirmed and "out_after" in confirmed
    # With the compare and confirmation studies in the same store, everything still works,
    # and the selection now rests on the confirmation.
    assert "trials:" in run(capsys, "status", path)
    assert "[confirmation]" in run(capsys, "freeze", path)
    downstream("confirmed")
    if kind != "multi":
        assert json.loads(run(capsys, "best", path, "--json"))["source"] == "confirmation"
    # The fidelity ladder above it and the check one φ up: the answer moves to the top rung
    path.write_text(path.read_text() + "\n[fidelity]\nrungs = [{}, { epochs = 2 }]\ntop = 2\n")
    one_point = "width_share" in KINDS[kind]["search"]  # its width shares are one (α, β, γ)
    if one_point:                       # one candidate: nothing to carry up, said in one line
        assert main(["climb", str(path), "--no-progress"]) == 2
        assert "1 feasible finished point(s): nothing to climb" in capsys.readouterr().err
    else:
        climbed = run(capsys, "climb", path, "--no-progress")
        assert "answer (rung 1):" in climbed, climbed
    checked = json.loads(run(capsys, "verify", path, "--phi", "1", "--seeds", "2", "--json",
                             "--no-progress"))
    assert checked["verdict"] in ("holds", "reversed", "undecided"), checked  # any verdict, but one
    assert checked["rung"].startswith("the search" if one_point else "rung 1"), checked
    assert f"one φ up: {checked['short']}" in run(capsys, "status", path)
    downstream("climbed")
    if not one_point:
        assert json.loads(run(capsys, "best", path, "--json"))["source"] == "rung 1"
