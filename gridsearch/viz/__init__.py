"""Seeing a study: the report (CSV, PNG plots, summary), the plots, and optuna-dashboard."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.viz._dashboard import (
        Server as Server,
        annotate as annotate,
        bind as bind,
        serve as serve,
        study_note as study_note,
        trial_note as trial_note,
    )
    from gridsearch.viz._plots import (
        RESOLUTION as RESOLUTION,
        accuracy_vs_flops as accuracy_vs_flops,
        alpha_beta_plane as alpha_beta_plane,
        axis_label as axis_label,
        compare_plot as compare_plot,
        confirmation_plot as confirmation_plot,
        family_plot as family_plot,
        label_points as label_points,
        ladder_plot as ladder_plot,
        learning_curves as learning_curves,
        pareto_front as pareto_front,
        race_plot as race_plot,
    )
    from gridsearch.viz._report import (
        Report as Report,
        build as build,
        confirmation_rows as confirmation_rows,
        facts as facts,
        family_text as family_text,
        fidelity as fidelity,
        pearson as pearson,
        pearson_p as pearson_p,
        predictor_text as predictor_text,
        summary_text as summary_text,
        trials_table as trials_table,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "_report": ["Report", "build", "facts", "summary_text", "pearson", "confirmation_rows",
                "trials_table", "family_text", "pearson_p", "predictor_text", "fidelity"],
    "_plots": ["accuracy_vs_flops", "alpha_beta_plane", "learning_curves", "family_plot", "race_plot",
               "compare_plot", "confirmation_plot", "pareto_front", "axis_label", "label_points",
               "ladder_plot",
               "RESOLUTION"],
    "_dashboard": ["Server", "annotate", "bind", "serve", "study_note", "trial_note"],
})
