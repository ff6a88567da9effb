"""A user's ``module:function`` reference, imported from the config's folder or ``sys.path``.

Users keep their model and their training function in a module beside the study config, and run
gridsearch from anywhere: the config's folder is searched first (without installing anything or
setting PYTHONPATH), then ``sys.path``.  One function for every such reference (models, training
functions), so the rule and its error message are the same everywhere.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


class RefError(Exception):
    """A reference that cannot be imported; the message names what was tried (one line)."""


def split_ref(ref: str) -> tuple[str, str]:
    module, _, name = ref.partition(":")
    if not module or not name:
        raise RefError(f"expected 'module:function', got {ref!r}")
    return module, name


def import_ref(ref: str, folders: tuple[Path | None, ...] = ()) -> Callable[..., Any]:
    """The callable ``ref`` names, ``module:function``; ``folders`` (e.g. the config's) are
    searched before ``sys.path``.  :class:`RefError` with what was tried when it cannot be had."""
    module_name, name = split_ref(ref)
    where = [str(Path(f).resolve()) for f in folders if f is not None]
    added = [w for w in where if w not in sys.path]
    sys.path[:0] = added          # searched first; kept, so the module's own imports work
    try:
        module = _beside(module_name, where) or importlib.import_module(module_name)
    except ImportError as e:
        looked = f"looked in {', '.join(where)} and sys.path" if where else "looked in sys.path"
        raise RefError(f"cannot import {module_name!r} ({looked}): {e}") from None
    except Exception as e:  # noqa: BLE001 - the user's module failed while importing
        raise RefError(f"importing {module_name!r} failed: {type(e).__name__}: {e}") from None
    func: object = getattr(module, name, None)
    if func is None:
        raise RefError(f"{module_name!r} ({getattr(module, '__file__', '?')}) has no function {name!r}")
    if not callable(func):
        raise RefError(f"{module_name}.{name} is a {type(func).__name__}, not a function")
    return func


def _beside(module_name: str, folders: list[str]) -> Any:
    """The module ``module_name`` from the first of ``folders`` holding ``module_name.py``, loaded
    from that file even when a module of that name from another folder was imported before (two
    studies in one process, each with its own ``train.py``); None when no folder holds it."""
    import importlib.util

    for folder in folders:
        path = Path(folder, *module_name.split(".")).with_suffix(".py")
        if not path.is_file():
            continue
        loaded = sys.modules.get(module_name)
        file = getattr(loaded, "__file__", None)
        if loaded is not None and file and Path(file).resolve() == path.resolve():
            return loaded
        if "." in module_name:          # a package's module: the import system knows packages
            sys.modules.pop(module_name, None)
            return importlib.import_module(module_name)
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:      # not for a .py file: no loader knows it
            raise ImportError(f"no loader for {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module
    return None
