"""The same answer on every screen: after a search and its confirmation, best, status, freeze, the
export's provenance, report, the dashboard note and compare's compound point all name the point
the selection rule chose, every trial reference names its study, seeds are numbers, intervals stay
within [0, 1] around the mean, infeasible points are counted once, and a study's progress goes to
logs line by line.  The subject is the screens, not training: the study trains with the tests' own
function (tests/helpers.py OWN_TRAIN).
"""

import json

import optuna
import pytest

from gridsearch import config
from gridsearch.cli import main
from gridsearch.study import Search
from helpers import TINY, cli, own_training

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def confirmed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("same")
    path = folder / "same.toml"
    path.write_text(TINY.format(name="same", mode="reject", storage="")
                    .replace("epochs = 2", "epochs = 1"))
    own_training(path, train="seeds = 2", data_external=False)   # the export names the classes
    run = cli("run", path, cwd=folder)            # stderr is a pipe here, as in a log file
    assert run.returncode == 0, run.stderr
    assert main(["confirm", str(path), "--top", "2", "--seeds", "2", "--no-progress"]) == 0
    return folder, path, run


def _call(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_every_screen_names_the_selected_point_and_its_study(confirmed, capsys, tmp_path):
    folder, path, _ = confirmed
    cfg = config.load(path)
    sel = Search(cfg).selection()
    assert sel.source == "confirmation" and sel.study == "same-confirm"
    w = sel.winner
    point = {k: getattr(w.point, k) for k in ("alpha", "beta", "gamma")}
    ref = f"same-confirm#{w.trials[0]}"
    # the confirmation's trial numbers overlap the search's: only the study name tells them apart
    search_numbers = {t.number for t in Search(cfg).study(create=False).trials}
    assert w.trials[0] in search_numbers

    best = json.loads(_call(capsys, "best", path, "--json"))
    assert {k: best[k] for k in point} == point and best["trial"] == ref
    assert best["study"] == "same-confirm" and best["trials"] == w.refs
    assert best["seeds"] == sorted(best["seeds"]) and len(best["seeds"]) == best["accuracy_n"]
    assert all(isinstance(s, int) for s in best["seeds"])
    assert 0.0 <= best["accuracy_ci95"][0] <= best["accuracy_ci95"][1] <= 1.0
    assert best["accuracy_ci95"][0] <= best["accuracy"] <= best["accuracy_ci95"][1]

    frozen = json.loads(_call(capsys, "freeze", path, "--json"))["frozen"]
    assert {k: frozen[k] for k in point} == point
    assert (frozen["study"], frozen["trial"], frozen["search_study"]) == ("same-confirm",
                                                                           w.trials[0], "same")

    out = tmp_path / "f.json"
    _call(capsys, "export", path, "-o", out, "--phi", "0,1", "--no-progress")
    prov = json.loads(out.read_text())["provenance"]
    assert (prov["study"], prov["trial"]) == ("same-confirm", w.trials[0])
    assert prov["trial_refs"][0] == ref and prov["search_study"] == "same"
    assert prov["classes"] and prov["image_size"] == cfg.data.image_size
    assert prov["selection"]["verdict"] == sel.verdict()

    facts = json.loads(_call(capsys, "report", path, "-o", tmp_path / "rep", "--json"))
    assert {k: facts["best"][k] for k in point} == point and facts["best"]["trial"] == ref
    assert facts["selection"]["winner"]["study"] == "same-confirm"
    summary = (tmp_path / "rep" / "summary.txt").read_text()
    assert f"trial {ref}" in summary

    from gridsearch.viz import study_note

    note = study_note(Search(cfg))
    first = note.split("\n\n")[1]           # the first thing under the heading: the answer
    assert "Selected point (confirmation)" in first and f"{w.point.alpha:g}" in first
    # the selected trial's measured figures, read from the confirmation the selection came from
    assert f"measured FLOPs ratio {facts['best']['flops_ratio']:.3f}" in first
    assert ref in note or f"same-confirm#{w.trials[0]}" in note

    from gridsearch.family import compound_point

    p, origin = compound_point(Search(cfg))   # frozen now: the same point, its study named
    assert {k: getattr(p, k) for k in point} == point and "same-confirm#" in origin

    rows = json.loads(_call(capsys, "status", path, "--json"))
    assert all(r["seed"] is None or isinstance(r["seed"], int) for r in rows)
    assert all(r["study"] == "same" for r in rows)


def test_infeasible_points_are_counted_once_by_plan_run_and_status(confirmed, capsys):
    folder, path, _ = confirmed
    plan = _call(capsys, "plan", path)
    import re

    n_infeasible = int(re.search(r"(\d+) feasible, (\d+) infeasible", plan).group(2))
    study = optuna.load_study(study_name="same", storage=config.storage_url(config.load(path)))
    infeasible = [t for t in study.trials if t.user_attrs.get("verdict") == "infeasible"]
    assert len(infeasible) == n_infeasible > 0        # once per point, not once per seed
    status = _call(capsys, "status", path)
    assert f"{n_infeasible} infeasible" in status


def test_run_off_a_terminal_prints_a_line_per_finished_trial(confirmed):
    _, path, run = confirmed
    lines = [ln for ln in run.stderr.splitlines() if "] trial " in ln]
    assert len(lines) == len(optuna.load_study(
        study_name="same", storage=config.storage_url(config.load(path))).trials)
    assert all(ln.startswith("gridsearch: same: [") for ln in lines)
    assert "next: gridsearch status" in run.stdout        # the next command to type
