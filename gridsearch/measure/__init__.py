"""Measuring realised networks: fvcore FLOPs, params and activations, the FLOPs budget check (with
resolution repair), the one realiser of a :class:`~gridsearch.scaling.Spec`, and latency on a
device."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_complexity": ["Complexity", "ComplexityCounter", "measure_modules"],
    "_budget": ["Verdict", "check", "MODES"],
    "_realise": ["Measured", "Realiser"],
    "_latency": ["Latency", "measure_latency"],
})
