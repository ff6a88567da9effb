"""Dashboard, report and compare on one tiny study (run once for the module), plus the pure parts.

The dashboard test starts the real optuna-dashboard (through `gridsearch dashboard`) on a free
loopback port and reads its JSON API; report and compare run through the real CLI.
"""

import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import matplotlib.image
import numpy as np
import optuna
import pytest

from gridsearch import config, scaling as strategies
from gridsearch.family import stored_family as family_members
from gridsearch.study import Search, compare_name as compare_study_name
from gridsearch.viz import pearson
from helpers import TINY, cli

MEASURED = ("flops", "flops_ratio", "params", "activations", "resolution", "effective_gamma",
            "verdict", "feasible")


# The tiny grid, a little finer: 5 points, 4 trained (enough for a Pearson r), 1 infeasible.
VIZ_EDITS = {
    "alpha = { min = 1.0, max = 2.0, step = 1.0 }": "alpha = { min = 1.0, max = 2.0, step = 0.5 }",
    "beta = { min = 1.0, max = 1.5, step = 0.5 }": "beta = { min = 1.0, max = 1.5, step = 0.25 }",
    "gamma = { min = 1.0, max = 1.5, step = 0.5 }": "gamma = { min = 1.0, max = 1.5, step = 0.25 }",
    "tolerance = 0.15": "tolerance = 0.2",
    "tolerance = 0.08": "tolerance = 0.15",
}


def viz_config(name: str) -> str:
    text = TINY.format(name=name, mode="repair", storage="")
    for old, new in VIZ_EDITS.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def study_path(tmp_path_factory):
    """One tiny resnet18 study (repair mode), shared by this module."""
    folder = tmp_path_factory.mktemp("viz")
    path = folder / "viz.toml"
    path.write_text(viz_config("viz"))
    cfg = config.load(path)
    outcomes = Search(cfg).run()
    states = [o.state for o in outcomes]
    assert states.count("COMPLETE") >= 3 and "INFEASIBLE" in states, states
    return path


def _load(path):
    cfg = config.load(path)
    return optuna.load_study(study_name=cfg.name, storage=config.storage_url(cfg))


def main(capsys, *args):
    """The CLI in this process (saves the ~10 s start of a fresh one): (status, stdout, stderr)."""
    from gridsearch.cli import main as cli_main

    try:
        code = cli_main([str(a) for a in args])
    except SystemExit as e:   # argparse errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _valid_png(path: Path):
    assert path.is_file() and path.stat().st_size > 1000, path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = matplotlib.image.imread(path)
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert float(np.std(img[..., :3])) > 0.01, f"{path} is blank"


# -- dashboard -------------------------------------------------------------------------------------
class _Lines:
    """Reads a process's stdout lines on a thread, so the test can wait with a deadline."""

    def __init__(self, proc):
        self.q = queue.Queue()
        threading.Thread(target=lambda: [self.q.put(line) for line in proc.stdout], daemon=True).start()

    def until(self, pattern, timeout=120):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.5)
            except queue.Empty:
                continue
            seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        raise AssertionError(f"no {pattern!r} in output: {seen}")


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.status == 200
        return json.loads(r.read())


