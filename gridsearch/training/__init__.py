"""Proxy training: data on disk (layouts, pixels, the shared cache, the manifest of what was
loaded), the trainer, the naive loop it is measured against, what a failed run means for the loop
(out of memory, a lost device, one failed trial), and the device check, precision, peak memory and
determinism of a run."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_data": ["Subsets", "load_data", "for_config", "check_classes", "resolution_warning",
              "stratified_indices"],
    "_manifest": ["Manifest"],
    "_context": ["TrainContext", "Trained", "Fit", "FunctionError", "builtin_fit", "load_fit", "call_fit",
                 "result_of"],
    "_trainer": ["Recipe", "TrainResult", "train", "evaluate", "resize", "precise_bn", "cosine",
                 "optimizer", "inputs", "retry_micro_batch"],
    "_device": ["parse_device", "check_device", "resolve_device", "prepare_device", "device_load",
                "describe_device", "cuda_count", "DEVICE_LOAD_ENV", "VISIBLE_ENV"],
    "_precision": ["PRECISIONS", "choose_precision", "precision_for", "precision_autocast",
                   "grad_scaler"],
    "_determinism": ["deterministic"],
    "_reference": ["naive_train"],
    "_augment": ["Augmenter"],
    "_faults": ["DeviceLost", "fault_kind", "classify", "probe_device", "reason"],
    "_memory": ["PeakMemory", "release"],
    "_threads": ["prepare_env", "apply_threads", "choose_threads", "usable_cores",
                 "threads_from_env"],
})
