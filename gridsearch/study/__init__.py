"""Studies: the store (Optuna's study), plans of units, the one loop that runs them, the one trial
record, the runner of one trial, samplers, confirmation, the fidelity ladder's rungs and Pareto
fronts.  Running one study on many processes and machines is :mod:`gridsearch.workers`."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.study._climb import (
        CHECK_ATTR as CHECK_ATTR,
        SEED_OFFSET as SEED_OFFSET,
        Climb as Climb,
        Fidelity as Fidelity,
        Rung as Rung,
        check_text as check_text,
        climbed as climbed,
        ladder_of as ladder_of,
        ladder_text as ladder_text,
        point_name as point_name,
        rung_config as rung_config,
        rung_label as rung_label,
        stored_confirmation as stored_confirmation,
        stored_rung as stored_rung,
    )
    from gridsearch.study._confirm import (
        ConfirmOutcome as ConfirmOutcome,
        confirm_config as confirm_config,
        confirm_outcome as confirm_outcome,
        confirm_plan as confirm_plan,
    )
    from gridsearch.study._front import (
        front_export as front_export,
        objective_names as objective_names,
        pareto as pareto,
        selected_export as selected_export,
        store_front as store_front,
        summary as summary,
    )
    from gridsearch.study._loop import run as run
    from gridsearch.study._objectives import Limit as Limit
    from gridsearch.study._plan import (
        FixedPlan as FixedPlan,
        Item as Item,
        Opening as Opening,
        Param as Param,
        Plan as Plan,
        SampledPlan as SampledPlan,
        Unit as Unit,
    )
    from gridsearch.study._race import RaceOutcome as RaceOutcome, RacePlan as RacePlan
    from gridsearch.study._record import (
        COLUMNS as COLUMNS,
        STATES as STATES,
        Recorder as Recorder,
        TrialRecord as TrialRecord,
        compare_plan_key as compare_plan_key,
        from_trial as from_trial,
        read as read,
        trial_ref as trial_ref,
    )
    from gridsearch.study._runner import Outcome as Outcome, Prepared as Prepared, Runner as Runner, prepare as prepare
    from gridsearch.study._sampling import PRUNERS as PRUNERS, SAMPLERS as SAMPLERS, Infeasible as Infeasible
    from gridsearch.study._search import (
        DATA_ATTR as DATA_ATTR,
        RACE_ATTR as RACE_ATTR,
        Search as Search,
        check_data as check_data,
        decision_of as decision_of,
        finished_of as finished_of,
        plan_of as plan_of,
        points_of as points_of,
        quantum_of as quantum_of,
        ranking as ranking,
    )
    from gridsearch.study._store import (
        COMPARE_SUFFIX as COMPARE_SUFFIX,
        CONFIRM_SUFFIX as CONFIRM_SUFFIX,
        Store as Store,
        compare_name as compare_name,
        confirmation_name as confirmation_name,
        rung_name as rung_name,
        stored_config as stored_config,
        verify_name as verify_name,
    )

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
    "_confirm": ["ConfirmOutcome", "confirm_config", "confirm_plan", "confirm_outcome"],
    "_objectives": ["Limit"],
    "_climb": ["Climb", "Rung", "rung_config", "climbed", "ladder_of", "ladder_text", "check_text",
               "stored_rung", "stored_confirmation", "rung_label", "point_name", "CHECK_ATTR",
               "Fidelity", "SEED_OFFSET"],
    "_front": ["objective_names", "pareto", "store_front", "front_export", "selected_export",
               "summary"],
})
