"""Proxy training: offline data subsets, the trainer, and the naive loop it is measured against."""

from gridsearch._lazy import attach

__getattr__, __dir__, __all__ = attach(__name__, {
    "_data": ["Subsets", "load", "for_config", "check_classes", "stratified_indices"],
    "_manifest": ["Manifest"],
    "_trainer": ["Recipe", "TrainResult", "train", "evaluate", "resolve_device", "resize",
                 "precise_bn", "cosine", "optimizer", "inputs"],
    "_reference": ["naive_train"],
    "_augment": ["Augmenter"],
})
