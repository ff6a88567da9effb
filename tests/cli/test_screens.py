"""What the screens and the export say about a study: exact provenance, counts in units a user can
map to work, formatted figures, long lists kept short.  The studies are written without training
(tests/synthetic.py) into the config's own store, and the real CLI reads them (in this process)."""

from __future__ import annotations

import json
import re

import pytest

from gridsearch.study import SEED_OFFSET, plan_of, read
from synthetic import RACE, accuracy, add, config_text, confirmed, grid, new_search, race

# a grid of 4 points near the budget (2 feasible)
SMALL = """alpha = {{ min = 1.6, max = 2.0, step = 0.4 }}
beta = {{ min = 1.0, max = 1.1, step = 0.1 }}
gamma = {{ min = 1.0, max = 1.0, step = 0.1 }}"""


def main(capsys, *args):
    from gridsearch.cli import main as cli_main

    code = cli_main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_export_states_the_fidelity_of_the_trials_that_chose(tmp_path, capsys):
    """A point chosen by a 4-epoch confirmation is exported with the confirmation's epochs and
    seeds (the search trained 2 epochs)."""
    search = confirmed(tmp_path, memory=False, search=SMALL)
    out = tmp_path / "fam.json"
    main(capsys, "export", search.cfg.path, "-o", out, "--phi", "0,1", "--no-progress")
    prov = json.loads(out.read_text())["provenance"]
    assert prov["selection"]["source"] == "confirmation"
    assert prov["epochs"] == 4 and prov["search"]["epochs"] == 2
    fid = prov["fidelity"]
    assert fid["study"] == "conf-confirm" and fid["epochs"] == 4
    assert (fid["train_size"], fid["val_size"]) == (128, 64)
    assert fid["seeds"] == [SEED_OFFSET + s for s in range(3)]   # the confirmation's own seeds
    assert fid["resolution"] == 32


def test_status_counts_points_units_and_trials(tmp_path, capsys):
    """An infeasible point is one check, not `seeds` units of work."""
    search = grid(tmp_path, "counts", memory=False)       # 3 seeds a point
    records = read(search.study(create=False))
    infeasible = sum(r.state == "INFEASIBLE" for r in records)
    trained = sum(r.state == "COMPLETE" for r in records)
    assert infeasible and trained
    out = main(capsys, "status", search.cfg.path)
    points = len(search.items)
    assert f"points: {points}, {infeasible} found infeasible" in out
    assert (f"units: {trained + infeasible} of {trained + infeasible} finished: {trained} trained, "
            f"{infeasible} infeasible, 0 failed; 0 running, 0 left") in out


def test_the_run_counter_grows_by_one_a_trial_through_a_race(tmp_path):
    """k (done + failed) of `[k/N]` is what status counts: one more per finished trial, never a
    jump when the race drops points or an infeasible point's seeds; N shrinks instead."""
    fresh = new_search(config_text("counter", tmp_path, extra=RACE))
    cfg, study = fresh.cfg, fresh.study(create=True)
    plan = plan_of(cfg)
    ks, ns = [], []
    while True:
        opening = plan.open(read(study))
        if not opening.units:
            break
        u = opening.units[0]
        unit = plan.unit(u)
        p = plan.items[unit.item].spec.point
        add(study, cfg, p, seeds=[unit.seed], unit=u, index=unit.item,
            values=[accuracy(p, unit.seed, False)])
        prog = plan.progress(read(study))
        ks.append(prog["done"] + prog["failed"])
        ns.append(prog["done"] + prog["failed"] + prog["running"] + prog["left"])
        assert prog.get("units", ns[-1]) == ns[-1]
    assert ks == list(range(1, len(ks) + 1))
    assert ns == sorted(ns, reverse=True) and ns[-1] == ks[-1] == len(study.trials)
    assert ns[0] > ns[-1]             # work the race and the budget made unnecessary


def test_scale_at_phi_zero_is_the_baseline_resolution(capsys):
    out = main(capsys, "scale", "--model", "resnet18", "--alpha", "1.2", "--beta", "1.1",
               "--gamma", "1.15", "--base-resolution", "32", "--phi", "0..1", "--json",
               "--no-progress")
    fam = {m["phi"]: m for m in json.loads(out)["family"]}
    assert fam[0]["resolution"] == 32 and fam[0]["effective_gamma"] == 1
    assert fam[1]["effective_gamma"] == pytest.approx(fam[1]["resolution"] / 32, abs=1e-6)


def test_best_formats_floats_and_shows_p_best_of_a_race(tmp_path, capsys):
    search = race(tmp_path, "pb", memory=False)
    out = main(capsys, "best", search.cfg.path)
    assert not re.search(r"\d\.\d{7,}", out), out          # no 0.9111111111111111
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("p_best"))
    p = json.loads(main(capsys, "best", search.cfg.path, "--json"))["p_best"]
    assert p is not None and line.split()[-1] == f"{p:.3f}"


def test_long_lists_print_as_a_count_and_the_first_few(tmp_path, capsys):
    """12 seeds a point: no screen lists every trial number or seed in a cell or a line."""
    many = grid(tmp_path, "many", seeds=12, memory=False, search=SMALL)
    for command in ("status", "best", "freeze"):
        out = main(capsys, command, many.cfg.path)
        assert max(map(len, out.splitlines())) < 250, (command, max(out.splitlines(), key=len))
    out = main(capsys, "status", many.cfg.path)
    assert re.search(r"\b12: \d+, \d+, \d+, \d+, …", out)
    best = main(capsys, "best", many.cfg.path)
    assert re.search(r"seeds  12: 0, 1, 2, 3, …", best)
