"""Lazy public names for a package (PEP 562): ``from gridsearch.study import Search`` imports the
private module that defines ``Search`` on first use, so importing a package stays cheap and torch,
matplotlib and optuna-dashboard load only when a command needs them."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], Any],
                                                                  Callable[[], list[str]],
                                                                  list[str]]:
    """``exports`` maps a private module (relative, e.g. ``"_search"``) to the names it provides.

    Returns ``(__getattr__, __dir__, __all__)`` for the package's ``__init__``.
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
