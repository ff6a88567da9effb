"""Claims follow the study: a study deleted with Optuna's own tools and created again starts with
every point free, and every point is trained exactly once (with the tests' own training function,
tests/helpers.py OWN_TRAIN: the subject is the claims)."""

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from gridsearch import _compat, config
from gridsearch.cli import main
from gridsearch.storage import Claims, open_storage
from gridsearch.study import Search
from helpers import own_training

OPTUNA = str(Path(sys.executable).parent / "optuna")


def _train(storage, claims, n):
    """Claim, ask, bind and finish ``n`` points the way Search.run does; returns trial ids."""
    study = optuna.load_study(study_name=claims.study, storage=storage)
    ids = []
    for _ in range(n):
        point, owner = claims.claim(range(10))
        trial = study.ask()
        assert claims.bind(point, owner, _compat.trial_id(trial))
        trial.set_user_attr("unit", point)
        study.tell(trial, 0.5)
        ids.append((point, _compat.trial_id(trial)))
    return ids


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_claims_of_a_deleted_study_are_stale(backend, tmp_path, request):
    url = (f"sqlite:///{tmp_path}/c.db" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    storage = open_storage(url, heartbeat=False)
    optuna.create_study(study_name="s", storage=storage)
    old = _train(storage, Claims(storage, "s"), 3)
    assert sorted(Claims(storage, "s").taken()) == [0, 1, 2]
    optuna.delete_study(study_name="s", storage=storage)
    claims = Claims(storage, "s")
    assert claims.taken() == {} and claims.pending() == 0  # the study is gone: nothing claimed

    optuna.create_study(study_name="s", storage=storage)
    claims = Claims(storage, "s")
    assert claims.taken() == {} and claims.pending() == 0  # was KeyError: 'Record does not exist.'
    # Ids are reused (SQLite hands out max(id) + 1 again): the new trial of point 0 may carry the
    # id an old claim of point 1 or 2 still names; those claims must stay stale.
    new = _train(storage, claims, 3)
    assert [p for p, _ in new] == [0, 1, 2]
    assert {u: c.trial_id for u, c in claims.taken().items()} == dict(new)
    if backend == "sqlite":
        assert {t for _, t in new} & {t for _, t in old}  # the case the check is for happened
    assert claims.claim(range(3)) is None


@pytest.mark.slow
def test_optuna_delete_study_then_run_trains_every_point_once(tiny_config, tmp_path, capsys):
    path = own_training(tiny_config(name="del"))
    url = f"sqlite:///{tmp_path}/del.db"
    assert main(["run", str(path), "--no-progress"]) == 0  # in-process: no second torch import
    n = len(config.load(path).points())
    r = subprocess.run([OPTUNA, "delete-study", "--storage", url, "--study-name", "del"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert main(["run", str(path), "--no-progress"]) == 0  # was: KeyError 'Record does not exist.'
    study = Search(config.load(path)).study(create=False)
    trials = study.get_trials(deepcopy=False)
    points = sorted(t.user_attrs["point_index"] for t in trials)
    assert points == list(range(n)), points  # each point exactly once, in the new study
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert main(["status", str(path)]) == 0
    assert f"{n} trials" in capsys.readouterr().out


def test_claim_bind_release_taken_pending(tmp_path):
    """The claims table alone: claims go to the lowest free unit, a bound claim is taken, a
    released one is free again, a RUNNING trial's claim is pending."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    storage = open_storage(url, heartbeat=False)
    study = optuna.create_study(study_name="c", storage=storage)
    claims = Claims(storage, "c")
    a, owner_a = claims.claim(range(3))
    b, owner_b = claims.claim(range(3))
    assert (a, b) == (0, 1) and owner_a != owner_b
    trial = study.ask()
    assert claims.bind(a, owner_a, _compat.trial_id(trial))
    assert not claims.bind(a, owner_b, _compat.trial_id(trial))   # not the owner: refused
    assert claims.taken()[a].trial_id == _compat.trial_id(trial)
    assert claims.pending() >= 1                                   # its trial is RUNNING
    claims.release(b, owner_b)
    assert claims.claim(range(3))[0] == 1                                 # released: free again
    assert claims.claim(range(3))[0] == 2 and claims.claim(range(3)) is None     # then nothing is left
