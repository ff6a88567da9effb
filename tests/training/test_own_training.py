"""A user's own training function (``[train] function = "module:function"``), inside everything
gridsearch does: checked before anything is stored, its faults the trial's and never the study's,
its metric and direction everywhere, its extra numbers stored, imported by every worker from the
config's folder, and pruned through ``ctx.report``."""

import json
import math
import os
import sys
import wsgiref.util
from io import BytesIO
from pathlib import Path

import pytest

from gridsearch import cli
from gridsearch.config import load_config
from gridsearch.study import Search
from helpers import OWN_TRAIN, cli as run_cli, error_lines, own_training, sql_dumps


def _search(path, **kw):
    return Search(load_config(path), **kw)


def _states(search):
    return sorted(r.state for r in search.records())


# -- checked before anything is stored -----------------------------------------------------------
BAD = {
    "missing module": ('function = "nosuchmodule:fit"', "cannot import 'nosuchmodule'"),
    "missing name": ('function = "owntrain:nosuch"', "has no function 'nosuch'"),
    "wrong signature": ('function = "owntrain:one"', "must take (model, ctx)"),
    "not a reference": ('function = "owntrain"', "expected 'module:function'"),
    "external without a function": ("", 'data.source: "external"'),
    "a metric of the built-in trainer": ('metric = "top1"', "train.metric"),
    "a bad direction": ('function = "owntrain:fit"\ndirection = "down"', "train.direction"),
}


@pytest.mark.parametrize("case", sorted(BAD))
@pytest.mark.parametrize("command", ["plan", "run", "init", "worker"])
def test_a_bad_training_function_is_one_line_exit_2_store_untouched(tiny_config, tmp_path, capsys,
                                                                    case, command):
    keys, message = BAD[case]
    path = tiny_config(name="bad")
    (tmp_path / "owntrain.py").write_text(OWN_TRAIN + "\n\ndef one(model):\n    return 1.0\n")
    text = path.read_text().replace('device = "cpu"', f'device = "cpu"\n{keys}', 1)
    if case == "external without a function":
        text = text.replace('source = "digits"', 'source = "external"')
    path.write_text(text)
    before = sql_dumps(tmp_path)
    capsys.readouterr()
    code = cli.main([command, str(path)])
    out, err = capsys.readouterr()
    lines = error_lines(err)
    assert code == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("gridsearch: error: "), err
    assert message in lines[0], lines[0]
    assert "Traceback" not in err
    assert sql_dumps(tmp_path) == before


def test_the_missing_module_error_says_where_it_looked(tiny_config, tmp_path):
    path = own_training(tiny_config(name="where"))
    path.write_text(path.read_text().replace('"owntrain:fit"', '"elsewhere:fit"'))
    r = run_cli("plan", path, cwd="/")
    assert r.returncode == 2
    assert str(tmp_path.resolve()) in r.stderr and "sys.path" in r.stderr, r.stderr


# -- what the function gets wrong is the trial's ------------------------------------------------
FAULTY = OWN_TRAIN + '''

def faulty(model, ctx):
    how = {(1.5, 0): "raise", (1.5, 1): "nan", (1.0, 0): "no metric"}.get((ctx.beta, ctx.seed),
                                                                          "text")
    if how == "raise":
        return {"x": 1} if ctx.seed < 0 else 1 / 0
    if how == "nan":
        return {ctx.metric: float("nan")}
    if how == "no metric":
        return {"loss": 0.1}
    return "0.9"
'''


def test_every_fault_of_the_function_fails_its_trial_with_the_reason(tiny_config):
    """Two trainable points × 2 seeds, each (point, seed) with its own fault: every one FAIL
    with the reason, the study finished (the depth-only point is infeasible: never trained)."""
    path = own_training(tiny_config(name="faulty", mode="repair"), text=FAULTY,
                        train="seeds = 2")
    path.write_text(path.read_text().replace('"owntrain:fit"', '"owntrain:faulty"'))
    search = _search(path)
    search.run()
    errors = {(r.beta, r.seed): r.error for r in search.records() if r.state == "FAIL"}
    assert sorted(r.state for r in search.records()) == ["FAIL"] * 4 + ["INFEASIBLE"]
    line = (Path(path.parent / "owntrain.py").read_text().splitlines()
            .index("        return {\"x\": 1} if ctx.seed < 0 else 1 / 0") + 1)
    assert errors[(1.5, 0)] == f"ZeroDivisionError: division by zero (owntrain.py:{line} in faulty)"
    assert errors[(1.5, 1)] == "TrainingError: the training function's 'accuracy' is nan (not finite)"
    assert errors[(1.0, 0)].startswith("TrainingError: the training function returned no "
                                       "'accuracy' (train.metric); its keys: 'loss'")
    assert errors[(1.0, 1)] == "TrainingError: the training function's 'accuracy' is str '0.9', not a number"
    assert search.progress()["failed"] == 4 and search.remaining() == 0


