"""Pure math of compound scaling, no torch: the constrained (α, β, γ) grid, the rounding rules that
realise a member, scaling strategies as exponent triples, and the FLOPs budget check."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_space": ["Point", "Range", "grid", "nominal_multiplier", "within", "solve_gamma",
               "beta_bounds", "width_share_point"],
    "_rounding": ["make_divisible", "round_repeats", "round_resolution", "Scaled", "at_phi",
                  "effective_gamma"],
    "_strategies": ["Strategy", "StrategyError", "Multipliers", "Setting", "Solution", "REGISTRY",
                    "NAMES", "STANDARD", "SINGLE", "ALIASES", "DEFAULT_WIDTH_SHARE",
                    "UNIFORM_WIDTH_SHARE", "canonical", "named", "from_share",
                    "from_coefficients", "fast", "compound", "multipliers", "exponents",
                    "resolution_for", "get", "solve"],
    "_budget": ["Verdict", "check", "MODES"],
})
