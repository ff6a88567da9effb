"""Pure math of compound scaling, no torch: the constrained (α, β, γ) grid, the rounding rules that
realise a network, scaling strategies as exponent triples, and :class:`Spec`, the one
representation of a scaled network (multipliers and origin)."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.scaling._rounding import (
        make_divisible as make_divisible,
        round_repeats as round_repeats,
        round_resolution as round_resolution,
    )
    from gridsearch.scaling._space import (
        Point as Point,
        Range as Range,
        beta_bounds as beta_bounds,
        grid as grid,
        nominal_multiplier as nominal_multiplier,
        solve_gamma as solve_gamma,
        within as within,
    )
    from gridsearch.scaling._spec import COMPOUND as COMPOUND, Spec as Spec
    from gridsearch.scaling._strategies import (
        ALIASES as ALIASES,
        DEFAULT_WIDTH_SHARE as DEFAULT_WIDTH_SHARE,
        NAMES as NAMES,
        REGISTRY as REGISTRY,
        SINGLE as SINGLE,
        STANDARD as STANDARD,
        UNIFORM_WIDTH_SHARE as UNIFORM_WIDTH_SHARE,
        Solution as Solution,
        Strategy as Strategy,
        StrategyError as StrategyError,
        canonical as canonical,
        from_coefficients as from_coefficients,
        from_share as from_share,
        named as named,
        solve as solve,
        width_share_point as width_share_point,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "_space": ["Point", "Range", "grid", "nominal_multiplier", "within", "solve_gamma",
               "beta_bounds"],
    "_rounding": ["make_divisible", "round_repeats", "round_resolution"],
    "_spec": ["Spec", "COMPOUND"],
    "_strategies": ["Strategy", "StrategyError", "Solution", "REGISTRY", "NAMES", "STANDARD",
                    "SINGLE", "ALIASES", "DEFAULT_WIDTH_SHARE", "UNIFORM_WIDTH_SHARE",
                    "canonical", "named", "from_share", "from_coefficients", "solve",
                    "width_share_point"],
})