def test_one_failing_point_leaves_the_others_complete(tiny_config):
    path = own_training(tiny_config(name="onefails", mode="repair"),
                        train="[train.args]\nfail = [[1.0, 1.5, 1.0]]")
    search = _search(path)
    search.run()
    states = {(r.alpha, r.beta, r.gamma): r.state for r in search.records()}
    assert states == {(1.0, 1.5, 1.0): "FAIL", (2.0, 1.0, 1.0): "INFEASIBLE",
                      (1.0, 1.0, 1.5): "COMPLETE"}
    sel = search.selection()
    assert sel.winner.point.as_dict() != {"alpha": 1.0, "beta": 1.5, "gamma": 1.0}


OOM = OWN_TRAIN + '''
import torch

CALLS = {}


def oom_once(model, ctx):
    CALLS[ctx.seed] = CALLS.get(ctx.seed, 0) + 1
    if CALLS[ctx.seed] == 1:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return fit(model, ctx)


def oom_always(model, ctx):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
'''


@pytest.mark.parametrize("func", ["oom_once", "oom_always"])
def test_out_of_memory_is_retried_once_after_releasing_memory(tiny_config, func):
    path = own_training(tiny_config(name=func, mode="repair"), module=f"own_{func}", text=OOM)
    path.write_text(path.read_text().replace(f'"own_{func}:fit"', f'"own_{func}:{func}"'))
    cfg = load_config(path)
    search = Search(cfg)
    search.run(max_trials=1)
    (r,) = search.records()
    if func == "oom_once":
        assert r.state == "COMPLETE" and r.oom_retry.startswith("OutOfMemoryError: CUDA out of")
        assert sys.modules["own_oom_once"].CALLS == {0: 2}
    else:
        assert r.state == "FAIL" and r.error_kind == "oom"
        assert r.error.startswith("TrainingError: out of memory also when retried")


# -- the metric and its direction everywhere ----------------------------------------------------
LOSS = 'metric = "val_loss"\ndirection = "minimize"\n[train.args]\nsign = -1\noffset = 2.0\nnoise = 0.05'


def _loss_study(tiny_config, name, extra=""):
    path = own_training(tiny_config(name=name, mode="repair", extra=extra), train=LOSS)
    text = path.read_text().replace("device = \"cpu\"", "device = \"cpu\"\nseeds = 3", 1)
    path.write_text(text)
    return path


