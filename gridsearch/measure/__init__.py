"""Measuring realised networks: fvcore FLOPs, params and activations, the FLOPs budget check (with
resolution repair), the one realiser of a :class:`~gridsearch.scaling.Spec`, and latency on a
device."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.measure._budget import MODES as MODES, Verdict as Verdict, check as check
    from gridsearch.measure._complexity import (
        Complexity as Complexity,
        ComplexityCounter as ComplexityCounter,
        measure_modules as measure_modules,
    )
    from gridsearch.measure._latency import Latency as Latency, measure_latency as measure_latency
    from gridsearch.measure._realise import Measured as Measured, Realiser as Realiser

__getattr__, __dir__, __all__ = attach(__name__, {
    "_complexity": ["Complexity", "ComplexityCounter", "measure_modules"],
    "_budget": ["Verdict", "check", "MODES"],
    "_realise": ["Measured", "Realiser"],
    "_latency": ["Latency", "measure_latency"],
})
