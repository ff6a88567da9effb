"""Every private attribute of Optuna and optuna-dashboard that gridsearch touches, in one place.

Supported: Optuna 5.x (``>=5.0,<6``) and optuna-dashboard 0.21.x; tests/test_compat.py pins what is
relied on here, so an upgrade that moves one of these fails there first.

* ``trial._trial_id`` / ``study._study_id`` / ``study._storage``: the storage keys of a live trial
  and study (the claims table and heartbeats address trials by id; Optuna has no public accessor).
* optuna-dashboard keeps notes in study system attributes; reading one trial's note needs its
  private ``_note.get_note_from_system_attrs``, and ``save_note`` wants a live ``Trial``: for a
  finished one it only reads ``.storage``, ``.study`` and ``._trial_id``, so a stand-in does.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

OPTUNA = (5,)
OPTUNA_DASHBOARD = (0, 21)


def trial_id(trial: Any) -> int:
    """The storage id of a Trial or FrozenTrial."""
    return trial._trial_id


def study_id(study: Any) -> int:
    return study._study_id


def study_storage(study: Any) -> Any:
    return study._storage


def trial_note(study: Any, trial: Any) -> str:
    """The optuna-dashboard note of a (finished) trial, "" when it has none."""
    from optuna_dashboard._note import get_note_from_system_attrs

    attrs = study_storage(study).get_study_system_attrs(study_id(study))
    return get_note_from_system_attrs(attrs, trial_id(trial))["body"]


def save_trial_note(study: Any, trial: Any, body: str) -> None:
    """Write the optuna-dashboard note of a trial, finished or not."""
    from optuna_dashboard import save_note

    save_note(SimpleNamespace(storage=study_storage(study), study=study,
                              _trial_id=trial_id(trial)), body)
