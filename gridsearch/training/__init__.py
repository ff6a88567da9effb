"""Proxy training: offline data subsets, the trainer, and the naive loop it is measured against;
how a failed run is classified (out of memory, a lost device, one failed trial) and its peak memory."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_data": ["Subsets", "load", "stratified_indices"],
    "_trainer": ["Recipe", "TrainResult", "train", "evaluate", "resolve_device", "resize",
                 "precise_bn", "cosine", "optimizer"],
    "_reference": ["naive_train"],
    "_augment": ["Augmenter"],
    "_faults": ["DeviceLost", "classify"],
    "_memory": ["PeakMemory"],
})
