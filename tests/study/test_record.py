"""The one trial record: a record with every field set is written once, and every command that
shows trials shows every field (status --json, report's trials.csv, optuna-dashboard's API,
Optuna's trials_dataframe); the runner's field names are checked as it writes; trials written by
earlier versions read under today's names."""

import dataclasses
import io
import json
from wsgiref.util import setup_testing_defaults

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from gridsearch import config
from gridsearch.cli import main
from gridsearch.study import COLUMNS, Recorder, Search, TrialRecord, from_trial
from gridsearch.study._record import ATTR_FIELDS
from helpers import TINY

DIST = {k: FloatDistribution(1.0, 3.0) for k in ("alpha", "beta", "gamma")}


def _value(f):
    """A distinct, non-empty value of the field's type."""
    t = str(f.type)
    if f.name in ("layout", "torchvision", "timm"):
        return {"filled": f.name}
    if f.name == "metrics":
        return {"train_loss": 0.25}
    if t.startswith("tuple[int"):
        return (7, 8)
    if t.startswith("tuple[float"):
        return (0.25, 0.75)
    if t.startswith("bool"):
        return True
    if t.startswith("int"):
        return 3 + len(f.name)
    if t.startswith("float"):
        return 0.5 + len(f.name) / 100
    return f"value of {f.name}"


def full_record() -> TrialRecord:
    values = {f.name: _value(f) for f in ATTR_FIELDS}
    values.update(alpha=1.2, beta=1.1, gamma=1.15, seed=7, seeds=(7,), feasible=True,
                  verdict="feasible", accuracy=0.5, seed_accuracies=(0.5,))
    return TrialRecord(number=0, study="rec", state="COMPLETE", **values)


@pytest.fixture
def study_with_full_record(tmp_path):
    path = tmp_path / "rec.toml"
    path.write_text(TINY.format(name="rec", mode="reject", storage=""))
    cfg = config.load(path)
    study = Search(cfg).study()
    rec = full_record()
    attrs = rec.to_attrs()
    assert set(attrs) == {f.name for f in ATTR_FIELDS}       # every field, none left out
    study.add_trial(create_trial(params={"alpha": 1.2, "beta": 1.1, "gamma": 1.15},
                                 distributions=DIST, value=0.5, user_attrs=attrs))
    return path, cfg, rec


def _same(shown, expected):
    if isinstance(expected, tuple):
        expected = list(expected)
    if isinstance(shown, str) and not isinstance(expected, str):
        shown = json.loads(shown.replace("'", '"').replace("True", "true"))
    return shown == expected


def test_every_command_that_shows_trials_shows_every_field(study_with_full_record, tmp_path,
                                                           capsys):
    path, cfg, rec = study_with_full_record
    # the reader gives back what was written
    back = from_trial(optuna.load_study(study_name="rec",
                                        storage=config.storage_url(cfg)).trials[0], "rec")
    for f in ATTR_FIELDS:
        assert getattr(back, f.name) == getattr(rec, f.name), f.name
    # status --json
    assert main(["status", str(path), "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert set(COLUMNS) <= set(row)
    for f in ATTR_FIELDS:
        if f.name != "accuracy":
            assert _same(row[f.name], getattr(rec, f.name)), f.name
    # report's trials.csv
    assert main(["report", str(path), "-o", str(tmp_path / "rep")]) == 0
    df = pd.read_csv(tmp_path / "rep" / "trials.csv")
    assert list(df.columns) == [*COLUMNS, "metrics.train_loss"]   # an extra metric: its column
    assert df.notna().all(axis=None), df.columns[df.isna().any()].tolist()
    # optuna-dashboard's API and Optuna's own dataframe: the same names as user attributes
    from optuna_dashboard import wsgi

    app = wsgi(optuna.storages.get_storage(config.storage_url(cfg)))
    environ = {}
    setup_testing_defaults(environ)
    study_id = 1
    environ.update(PATH_INFO=f"/api/studies/{study_id}", REQUEST_METHOD="GET", QUERY_STRING="",
                   **{"wsgi.input": io.BytesIO(b"")})
    detail = json.loads(b"".join(app(environ, lambda s, h, exc_info=None: None)))
    shown = {a["key"] for a in detail["trials"][0]["user_attrs"]}
    assert shown == {f.name for f in ATTR_FIELDS}
    frame = optuna.load_study(study_name="rec", storage=config.storage_url(cfg)).trials_dataframe()
    assert {f"user_attrs_{f.name}" for f in ATTR_FIELDS} <= set(frame.columns)


def test_the_recorder_refuses_a_name_that_is_no_field(tmp_path):
    """The trainer once wrote peak_gpu_memory_bytes while readers read peak_memory_mb: an empty
    column. Now a misspelt name fails where it is written."""
    study = optuna.create_study(storage=f"sqlite:///{tmp_path}/r.db")
    rec = Recorder(study.ask())
    rec.set(peak_memory_mb=12.5, peak_memory_kind="rss")
    with pytest.raises(KeyError, match="peak_gpu_memory_bytes"):
        rec.set(peak_gpu_memory_bytes=1)


def test_trials_of_earlier_versions_read_under_today_s_names():
    old = create_trial(params={"alpha": 1.0, "beta": 1.1, "gamma": 1.2}, distributions=DIST,
                       value=0.5, user_attrs={"point": 3, "peak_gpu_memory_bytes": 3 * 2**20,
                                              "nominal_multiplier": 2.1, "seed": 0})
    r = from_trial(old, "old")
    assert (r.point_index, r.peak_memory_mb, r.peak_memory_kind, r.s) == (3, 3.0, "cuda", 2.1)
    assert r.seeds == (0,) and r.ref == f"old#{old.number}"
    compare = create_trial(params={"strategy": "width"},
                           distributions={"strategy": optuna.distributions.CategoricalDistribution(
                               ("compound", "width"))}, value=0.4,
                           user_attrs={"phi": 1.0, "compound_point": [1.0, 1.2, 1.2],
                                       "knob": 2.1, "seed": 0})
    c = from_trial(compare, "x-compare")
    assert c.plan == "phi=1;point=1,1.2,1.2" and c.strategy == "width" and c.phi is None
    assert c.s == 2.1


def test_a_trial_s_fields_are_the_record_s(tiny_config):
    """A trial the runner wrote holds no user attribute the record does not know."""
    cfg = config.load(tiny_config(name="known"))
    Search(cfg).run(max_trials=2)
    names = {f.name for f in ATTR_FIELDS}
    for t in Search(cfg).study(create=False).trials:
        assert set(t.user_attrs) <= names, set(t.user_attrs) - names
        assert dataclasses.asdict(from_trial(t, "known"))
