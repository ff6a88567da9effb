"""Proxy training: data on disk (layouts, pixels, the shared cache, the manifest of what was
loaded), the trainer, the naive loop it is measured against, what a failed run means for the loop
(out of memory, a lost device, one failed trial), and the device check, precision, peak memory and
determinism of a run."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.config import PRECISIONS as PRECISIONS  # _precision's, from the config
    from gridsearch.training._augment import Augmenter as Augmenter
    from gridsearch.training._context import (
        Fit as Fit,
        FunctionError as FunctionError,
        TrainContext as TrainContext,
        Trained as Trained,
        builtin_fit as builtin_fit,
        call_fit as call_fit,
        load_fit as load_fit,
        result_of as result_of,
    )
    from gridsearch.training._data import (
        Subsets as Subsets,
        check_classes as check_classes,
        for_config as for_config,
        load_data as load_data,
        resolution_warning as resolution_warning,
        stratified_indices as stratified_indices,
    )
    from gridsearch.training._determinism import deterministic as deterministic
    from gridsearch.training._device import (
        DEVICE_LOAD_ENV as DEVICE_LOAD_ENV,
        VISIBLE_ENV as VISIBLE_ENV,
        check_device as check_device,
        cuda_count as cuda_count,
        describe_device as describe_device,
        device_load as device_load,
        parse_device as parse_device,
        prepare_device as prepare_device,
        resolve_device as resolve_device,
    )
    from gridsearch.training._faults import (
        DeviceLost as DeviceLost,
        classify as classify,
        fault_kind as fault_kind,
        probe_device as probe_device,
        reason as reason,
    )
    from gridsearch.training._manifest import Manifest as Manifest
    from gridsearch.training._memory import PeakMemory as PeakMemory, release as release
    from gridsearch.training._precision import (
        choose_precision as choose_precision,
        grad_scaler as grad_scaler,
        precision_autocast as precision_autocast,
        precision_for as precision_for,
    )
    from gridsearch.training._reference import naive_train as naive_train
    from gridsearch.training._threads import (
        apply_threads as apply_threads,
        choose_threads as choose_threads,
        prepare_env as prepare_env,
        threads_from_env as threads_from_env,
        usable_cores as usable_cores,
    )
    from gridsearch.training._trainer import (
        Recipe as Recipe,
        TrainResult as TrainResult,
        cosine as cosine,
        evaluate as evaluate,
        inputs as inputs,
        optimizer as optimizer,
        precise_bn as precise_bn,
        resize as resize,
        retry_micro_batch as retry_micro_batch,
        train as train,
    )

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
