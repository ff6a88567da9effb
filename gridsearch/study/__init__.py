"""Studies: the store (Optuna's study), plans of units, the one loop that runs them, the one trial
record, the runner of one trial, samplers, confirmation, Pareto fronts and worker processes."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_search": ["Search", "plan_of", "points_of"],
    "_store": ["Store", "CONFIRM_SUFFIX", "COMPARE_SUFFIX", "confirmation_name", "compare_name"],
    "_plan": ["Plan", "FixedPlan", "SampledPlan", "Item", "Param", "Unit", "Opening"],
    "_race": ["RacePlan", "decision_of"],
    "_loop": ["run"],
    "_runner": ["Runner", "Outcome", "Prepared", "prepare"],
    "_record": ["TrialRecord", "Recorder", "COLUMNS", "STATES", "read", "from_trial",
                "trial_ref", "compare_plan_key"],
    "_sampling": ["SAMPLERS", "PRUNERS", "Infeasible"],
    "_confirm": ["Fidelity", "ConfirmOutcome", "confirm_config", "confirm_plan",
                 "confirm_outcome", "SEED_OFFSET"],
    "_objectives": ["Limit"],
    "_front": ["objective_names", "pareto", "store_front", "front_export", "summary"],
    "_workers": ["Pool", "Slot", "parse_gpus", "placement", "worker_command", "exit_code",
                 "LOAD_ENV"],
})
