"""The search as an Optuna study: proposing points, running a trial, reading trials back, objectives
and Pareto fronts, and worker processes."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_search": ["Search", "TrialOutcome", "PointSampler"],
    "_trials": ["trials_table", "state_of", "accuracy_of", "feasible_complete", "best_trial",
                "objective_names", "pareto_trials", "trial_summary", "store_front",
                "front_export"],
    "_objectives": ["Limit"],
    "_pareto": ["dominates", "front"],
    "_workers": ["Pool", "Slot", "parse_gpus", "placement", "usable_cores", "worker_command"],
})
