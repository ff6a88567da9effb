"""Studies: the store (Optuna's study), plans of units, the one loop that runs them, the one trial
record, the runner of one trial, samplers, confirmation, the fidelity ladder's rungs, Pareto fronts, worker processes, and
the line that submits workers to Slurm."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_search": ["Search", "plan_of", "points_of", "decision_of", "finished_of", "ranking",
                "quantum_of", "check_data", "RACE_ATTR",
                "DATA_ATTR"],
    "_store": ["Store", "CONFIRM_SUFFIX", "COMPARE_SUFFIX", "confirmation_name", "compare_name",
               "rung_name", "verify_name",
               "stored_config"],
    "_plan": ["Plan", "FixedPlan", "SampledPlan", "Item", "Param", "Unit", "Opening"],
    "_race": ["RacePlan", "RaceOutcome"],
    "_loop": ["run"],
    "_runner": ["Runner", "Outcome", "Prepared", "prepare"],
    "_record": ["TrialRecord", "Recorder", "COLUMNS", "STATES", "read", "from_trial",
                "trial_ref", "compare_plan_key"],
    "_sampling": ["SAMPLERS", "PRUNERS", "Infeasible"],
    "_confirm": ["Fidelity", "ConfirmOutcome", "confirm_config", "confirm_plan",
                 "confirm_outcome", "SEED_OFFSET"],
    "_objectives": ["Limit"],
    "_climb": ["Climb", "Rung", "rung_config", "climbed", "ladder_of", "ladder_text", "check_text",
               "stored_rung", "rung_label", "point_name", "CHECK_ATTR"],
    "_front": ["objective_names", "pareto", "store_front", "front_export", "summary"],
    "_workers": ["Pool", "POOL_ENV", "Slot", "parse_gpus", "placement", "worker_command", "exit_code",
                 "shared_timing_note"],
    "_slurm": ["StorageVariable", "sbatch_line", "script_path", "storage_variable",
               "study_sbatch_line"],
})
