"""Pure math of compound scaling, no torch: the constrained (α, β, γ) grid, the rounding rules that
realise a network, scaling strategies as exponent triples, and :class:`Spec`, the one
representation of a scaled network (multipliers and origin)."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_space": ["Point", "Range", "grid", "nominal_multiplier", "within", "solve_gamma",
               "beta_bounds", "width_share_point"],
    "_rounding": ["make_divisible", "round_repeats", "round_resolution"],
    "_spec": ["Spec", "COMPOUND"],
    "_strategies": ["Strategy", "StrategyError", "Solution", "REGISTRY", "NAMES", "STANDARD",
                    "SINGLE", "ALIASES", "DEFAULT_WIDTH_SHARE", "UNIFORM_WIDTH_SHARE",
                    "canonical", "named", "from_share", "from_coefficients", "solve"],
})
