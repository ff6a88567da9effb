"""Counting a realised network: fvcore FLOPs, params and activations, candidates checked against
the budget, strategy members, and latency on a device."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_complexity": ["Complexity", "ComplexityCounter", "measure_modules"],
    "_candidate": ["Candidate", "Realiser", "Reference"],
    "_members": ["Member", "Scaler"],
    "_latency": ["Latency"],
})
