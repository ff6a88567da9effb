"""Running one study on many processes and machines: worker processes on one host (the pool, where
each runs and what it is told) and the line that submits workers to Slurm.  The study itself
(store, plans, the loop) is in :mod:`gridsearch.study`; a worker is a ``gridsearch worker`` process
that shares it through the store."""

from typing import TYPE_CHECKING

from gridsearch._lazy import attach

if TYPE_CHECKING:  # the names as an editor and a type checker see them; loaded lazily below
    from gridsearch.workers._pool import (
        POOL_ENV as POOL_ENV,
        Pool as Pool,
        Slot as Slot,
        exit_code as exit_code,
        parse_gpus as parse_gpus,
        placement as placement,
        shared_timing_note as shared_timing_note,
        worker_command as worker_command,
    )
    from gridsearch.workers._slurm import (
        StorageVariable as StorageVariable,
        sbatch_line as sbatch_line,
        script_path as script_path,
        storage_variable as storage_variable,
        study_sbatch_line as study_sbatch_line,
    )

__getattr__, __dir__, __all__ = attach(__name__, {
    "_pool": ["Pool", "POOL_ENV", "Slot", "parse_gpus", "placement", "worker_command", "exit_code",
              "shared_timing_note"],
    "_slurm": ["StorageVariable", "sbatch_line", "script_path", "storage_variable",
               "study_sbatch_line"],
})