@pytest.mark.slow
def test_dashboard_serves_the_study_with_every_figure(study_path):
    exe = Path(sys.executable).parent / "gridsearch"
    proc = subprocess.Popen([str(exe), "dashboard", str(study_path), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        m = _Lines(proc).until(r"(http://127\.0\.0\.1:(\d+))/dashboard/studies/(\d+)")
        base, study_id = m.group(1), int(m.group(3))
        studies = _get(f"{base}/api/studies")["study_summaries"]
        mine = [s for s in studies if s["study_name"] == "viz"]
        assert mine and mine[0]["study_id"] == study_id
        detail = _get(f"{base}/api/studies/{study_id}")
        page = urllib.request.urlopen(f"{base}/dashboard/studies/{study_id}", timeout=30)
        assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    with pytest.raises(OSError):  # stopped: nothing listens any more
        urllib.request.urlopen(f"{base}/api/studies", timeout=5)

    study = _load(study_path)
    trials = detail["trials"]
    assert len(trials) == len(study.trials)
    assert {a["key"] for a in detail["user_attrs"]} >= {"config", "baseline"}
    assert "Selected point (search)" in detail["note"]["body"]
    # one seed per point: no "± 0.0000" and no interval of one value, as status and best print it
    assert "±" not in detail["note"]["body"].split("| trials |")[1]
    complete = [t for t in trials if t["state"] == "Complete"]
    assert complete
    for t in complete:
        assert {p["name"] for p in t["params"]} == {"alpha", "beta", "gamma"}
        attrs = {a["key"]: a["value"] for a in t["user_attrs"]}
        for key in MEASURED + ("train_seconds",):
            assert key in attrs, key
        assert attrs["verdict"] == "feasible"
        assert float(attrs["flops"]) > 0 and float(attrs["train_seconds"]) > 0
        assert [v["step"] for v in t["intermediate_values"]] == [1, 2]
        assert all(0 <= float(v["value"]) <= 1 for v in t["intermediate_values"])
    # Feasibility is visible without Optuna 5 constraints: state, user attrs and a note.
    infeasible = [t for t in trials if t["state"] == "Pruned"]
    assert infeasible
    for t in infeasible:
        attrs = {a["key"]: a["value"] for a in t["user_attrs"]}
        assert attrs["feasible"] == "False" and attrs["verdict"] != "feasible"
        assert attrs["budget_reason"] and float(attrs["flops_ratio"]) > 0
        assert t["note"]["body"].startswith("**Infeasible**")
        assert attrs["budget_reason"] in t["note"]["body"]
    assert f"{len(infeasible)} infeasible" in detail["note"]["body"]
    # The dashboard's best trial is a feasible one, the same as ours.
    assert detail["best_trials"][0]["number"] in {t["number"] for t in complete}
    # The user attrs match what the study stores (the dashboard shows the real figures).
    t0 = study.trials[complete[0]["number"]]
    shown = {a["key"]: a["value"] for a in complete[0]["user_attrs"]}
    assert int(shown["flops"]) == t0.user_attrs["flops"]


def test_dashboard_port_in_use_is_one_line(study_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, out, err = main(capsys, "dashboard", study_path, "--port", port, "--no-notes")
    assert code == 2 and out == ""
    assert f"port {port}" in err and "in use" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_input_is_one_line(study_path, tmp_path, capsys):
    nostudy = tmp_path / "nostudy.toml"
    nostudy.write_text(viz_config("nostudy"))
    cases = [
        (("dashboard", tmp_path / "missing.toml", "--port", "0"), "no such study config"),
        (("dashboard", nostudy, "--port", "0"), "no study 'nostudy'"),
        (("report", nostudy, "-o", tmp_path / "r"), "no study 'nostudy'"),
        (("compare", nostudy, "-o", tmp_path / "c"), "no study 'nostudy'"),
        (("dashboard", study_path, "--port", "70000"), "--port"),
        (("dashboard", study_path, "--port", "0", "--host", "nosuchhost.invalid"), "cannot listen"),
        (("compare", study_path, "--phi", "nan"), "phi must be"),
        (("compare", study_path, "--phi", "0"), "baseline itself"),
    ]
    for args, expect in cases:
        code, out, err = main(capsys, *args)
        assert code == 2, (args, err)
        assert out == "" and len(err.strip().splitlines()) == 1, (args, out, err)
        assert expect in err and err.startswith("gridsearch: error:"), (args, err)
    assert not (tmp_path / "r").exists() and not (tmp_path / "c").exists()


def test_dashboard_binds_loopback_by_default(study_path):
    from gridsearch.viz import bind

    server = bind(config.storage_url(config.load(study_path)), port=0)
    try:
        host, port = server.httpd.server_address[:2]
        assert host == "127.0.0.1" and port > 0 and server.port == port
        assert server.url(3) == f"http://127.0.0.1:{port}/dashboard/studies/3"
    finally:
        server.httpd.server_close()


def test_infeasible_trials_get_a_note(tiny_config):
    from gridsearch import _compat
    from gridsearch.viz import annotate, study_note

    cfg = config.load(tiny_config(name="notes", mode="reject"))
    search = Search(cfg)
    study = search.study()
    # Record the budget verdicts without training: plan the points, tell them as the search does.
    for cand in search.plan_candidates():
        if cand.verdict.feasible:
            continue
        p = cand.spec.point
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED,
            params={"alpha": p.alpha, "beta": p.beta, "gamma": p.gamma},
            distributions={k: optuna.distributions.FloatDistribution(1, 3)
                           for k in ("alpha", "beta", "gamma")},
            user_attrs={**cand.as_dict(), "feasible": False, "verdict": "infeasible",
                        "budget_reason": cand.verdict.reason}))
    assert study.trials, "the tiny reject study should have infeasible points"
    assert annotate(search) == 1 + len(study.trials)
    assert annotate(search) == 0  # unchanged notes are not rewritten
    for t in study.trials:
        assert "Infeasible" in _compat.trial_note(study, t)
    assert f"{len(study.trials)} infeasible" in study_note(search)


# -- report ----------------------------------------------------------------------------------------
def test_report_writes_table_plots_and_summary(study_path, tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, err = main(capsys, "report", study_path, "-o", out, "--json")
    assert code == 0, err
    facts = json.loads(stdout)
    study = _load(study_path)
    import pandas as pd

    df = pd.read_csv(out / "trials.csv")
    assert len(df) == len(study.trials)
    assert {"alpha", "beta", "gamma", "flops_ratio", "accuracy", "state", "train_seconds"} <= set(df)
    for name in ("accuracy_vs_flops", "alpha_beta", "learning_curves"):
        _valid_png(out / f"{name}.png")
    assert not (out / "family.png").exists()
    summary = (out / "summary.txt").read_text()
    assert "family: none stored" in summary
    best = max((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    assert facts["best"]["accuracy"] == best.value
    # the report's answer is `best`'s document
    code, stdout, err = main(capsys, "best", study_path, "--json")
    assert code == 0, err
    assert json.loads(stdout) == facts["best"]
    assert facts["counts"]["COMPLETE"] == len([t for t in study.trials if t.value is not None])
    secs = [t.user_attrs["train_seconds"] for t in study.trials if t.value is not None]
    for k in ("flops", "params", "activations"):
        r_k = facts["pearson_r_vs_train_seconds"][k]
        xs = [t.user_attrs[k] for t in study.trials if t.value is not None]
        if len(set(xs)) > 1 and len(set(secs)) > 1:   # else r is undefined: None
            expect = float(np.corrcoef(xs, secs)[0, 1])
            assert r_k == pytest.approx(expect) and f"{k:>11}: {expect:+.3f}" in summary
        else:
            assert r_k is None


def test_report_plots_the_family_once_stored(study_path, tmp_path):
    """A study with `frozen` and `family` (as freeze/scale store them): summary, family.png, note."""
    from gridsearch.scaling import Point, Spec
    from gridsearch.viz import build, study_note

    cfg = config.load(study_path)
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    optuna.copy_study(from_study_name="viz", from_storage=config.storage_url(cfg), to_storage=url)
    study = optuna.load_study(study_name="viz", storage=url)
    best = max((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    p = Point(**best.params)
    realiser = Search(cfg).realiser()
    base = realiser.reference
    members = []
    for phi in (0, 1, 2):
        cand = realiser.realise(Spec.compound(p, phi), target=2.0 ** phi, mode="repair")
        c = cand.complexity
        members.append({"phi": phi, "depth_mult": cand.depth_mult,
                        "width_mult": cand.width_mult, "resolution": c.resolution,
                        "flops": c.flops, "flops_ratio": c.flops / base.flops, "params": c.params,
                        "activations": c.activations})
    study.set_user_attr("frozen", {**best.params, "effective_gamma": 1.0625, "trial": best.number,
                                   "study": "viz",
                                   "value": best.value})
    study.set_user_attr("family", {"baseline": base.as_dict(), "members": members})
    assert len(family_members(study)[0]) == 3
    rep = build(Search(cfg, url), tmp_path / "r")
    _valid_png(tmp_path / "r" / "family.png")
    assert (f"frozen: α={p.alpha:g} β={p.beta:g} γ={p.gamma:g} (effective γ 1.0625), "
            f"trial viz#{best.number}, accuracy {best.value:.4f} (n=1)") in rep.summary
    assert f"φ=2  {members[2]['resolution']} px  FLOPs {members[2]['flops']:,}" in rep.summary
    assert "family: none stored" not in rep.summary
    note = study_note(Search(cfg, url))
    assert "Frozen coefficients" in note and "effective γ 1.0625" in note


# -- compare ---------------------------------------------------------------------------------------
@pytest.mark.slow
def test_compare_matches_measured_flops_and_stores_a_study(study_path, tmp_path, capsys):
    out = tmp_path / "cmp"
    r = cli("compare", study_path, "--phi", "1", "-o", out, "--json", timeout=600)
    assert r.returncode == 0, r.stderr
    rows = {row["strategy"]: row for row in json.loads(r.stdout)["rows"]}
    assert set(rows) == {"compound", "depth", "width", "resolution"}
    cfg = config.load(study_path)
    tol = cfg.budget.tolerance
    target = rows["compound"]["flops_ratio"]
    for name, row in rows.items():
        assert row["accuracy"] is not None and 0 <= row["accuracy"] <= 1
        if name != "compound":
            assert row["within_tolerance"] == (abs(row["flops_ratio"] / target - 1) <= tol), row
    # Width and resolution can be matched on this network; the solved multiplier is single-dimension.
    assert rows["resolution"]["within_tolerance"] and rows["width"]["within_tolerance"]
    assert rows["resolution"]["d"] == rows["resolution"]["w"] == 1
    assert rows["width"]["d"] == 1 and rows["width"]["resolution"] == cfg.model.base_resolution
    assert rows["depth"]["w"] == 1 and rows["depth"]["resolution"] == cfg.model.base_resolution
    _valid_png(out / "compare.png")
    assert (out / "compare.csv").is_file()

    stored = optuna.load_study(study_name=compare_study_name("viz"), storage=config.storage_url(cfg))
    done = stored.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(t.params["strategy"] for t in done) == ["compound", "depth", "resolution", "width"]
    for t in done:
        assert sorted(t.intermediate_values) == [1, 2]
        assert t.user_attrs["flops"] > 0 and t.user_attrs["plan"].startswith("phi=1;point=")
    compound = next(t for t in done if t.params["strategy"] == "compound")
    assert compound.user_attrs["phi"] == 1

    from gridsearch.family import Compare
    from gridsearch.scaling import Point

    comp = Compare(Search(cfg))
    point = comp.point()[0]
    assert len(comp.entries(1.0, point)) == 4
    assert comp.entries(1.0, Point(9.0, 9.0, 9.0)) == []   # another compound point: not reused

    code, again, err = main(capsys, "compare", study_path, "--phi", "1", "-o", out)
    assert code == 0, err
    assert "every network and seed is stored: nothing to train" in again
    assert "compound" in again and "within_tolerance" in again   # the table
    assert len(optuna.load_study(study_name=compare_study_name("viz"),
                                 storage=config.storage_url(cfg)).trials) == 4


# -- pure parts ------------------------------------------------------------------------------------
def test_solve_resolution_hits_the_closest_integer():
    sol = strategies.solve(strategies.named("resolution"), lambda sp: (sp.pixels(32) / 32) ** 2,
                           target=2.0, tolerance=0.05, base_resolution=32)
    assert sol.spec.pixels(32) == 45          # 45² / 32² = 1.978; 46 gives 2.066
    assert sol.within and sol.spec.depth == sol.spec.width == 1


def test_solve_reports_a_step_it_cannot_hit():
    # Depth rounds to half-steps: 1.5 and 2.0 bracket 1.7; 1.5 is closer and outside 5%.
    sol = strategies.solve(strategies.named("depth"), lambda sp: np.ceil(2 * sp.depth - 1e-9) / 2,
                           target=1.7, tolerance=0.05, base_resolution=32)
    assert sol.ratio == 1.5 and not sol.within
    assert sol.spec.width == 1 and sol.spec.pixels(32) == 32


def test_solve_below_one_and_registry():
    sol = strategies.solve(strategies.named("width"), lambda sp: sp.width ** 2, target=0.5,
                           tolerance=0.01, base_resolution=32)
    assert sol.ratio == pytest.approx(0.5, rel=0.01) and sol.within
    with pytest.raises(ValueError):   # the exponents must multiply FLOPs by s
        strategies.Strategy("bad", 1, 1, 1)
    with pytest.raises(strategies.StrategyError):
        strategies.named("nope")


def test_pearson():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1)
    assert pearson([1, 2], [1, 2]) is None
    assert pearson([1, 1, 1], [1, 2, 3]) is None
