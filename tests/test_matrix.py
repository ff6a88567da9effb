"""Every command on every kind of study the project makes: an (α, β, γ) grid with seeds, TPE with
a pruner, a width share, a multi-objective study; each also after compare and confirm added their
studies to the same store. This is where crashes between modules hide."""

import json

import pytest

from gridsearch.cli import main

BASE = """
name = "{name}"
[model]
name = "resnet18"
base_resolution = 32
num_classes = 10
width_mult = 0.25
depth_mult = 0.5
[data]
source = "digits"
train_size = 96
val_size = 64
[train]
epochs = 1
batch_size = 32
lr = 0.1
device = "cpu"
seeds = {seeds}
[search]
alpha = {{ min = 1.0, max = 2.0, step = 1.0 }}
beta = {{ min = 1.0, max = 1.5, step = 0.5 }}
gamma = {{ min = 1.0, max = 1.5, step = 0.5 }}
target = 2.0
tolerance = 0.15
{search}
[budget]
mode = "repair"
tolerance = 0.1
{extra}
"""

KINDS = {
    "grid_seeds": dict(seeds=2, search="", extra=""),
    "tpe": dict(seeds=1, search='sampler = "tpe"\nn_trials = 3\npruner = "median"', extra=""),
    "width_share": dict(seeds=1, search="width_share = { min = 0.0, max = 1.0, step = 0.5 }",
                        extra=""),
    "multi": dict(seeds=1, search="width_share = { min = 0.0, max = 1.0, step = 0.5 }",
                  extra='[objectives]\nminimize = ["activations"]'),
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
    from gridsearch.study._search import Search
    from gridsearch.viz._dashboard import annotate, study_note

    path = tmp_path / f"{kind}.toml"
    path.write_text(BASE.format(name=kind, **KINDS[kind]))
    run(capsys, "run", path, "--no-progress")
    assert "trials:" in run(capsys, "status", path)
    best = json.loads(run(capsys, "best", path, "--json"))
    assert ("front" in best) if kind == "multi" else (best["accuracy"] is not None)

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
    assert "compound minus:" in table
    confirmed = run(capsys, "confirm", path, "--top", "2", "--seeds", "2", "--no-progress")
    assert "Kendall τ" in confirmed and "verdict:" in confirmed
    # With the compare and confirmation studies in the same store, everything still works,
    # and the selection now rests on the confirmation.
    assert "trials:" in run(capsys, "status", path)
    assert "[confirmation]" in run(capsys, "freeze", path)
    downstream("confirmed")
    if kind != "multi":
        assert json.loads(run(capsys, "best", path, "--json"))["source"] == "confirmation"
