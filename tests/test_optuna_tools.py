"""Optuna's own tools on a gridsearch store (issue 14, part 3): the ``optuna`` command line,
``optuna.load_study(...).trials_dataframe()`` and the plain optuna-dashboard API.

One tiny study (reject mode: some points infeasible) is run for the module, with the tests' own
training function (tests/helpers.py OWN_TRAIN, through ``[train] function``); nothing is mocked.
"""

import io
import json
import subprocess
import sys
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import optuna
import pytest

from gridsearch import config
from gridsearch.study import Search
from helpers import TINY, own_training

OPTUNA = Path(sys.executable).parent / "optuna"
# Every figure the search stores on a trial (the record's network fields and training; a training
# function's own numbers are the trial's "metrics").
FIGURES = ("strategy", "d", "w", "r", "s", "depth_mult", "width_mult", "nominal_resolution",
           "resolution", "repaired", "effective_gamma", "flops", "flops_ratio", "params",
           "activations", "target", "deviation", "within_tolerance", "feasible", "verdict",
           "budget_reason", "layout", "unit", "point_index", "seed", "worker")
TRAINED = ("train_seconds", "device", "metrics")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("optuna_tools")
    path = folder / "ot.toml"
    path.write_text(TINY.format(name="ot", mode="reject", storage=""))
    cfg = config.load(own_training(path))
    outcomes = Search(cfg).run()
    states = [o.state for o in outcomes]
    assert "COMPLETE" in states and "INFEASIBLE" in states, states
    return cfg, config.storage_url(cfg)


def _optuna(*args):
    r = subprocess.run([str(OPTUNA), *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.slow
def test_optuna_cli_reads_a_gridsearch_store(store):
    cfg, url = store
    assert url.startswith("sqlite:///")
    studies = json.loads(_optuna("studies", "--storage", url, "-f", "json"))
    assert [s["name"] for s in studies] == ["ot"]
    study = optuna.load_study(study_name="ot", storage=url)
    trials = json.loads(_optuna("trials", "--study-name", "ot", "--storage", url, "-f", "json"))
    assert len(trials) == len(study.trials) == studies[0]["n_trials"]
    best = json.loads(_optuna("best-trial", "--study-name", "ot", "--storage", url, "-f", "json"))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert best["value"] == max(t.value for t in complete)
    assert best["user_attrs"]["feasible"] is True and best["user_attrs"]["flops"] > 0


def test_trials_dataframe_has_every_figure_as_a_column(store):
    _, url = store
    df = optuna.load_study(study_name="ot", storage=url).trials_dataframe()
    for key in FIGURES + TRAINED:
        assert f"user_attrs_{key}" in df.columns, key
    assert {"params_alpha", "params_beta", "params_gamma", "value", "state"} <= set(df.columns)
    done = df[df.state == "COMPLETE"]
    assert (done.user_attrs_flops > 0).all() and done.user_attrs_feasible.all()
    assert all(m["train_loss"] == pytest.approx(1 - v / 2)
               for m, v in zip(done.user_attrs_metrics, done.value, strict=True))   # the function's own number
    assert (df[df.state == "PRUNED"].user_attrs_verdict == "infeasible").all()


def _get(app, path):
    environ = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, REQUEST_METHOD="GET", QUERY_STRING="")
    environ["wsgi.input"] = io.BytesIO(b"")
    status = []
    body = b"".join(app(environ, lambda s, h, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), (status, body[:200])
    return json.loads(body)


def test_plain_optuna_dashboard_shows_the_feasibility_notes(store):
    from optuna_dashboard import wsgi

    from gridsearch.viz._dashboard import annotate

    cfg, url = store
    annotate(Search(cfg))                        # what `gridsearch dashboard` writes on start
    app = wsgi(optuna.storages.get_storage(url))  # the plain dashboard, no gridsearch code
    listed = _get(app, "/api/studies")["study_summaries"]
    study_id = next(s["study_id"] for s in listed if s["study_name"] == "ot")
    detail = _get(app, f"/api/studies/{study_id}")
    assert "infeasible" in detail["note"]["body"]
    infeasible = [t for t in detail["trials"] if t["state"] == "Pruned"]
    assert infeasible
    for t in infeasible:
        assert "Infeasible" in t["note"]["body"]
        attrs = {a["key"]: a["value"] for a in t["user_attrs"]}
        assert attrs["verdict"] == "infeasible" and attrs["budget_reason"]
