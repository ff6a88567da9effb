"""Seeing a study: the report (CSV, PNG plots, summary), the plots, and optuna-dashboard."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_report": ["Report", "build", "facts", "summary_text", "pearson", "confirmation_rows",
                "trials_table", "family_text", "pearson_p", "predictor_text", "fidelity"],
    "_plots": ["accuracy_vs_flops", "alpha_beta_plane", "learning_curves", "family_plot", "race_plot",
               "compare_plot", "confirmation_plot", "pareto_front", "axis_label", "label_points",
               "RESOLUTION"],
    "_dashboard": ["Server", "annotate", "bind", "serve", "study_note", "trial_note"],
})
