"""The sampler of planned studies: it hands a trial the parameters its plan assigned (a grid point's
(α, β, γ), a width share, a strategy) and samples nothing itself."""

from __future__ import annotations

from typing import Any

import optuna


class AssignedSampler(optuna.samplers.BaseSampler):
    def __init__(self) -> None:
        self._assigned: dict[int, dict[str, Any]] = {}

    def assign(self, number: int, params: dict[str, Any]) -> None:
        self._assigned[number] = params

    def infer_relative_search_space(self, study, trial):
        return {}

    def sample_relative(self, study, trial, search_space):
        return {}

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._assigned[trial.number][param_name]
