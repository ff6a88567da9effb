"""The search as an Optuna study: proposing points, running a trial, reading trials back, objectives
and Pareto fronts, worker processes, and the line that submits workers to Slurm."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_search": ["Search", "CONFIRM_SUFFIX", "confirmation_name"],
    "_runner": ["TrialOutcome", "TrialRunner"],
    "_sampling": ["PointSampler"],
    "_trials": ["Record", "Ranked", "Selection", "read", "record", "rank", "rows", "select",
                "trials_table", "state_of", "objective_names", "pareto", "summary",
                "store_front", "front_export"],
    "_confirm": ["Fidelity", "Outcome", "confirm_config", "outcome", "plan"],
    "_objectives": ["Limit"],
    "_pareto": ["dominates", "front"],
    "_slurm": ["StorageVariable", "sbatch_line", "script_path", "storage_variable",
               "study_sbatch_line"],
    "_workers": ["Pool", "Slot", "parse_gpus", "placement", "usable_cores", "worker_command"],
})