def test_a_minimised_metric_is_selected_and_frozen_lowest_first(tiny_config, capsys):
    path = _loss_study(tiny_config, "loss")
    search = _search(path)
    search.run()
    sel = search.selection()
    means = {c.point: c.value for c in sel.ranked}
    assert len(means) == 2      # the third point (depth only) is infeasible
    assert sel.winner.value == min(means.values())
    assert [c.value for c in sel.ranked] == sorted(means.values())
    assert cli.main(["freeze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "val_loss" in out
    w = sel.winner.point
    assert f"α={w.alpha:g} β={w.beta:g} γ={w.gamma:g}" in out
    assert cli.main(["best", str(path), "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["metric"] == "val_loss" and best["direction"] == "minimize"
    assert math.isclose(best["value"], sel.winner.value)
    assert cli.main(["status", str(path)]) == 0
    status = capsys.readouterr().out
    assert "val_loss" in status.splitlines()[0] and " accuracy " not in status


def test_a_minimised_metric_is_raced_on_the_negated_values(tiny_config):
    race = "\n[select]\nmode = \"race\"\ndelta = 0.01\nconfidence = 0.8\nn0 = 3\nmax_seeds = 5\n"
    path = _loss_study(tiny_config, "lossrace", extra=race)
    search = _search(path)
    search.run()
    outcome = search.race()
    assert outcome is not None and outcome.done
    sel = search.selection()
    best_mean = min(c.value for c in sel.ranked)
    # the race's choice is within δ of the lowest mean (a minimised metric: lower is better)
    assert sel.winner.value <= best_mean + 0.01
    assert sel.winner.point == outcome.winner


def test_extra_numbers_are_stored_and_shown(tiny_config, tmp_path, capsys):
    path = own_training(tiny_config(name="extras", mode="repair"))
    search = _search(path)
    search.run()
    done = [r for r in search.records() if r.state == "COMPLETE"]
    assert done and all(set(r.metrics) == {"train_loss"} for r in done)
    for r in done:
        assert math.isclose(r.metrics["train_loss"], 1.0 - r.accuracy / 2)
    assert cli.main(["status", str(path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {json.dumps(r["metrics"], sort_keys=True) for r in rows if r["state"] == "COMPLETE"} \
        == {json.dumps({"train_loss": r.metrics["train_loss"]}, sort_keys=True) for r in done}
    assert cli.main(["report", str(path), "-o", str(tmp_path / "rep")]) == 0
    header = (tmp_path / "rep" / "trials.csv").read_text().splitlines()[0].split(",")
    assert "metrics.train_loss" in header
    # the dashboard (optuna-dashboard's own API, served in this process) shows them per trial
    from optuna_dashboard import wsgi

    app = wsgi(search.storage)
    sid = search.storage.get_study_id_from_name("extras")
    env = {"PATH_INFO": f"/api/studies/{sid}", "REQUEST_METHOD": "GET",
           "wsgi.input": BytesIO()}
    wsgiref.util.setup_testing_defaults(env)
    got = []
    body = b"".join(app(env, lambda status, headers, exc=None: got.append(status)))
    assert got[0].startswith("200")
    trials = json.loads(body)["trials"]
    shown = [a for t in trials for a in t["user_attrs"] if a["key"] == "metrics"]
    assert len(shown) == len(done) and all("train_loss" in a["value"] for a in shown)


# -- everywhere the built-in runs -----------------------------------------------------------------
@pytest.mark.slow
def test_a_function_beside_the_config_is_imported_by_two_workers_from_anywhere(tiny_config,
                                                                            tmp_path):
    path = own_training(tiny_config(name="beside", mode="repair"))
    path.write_text(path.read_text().replace("device = \"cpu\"", "device = \"cpu\"\nseeds = 2", 1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = run_cli("run", path, "--workers", "2", cwd=elsewhere, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    records = _search(path).records()      # 2 points × 2 seeds, the depth-only one infeasible
    assert sorted(r.state for r in records) == ["COMPLETE"] * 4 + ["INFEASIBLE"]
    assert len({r.worker for r in records}) == 2
    assert len({(r.point_index, r.seed) for r in records}) == 5
    assert all(r.metrics == {"train_loss": 1.0 - r.accuracy / 2}
               for r in records if r.state == "COMPLETE")      # each worker ran OWN_TRAIN


def test_pruning_through_ctx_report(tiny_config):
    """The median pruner (from the third finished trial on) stops the last unit, which reports
    far below the others after its first epoch: PRUNED through the ctx.report it called."""
    pruned = OWN_TRAIN + '''

def climbing(model, ctx):
    bad = ctx.beta == 1.5 and ctx.seed == 1
    for epoch in range(1, ctx.epochs + 1):
        ctx.report(epoch, 0.1 * epoch if bad else 0.9)
    return 0.1 * ctx.epochs if bad else 0.9
'''
    path = own_training(tiny_config(name="pruned", mode="repair"), text=pruned, train="seeds = 2")
    text = path.read_text().replace('"owntrain:fit"', '"owntrain:climbing"')
    text = text.replace("epochs = 2", "epochs = 4").replace(
        "tolerance = 0.15", "tolerance = 0.15\npruner = \"median\"")
    path.write_text(text)
    search = _search(path)
    search.run()
    trained = [r for r in search.records() if r.state != "INFEASIBLE"]
    assert [r.state for r in trained] == ["COMPLETE"] * 3 + ["PRUNED"]
    bad = trained[-1]
    assert (bad.beta, bad.seed) == (1.5, 1)
    assert bad.pruned_reason == "pruned after epoch 1" and bad.epochs_done == 1


def test_the_library_takes_a_function(tiny_config):
    """``Search(cfg, train=fit)``: a function object instead of [train] function."""
    seen = []

    def fit(model, ctx):
        seen.append((ctx.alpha, ctx.beta, ctx.gamma, ctx.resolution, ctx.seed, ctx.epochs,
                     ctx.data is not None, dict(ctx.args)))
        return 0.5

    path = tiny_config(name="library", mode="repair")
    search = Search(load_config(path), train=fit)
    search.run(max_trials=1)
    (r,) = search.records()
    assert r.state == "COMPLETE" and r.accuracy == 0.5
    assert seen == [(r.alpha, r.beta, r.gamma, r.resolution, 0, 2, True, {})]
