"""Proxy training: data on disk (layouts, pixels, the shared cache, the manifest of what was
loaded), the trainer, the naive loop it is measured against, and what a failed run means for the
loop."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_data": ["Subsets", "load_data", "for_config", "check_classes", "resolution_warning",
              "stratified_indices"],
    "_manifest": ["Manifest"],
    "_trainer": ["Recipe", "TrainResult", "train", "evaluate", "resolve_device", "resize",
                 "precise_bn", "cosine", "optimizer", "inputs"],
    "_reference": ["naive_train"],
    "_augment": ["Augmenter"],
    "_faults": ["DeviceLost", "fault_kind"],
    "_threads": ["prepare_env", "apply_threads", "choose_threads", "usable_cores",
                 "threads_from_env"],
})
