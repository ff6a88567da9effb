"""Proxy training: offline data subsets, the trainer, the naive loop it is measured against, and
what a failed run means for the loop (out of memory, a lost device, one failed trial); the device
check, precision, peak memory and determinism of a run."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_data": ["Subsets", "load_data", "stratified_indices"],
    "_trainer": ["Recipe", "TrainResult", "train", "evaluate", "resolve_device", "resize",
                 "precise_bn", "cosine", "optimizer"],
    "_reference": ["naive_train"],
    "_augment": ["Augmenter"],
    "_faults": ["DeviceLost", "fault_kind", "classify"],
    "_memory": ["PeakMemory"],
    "_threads": ["prepare_env", "apply_threads", "choose_threads", "usable_cores",
                 "threads_from_env"],
})
